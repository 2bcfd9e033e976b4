package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// RegistryEngine signs in to registries and pulls images with a user's credential.
type RegistryEngine interface {
	RegistryLogin(ctx context.Context, c swarm.Credential) (string, error)
	PullImage(ctx context.Context, ref string, c *swarm.Credential) error
}

// registryForm is a credential as typed.
type registryForm struct {
	views.RegistryForm
	Password string
}

// Validate normalises the URL and fills field errors.
func (f *registryForm) Validate(needURL bool) bool {
	if needURL {
		url, err := swarm.NormalizeRegistryURL(f.URL)
		if err != nil {
			f.Errors.Add("url", err.Error())
		}
		f.URL = url
	}
	switch {
	case strings.TrimSpace(f.Username) == "":
		f.Errors.Add("username", "Enter the username (for tokens, the account the token belongs to).")
	case len(f.Username) > 256:
		f.Errors.Add("username", "Use at most 256 characters.")
	}
	switch {
	case f.Password == "":
		f.Errors.Add("password", "Enter the password or access token.")
	case len(f.Password) > 4096:
		f.Errors.Add("password", "Use at most 4096 characters.")
	}
	return !f.Errors.Any()
}

func credentialRows(list []store.RegistryCredential) []views.CredentialRow {
	rows := make([]views.CredentialRow, 0, len(list))
	for _, c := range list {
		rows = append(rows, views.CredentialRow{ID: c.ID, Owner: c.Owner, URL: c.URL, Username: c.Username, Updated: views.FormatTime(c.UpdatedAt)})
	}
	return rows
}

func (h *Handlers) renderRegistries(c echo.Context, status int, edit func(*views.Registries)) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	mine, err := h.store.RegistryCredentials(ctx, u.ID)
	if err != nil {
		return err
	}
	r := views.Registries{Mine: credentialRows(mine), CanEdit: canOperate(c), Notice: h.popNotice(c)}
	if u.Role == store.RoleAdmin {
		all, err := h.store.RegistryCredentials(ctx, 0)
		if err != nil {
			return err
		}
		r.Everyone = credentialRows(all)
	}
	if edit != nil {
		edit(&r)
	}
	p := h.page(c, "Registries", "registries")
	return h.render(c, status, p, views.RegistriesPage(p, r))
}

// RegistriesPage lists the user's credentials (and, for admins, who holds which).
func (h *Handlers) RegistriesPage(c echo.Context) error {
	return h.renderRegistries(c, http.StatusOK, nil)
}

// AddRegistry stores a new credential for the user.
func (h *Handlers) AddRegistry(c echo.Context) error {
	f := registryForm{RegistryForm: views.RegistryForm{URL: c.FormValue("url"), Username: strings.TrimSpace(c.FormValue("username"))}, Password: c.FormValue("password")}
	if _, err := h.addRegistry(c, &f); err != nil && !errors.Is(err, store.ErrCredentialExists) {
		return err
	}
	if f.Errors.Any() {
		return h.renderRegistries(c, http.StatusUnprocessableEntity, func(r *views.Registries) { r.Form = f.RegistryForm })
	}
	return h.redirectNotice(c, "/registries", "Added your credential for "+f.URL+".")
}

// ownCredential loads the current user's credential named by :id; anyone else's is not found.
func (h *Handlers) ownCredential(c echo.Context) (store.RegistryCredential, error) {
	notFound := echo.NewHTTPError(http.StatusNotFound, "You have no such registry credential.")
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.RegistryCredential{}, notFound
	}
	cred, err := h.store.RegistryCredential(c.Request().Context(), currentUser(c).ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return cred, notFound
	}
	return cred, err
}

// ReplaceRegistryPassword sets a new username and password on a credential.
func (h *Handlers) ReplaceRegistryPassword(c echo.Context) error {
	cred, err := h.ownCredential(c)
	if err != nil {
		return err
	}
	f := registryForm{RegistryForm: views.RegistryForm{URL: cred.URL, Username: strings.TrimSpace(c.FormValue("username"))}, Password: c.FormValue("password")}
	if _, err := h.replaceRegistry(c, cred, &f); err != nil {
		return err
	}
	if f.Errors.Any() {
		return h.renderRegistries(c, http.StatusUnprocessableEntity, func(r *views.Registries) { r.ReplaceID, r.Replace = cred.ID, f.RegistryForm })
	}
	return h.redirectNotice(c, "/registries", "Replaced the password for "+cred.URL+". Your later deploys, redeploys and webhooks use it.")
}

