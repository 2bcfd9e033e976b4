package handlers

import (
	"errors"

	"github.com/berthhq/berth/store"
	"github.com/labstack/echo/v4"
)

// The registry credential actions, one function each, called by the page and the API alike:
// they validate, change the store and write the audit record; the channels bind and answer.

// addRegistry validates the form and adds the user's credential; a credential for the URL
// already there is a field message and store.ErrCredentialExists (the API answers 409).
func (h *Handlers) addRegistry(c echo.Context, f *registryForm) (store.RegistryCredential, error) {
	if !f.Validate(true) {
		return store.RegistryCredential{}, nil
	}
	cred, err := h.store.CreateRegistryCredential(c.Request().Context(), currentUser(c).ID, f.URL, f.Username, f.Password)
	if errors.Is(err, store.ErrCredentialExists) {
		f.Errors.Add("url", err.Error())
		return cred, err
	}
	if err != nil {
		return cred, err
	}
	h.audit(c, "registry.create", "registry:"+cred.URL, "ok", "username "+cred.Username)
	return cred, nil
}

// replaceRegistry validates the form and sets a new username and password on the credential.
func (h *Handlers) replaceRegistry(c echo.Context, cred store.RegistryCredential, f *registryForm) (store.RegistryCredential, error) {
	if !f.Validate(false) {
		return cred, nil
	}
	cred, err := h.store.ReplaceRegistryPassword(c.Request().Context(), cred.UserID, cred.ID, f.Username, f.Password)
	if err != nil {
		return cred, err
	}
	h.audit(c, "registry.password_replace", "registry:"+cred.URL, "ok", "username "+cred.Username)
	return cred, nil
}

// deleteRegistry removes the credential.
func (h *Handlers) deleteRegistry(c echo.Context, cred store.RegistryCredential) error {
	if _, err := h.store.DeleteRegistryCredential(c.Request().Context(), cred.UserID, cred.ID); err != nil {
		return err
	}
	h.audit(c, "registry.delete", "registry:"+cred.URL, "ok", "")
	return nil
}
