package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// accountModel gathers the Account page for the signed-in user.
func (h *Handlers) accountModel(c echo.Context) (views.Account, error) {
	ctx := c.Request().Context()
	u := currentUser(c)
	a := views.Account{Username: u.Username, Role: string(u.Role), TOTPEnabled: u.TOTPEnabled, Notice: h.popNotice(c)}
	var err error
	if a.Require2FA, err = h.store.Require2FA(ctx); err != nil {
		return a, err
	}
	if u.TOTPEnabled {
		if a.RecoveryLeft, err = h.store.RecoveryCodesLeft(ctx, u.ID); err != nil {
			return a, err
		}
	}
	tokens, err := h.store.APITokens(ctx, u.ID)
	if err != nil {
		return a, err
	}
	for _, t := range tokens {
		row := views.TokenRow{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Created: views.FormatTime(t.CreatedAt), LastUsed: views.FormatTime(t.LastUsedAt)}
		if !t.RevokedAt.IsZero() {
			row.Revoked = views.FormatTime(t.RevokedAt)
		}
		a.Tokens = append(a.Tokens, row)
	}
	return a, nil
}

func (h *Handlers) renderAccount(c echo.Context, status int, edit func(*views.Account)) error {
	a, err := h.accountModel(c)
	if err != nil {
		return err
	}
	if edit != nil {
		edit(&a)
	}
	p := h.page(c, "Account", "account")
	return h.render(c, status, p, views.AccountPage(p, a))
}

// AccountPage shows the user's own settings.
func (h *Handlers) AccountPage(c echo.Context) error { return h.renderAccount(c, http.StatusOK, nil) }

// passwordForm changes the user's own password.
type passwordForm struct {
	views.PasswordForm
	Current, New, Confirm string
}

// Validate fills field errors for the new password.
func (f *passwordForm) Validate(username string) bool {
	if f.Current == "" {
		f.Errors.Add("current_password", "Enter your current password.")
	}
	f.Errors.Add("new_password", store.ValidatePassword(username, f.New))
	if f.New != f.Confirm {
		f.Errors.Add("new_password_confirm", "The two new passwords differ.")
	}
	return !f.Errors.Any()
}

// ChangePassword sets the user's own password after checking the current one; other sessions end.
func (h *Handlers) ChangePassword(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	f := passwordForm{Current: c.FormValue("current_password"), New: c.FormValue("new_password"), Confirm: c.FormValue("new_password_confirm")}
	if f.Validate(u.Username) {
		if _, err := h.store.CheckPassword(ctx, u.Username, f.Current); errors.Is(err, store.ErrBadCredentials) {
			f.Errors.Add("current_password", "That is not your current password.")
		} else if err != nil {
			return err
		}
	}
	if f.Errors.Any() {
		return h.renderAccount(c, http.StatusUnprocessableEntity, func(a *views.Account) { a.Password = f.PasswordForm })
	}
	if err := h.store.SetPassword(ctx, u.ID, f.New); err != nil {
		return err
	}
	// Stay signed in here; the epoch change ends every other session.
	fresh, err := h.store.User(ctx, u.ID)
	if err != nil {
		return err
	}
	if err := h.startSession(c, fresh); err != nil {
		return err
	}
	h.audit(c, "user.password_change", "user:"+u.Username, "ok", "other sessions ended")
	return h.redirectNotice(c, "/account", "Password changed. Your other sessions have ended.")
}

// CreateToken makes an API token and shows it once.
func (h *Handlers) CreateToken(c echo.Context) error {
	u := currentUser(c)
	f := views.TokenForm{Name: c.FormValue("name")}
	f.Errors.Add("name", store.ValidateTokenName(f.Name))
	if f.Errors.Any() {
		return h.renderAccount(c, http.StatusUnprocessableEntity, func(a *views.Account) { a.Token = f })
	}
	token, t, err := h.store.CreateAPIToken(c.Request().Context(), u.ID, f.Name)
	if err != nil {
		return err
	}
	h.audit(c, "token.create", "token:"+t.Prefix, "ok", "name "+t.Name)
	// Rendered directly (not redirected) so the token is never stored anywhere, not even in the session.
	return h.renderAccount(c, http.StatusOK, func(a *views.Account) { a.NewToken, a.NewTokenName = token, t.Name })
}

// RevokeToken revokes one of the user's own tokens; another user's token is answered as not found.
func (h *Handlers) RevokeToken(c echo.Context) error {
	u := currentUser(c)
	if ok, err := h.askFirst(c, "Revoke this API token? Scripts using it stop working.", "/account"); !ok {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "You have no such token.")
	}
	t, err := h.store.RevokeAPIToken(c.Request().Context(), u.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		h.audit(c, "token.revoke", "token:"+c.Param("id"), "denied: not one of the user's live tokens", "")
		return echo.NewHTTPError(http.StatusNotFound, "You have no such token (it may already be revoked).")
	}
	if err != nil {
		return err
	}
	h.audit(c, "token.revoke", "token:"+t.Prefix, "ok", "name "+t.Name)
	return h.redirectNotice(c, "/account", "Token "+t.Name+" revoked.")
}
