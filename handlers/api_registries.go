package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// APICredential is a registry credential in the API; the password is never returned.
type APICredential struct {
	ID        int64  `json:"id"`
	URL       string `json:"url"`
	Username  string `json:"username"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func apiCredential(c store.RegistryCredential) APICredential {
	return APICredential{ID: c.ID, URL: c.URL, Username: c.Username, CreatedAt: apiTime(c.CreatedAt), UpdatedAt: apiTime(c.UpdatedAt)}
}

// registryRequest is the body of POST and PUT /api/v1/registries.
type registryRequest struct {
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// APIRegistries lists the token owner's credentials.
func (h *Handlers) APIRegistries(c echo.Context) error {
	list, err := h.store.RegistryCredentials(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	out := make([]APICredential, 0, len(list))
	for _, cr := range list {
		out = append(out, apiCredential(cr))
	}
	return c.JSON(http.StatusOK, out)
}

// APICreateRegistry adds a credential.
func (h *Handlers) APICreateRegistry(c echo.Context) error {
	var req registryRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	f := registryForm{RegistryForm: views.RegistryForm{URL: req.URL, Username: strings.TrimSpace(req.Username)}, Password: req.Password}
	cred, err := h.addRegistry(c, &f)
	if errors.Is(err, store.ErrCredentialExists) {
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	if err != nil {
		return err
	}
	if f.Errors.Any() {
		return fieldErrors(c, f.Errors)
	}
	return c.JSON(http.StatusCreated, apiCredential(cred))
}

// APIReplaceRegistry replaces a credential's username and password.
func (h *Handlers) APIReplaceRegistry(c echo.Context) error {
	cred, err := h.ownCredential(c)
	if err != nil {
		return err
	}
	var req registryRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.URL != "" && req.URL != cred.URL {
		return fieldErrors(c, views.FieldErrors{"url": "The URL cannot change: delete this credential and add another."})
	}
	f := registryForm{RegistryForm: views.RegistryForm{URL: cred.URL, Username: strings.TrimSpace(req.Username)}, Password: req.Password}
	if cred, err = h.replaceRegistry(c, cred, &f); err != nil {
		return err
	}
	if f.Errors.Any() {
		return fieldErrors(c, f.Errors)
	}
	return c.JSON(http.StatusOK, apiCredential(cred))
}

// APIDeleteRegistry removes a credential.
func (h *Handlers) APIDeleteRegistry(c echo.Context) error {
	cred, err := h.ownCredential(c)
	if err != nil {
		return err
	}
	if err := h.deleteRegistry(c, cred); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// APITestRegistry logs in to the registry through the engine and returns its answer.
func (h *Handlers) APITestRegistry(c echo.Context) error {
	cred, err := h.ownCredential(c)
	if err != nil {
		return err
	}
	answer, err := h.testCredential(c, cred)
	if err != nil {
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"ok": false, "error": "The registry refused: " + err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "answer": answer})
}
