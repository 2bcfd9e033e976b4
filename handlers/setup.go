package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// setupForm creates the first admin.
type setupForm struct {
	views.SetupForm
	Password, Confirm string
}

// Validate fills field errors for the first admin's name and password.
func (f *setupForm) Validate() bool {
	f.Errors.Add("username", store.ValidateUsername(f.Username))
	f.Errors.Add("password", store.ValidatePassword(f.Username, f.Password))
	if f.Password != f.Confirm {
		f.Errors.Add("password_confirm", "The two passwords differ.")
	}
	return !f.Errors.Any()
}

// SetupPage shows the first-admin form when the setup link is still good.
func (h *Handlers) SetupPage(c echo.Context) error {
	token := c.QueryParam("token")
	p := h.page(c, "Set up Berth", "")
	tokenErr := h.setupTokenError(c, token)
	status := http.StatusOK
	if tokenErr != "" {
		status = http.StatusForbidden
	}
	return h.render(c, status, p, views.Setup(p, views.SetupForm{Token: token}, tokenErr))
}

func (h *Handlers) setupTokenError(c echo.Context, token string) string {
	if token == "" {
		return store.ErrSetupTokenUnknown.Error()
	}
	err := h.store.CheckSetupToken(c.Request().Context(), token)
	if err == nil {
		return ""
	}
	if isSetupError(err) {
		return err.Error()
	}
	h.log.Error("check setup token", "error", err)
	return "The setup link could not be checked; see Berth's log."
}

func isSetupError(err error) bool {
	for _, e := range []error{store.ErrSetupTokenUnknown, store.ErrSetupTokenExpired, store.ErrSetupTokenUsed, store.ErrSetupDone} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Setup creates the first admin through the one-time setup link and signs them in.
func (h *Handlers) Setup(c echo.Context) error {
	ctx := c.Request().Context()
	f := setupForm{
		SetupForm: views.SetupForm{Token: c.FormValue("token"), Username: strings.TrimSpace(c.FormValue("username"))},
		Password:  c.FormValue("password"), Confirm: c.FormValue("password_confirm"),
	}
	p := h.page(c, "Set up Berth", "")
	if msg := h.setupTokenError(c, f.Token); msg != "" {
		h.auditAs(c, "setup", "", "setup.first_admin", "user:"+f.Username, "denied: "+msg, "")
		return h.render(c, http.StatusForbidden, p, views.Setup(p, f.SetupForm, msg))
	}
	if !f.Validate() {
		return h.render(c, http.StatusUnprocessableEntity, p, views.Setup(p, f.SetupForm, ""))
	}
	u, err := h.store.CreateFirstAdmin(ctx, f.Token, f.Username, f.Password)
	if isSetupError(err) {
		return h.render(c, http.StatusForbidden, p, views.Setup(p, f.SetupForm, err.Error()))
	}
	if err != nil {
		return err
	}
	if err := h.startSession(c, u); err != nil {
		return err
	}
	h.audit(c, "setup.first_admin", "user:"+u.Username, "ok", "created through the one-time setup link")
	return c.Redirect(http.StatusSeeOther, "/")
}