// DeleteRegistry removes a credential.
func (h *Handlers) DeleteRegistry(c echo.Context) error {
	cred, err := h.ownCredential(c)
	if err != nil {
		return err
	}
	if ok, err := h.askFirst(c, "Delete your credential for "+cred.URL+"? Later deploys of images from it go without a login.", "/registries"); !ok {
		return err
	}
	if err := h.deleteRegistry(c, cred); err != nil {
		return err
	}
	return h.redirectNotice(c, "/registries", "Deleted your credential for "+cred.URL+".")
}

// testCredential logs in to the credential's registry through the engine.
func (h *Handlers) testCredential(c echo.Context, cred store.RegistryCredential) (string, error) {
	password, err := h.store.RegistryPassword(c.Request().Context(), cred)
	if err != nil {
		return "", err
	}
	answer, err := h.engine.RegistryLogin(c.Request().Context(), swarm.Credential{URL: cred.URL, Username: cred.Username, Password: password})
	outcome := "ok"
	if err != nil {
		outcome = "failed: " + err.Error()
	}
	h.audit(c, "registry.test", "registry:"+cred.URL, outcome, answer)
	return answer, err
}

// TestRegistry checks a credential against the registry and shows its answer.
func (h *Handlers) TestRegistry(c echo.Context) error {
	cred, err := h.ownCredential(c)
	if err != nil {
		return err
	}
	answer, err := h.testCredential(c, cred)
	return h.renderRegistries(c, http.StatusOK, func(r *views.Registries) {
		if err != nil {
			r.TestResult, r.TestFailed = err.Error(), true
		} else {
			r.TestResult = answer
		}
	})
}

// credentialFor picks the user's credential for an image by longest prefix (nil: pull anonymously).
func (h *Handlers) credentialFor(c echo.Context, userID int64, image string) (*swarm.Credential, error) {
	return userCredential(c.Request().Context(), h.store, userID, image)
}

// userCredential is the user's credential whose URL is the longest prefix of the image (nil: none).
func userCredential(ctx context.Context, st *store.Store, userID int64, image string) (*swarm.Credential, error) {
	c, password, ok, err := st.MatchingCredential(ctx, userID, func(urls []string) int { return swarm.MatchCredential(image, urls) })
	if !ok {
		return nil, err
	}
	return &swarm.Credential{URL: c.URL, Username: c.Username, Password: password}, nil
}

// PullImage pulls an image onto the manager with the user's matching credential.
func (h *Handlers) PullImage(c echo.Context) error {
	f := views.PullForm{Image: strings.TrimSpace(c.FormValue("image"))}
	if _, err := swarm.ImageRepository(f.Image); err != nil || f.Image == "" {
		f.Errors.Add("image", "Enter an image reference such as registry.example.com/team/app:1.2.")
		return h.renderRegistries(c, http.StatusUnprocessableEntity, func(r *views.Registries) { r.Pull = f })
	}
	if err := h.denied(c, "image.pull", "image:"+f.Image, h.engine.CheckImage(c.Request().Context(), f.Image)); err != nil {
		f.Errors.Add("image", err.Error())
		return h.renderRegistries(c, http.StatusForbidden, func(r *views.Registries) { r.Pull = f })
	}
	cred, err := h.credentialFor(c, currentUser(c).ID, f.Image)
	if err != nil {
		return err
	}
	using := "anonymously"
	if cred != nil {
		using = "with your credential for " + cred.URL
	}
	if err := h.engine.PullImage(c.Request().Context(), f.Image, cred); err != nil {
		h.audit(c, "image.pull", "image:"+f.Image, "failed: "+err.Error(), using)
		f.Errors.Add("image", "Pulling "+using+" failed: "+err.Error())
		return h.renderRegistries(c, http.StatusUnprocessableEntity, func(r *views.Registries) { r.Pull = f })
	}
	h.audit(c, "image.pull", "image:"+f.Image, "ok", using)
	return h.redirectNotice(c, "/registries", "Pulled "+f.Image+" "+using+".")
}
