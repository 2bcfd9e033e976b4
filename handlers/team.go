package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// addUserForm adds a team member.
type addUserForm struct {
	views.AddUserForm
	Password string
}

// Validate fills field errors for a new member.
func (f *addUserForm) Validate() bool {
	f.Errors.Add("username", store.ValidateUsername(f.Username))
	if !store.Role(f.Role).Valid() {
		f.Errors.Add("role", "Choose viewer, operator or admin.")
	}
	f.Errors.Add("password", store.ValidatePassword(f.Username, f.Password))
	return !f.Errors.Any()
}

// teamModel lists the members for the Team page.
func (h *Handlers) teamModel(c echo.Context) (views.Team, error) {
	users, err := h.store.Users(c.Request().Context())
	if err != nil {
		return views.Team{}, err
	}
	me := currentUser(c)
	t := views.Team{Notice: h.popNotice(c)}
	for _, u := range users {
		t.Members = append(t.Members, views.TeamMember{
			ID: u.ID, Username: u.Username, Role: string(u.Role), Disabled: u.Disabled,
			TOTPEnabled: u.TOTPEnabled, SSO: u.SSO, CreatedAt: views.FormatTime(u.CreatedAt), IsSelf: u.ID == me.ID,
		})
	}
	return t, nil
}

func (h *Handlers) renderTeam(c echo.Context, status int, edit func(*views.Team)) error {
	t, err := h.teamModel(c)
	if err != nil {
		return err
	}
	if edit != nil {
		edit(&t)
	}
	p := h.page(c, "Team", "team")
	return h.render(c, status, p, views.TeamPage(p, t))
}

// TeamPage lists the team.
func (h *Handlers) TeamPage(c echo.Context) error { return h.renderTeam(c, http.StatusOK, nil) }

// AddUser creates a team member.
func (h *Handlers) AddUser(c echo.Context) error {
	f := addUserForm{AddUserForm: views.AddUserForm{Username: strings.TrimSpace(c.FormValue("username")), Role: c.FormValue("role")}, Password: c.FormValue("password")}
	if f.Validate() {
		_, err := h.store.CreateUser(c.Request().Context(), f.Username, f.Password, store.Role(f.Role))
		if errors.Is(err, store.ErrUsernameTaken) {
			f.Errors.Add("username", "Someone already has this username.")
		} else if err != nil {
			return err
		}
	}
	if f.Errors.Any() {
		return h.renderTeam(c, http.StatusUnprocessableEntity, func(t *views.Team) { t.Add = f.AddUserForm })
	}
	h.audit(c, "user.create", "user:"+f.Username, "ok", "role "+f.Role)
	return h.redirectNotice(c, "/team", fmt.Sprintf("Added %s as %s.", f.Username, f.Role))
}

// teamMember loads the member named by the :id path parameter; admins cannot act on themselves here.
func (h *Handlers) teamMember(c echo.Context) (store.User, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.User{}, echo.NewHTTPError(http.StatusNotFound, "No such team member.")
	}
	u, err := h.store.User(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, echo.NewHTTPError(http.StatusNotFound, "No such team member.")
	}
	if err != nil {
		return store.User{}, err
	}
	if u.ID == currentUser(c).ID {
		return store.User{}, echo.NewHTTPError(http.StatusBadRequest, "Change your own account from the Account page; another admin must change your role or status.")
	}
	return u, nil
}

// ChangeRole sets a member's role, keeping at least one active admin.
func (h *Handlers) ChangeRole(c echo.Context) error {
	u, err := h.teamMember(c)
	if err != nil {
		return err
	}
	role := store.Role(c.FormValue("role"))
	if !role.Valid() {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Choose viewer, operator or admin.")
	}
	if role == u.Role {
		return h.redirectNotice(c, "/team", u.Username+" already is "+string(role)+".")
	}
	if u.SSO {
		return echo.NewHTTPError(http.StatusConflict, u.Username+"'s role follows their groups at the identity provider: change them there (or the group mapping in Settings).")
	}
	if role != store.RoleAdmin && h.lastLocalAdmin(c.Request().Context(), u) {
		return echo.NewHTTPError(http.StatusConflict, u.Username+" is the last local admin: keep one, the way in when the identity provider is down.")
	}
	if err := h.store.SetRole(c.Request().Context(), u.ID, role); err != nil {
		return err
	}
	h.audit(c, "user.role", "user:"+u.Username, "ok", string(u.Role)+" -> "+string(role))
	return h.redirectNotice(c, "/team", fmt.Sprintf("%s is now %s.", u.Username, role))
}

// SetDisabled disables or re-enables a member; disabling ends their sessions.
func (h *Handlers) SetDisabled(c echo.Context) error {
	u, err := h.teamMember(c)
	if err != nil {
		return err
	}
	disabled := c.FormValue("disabled") == "true"
	if disabled {
		if h.lastLocalAdmin(c.Request().Context(), u) {
			return echo.NewHTTPError(http.StatusConflict, u.Username+" is the last local admin: keep one, the way in when the identity provider is down.")
		}
		if ok, err := h.askFirst(c, "Disable "+u.Username+"? Their sessions end at once.", "/team"); !ok {
			return err
		}
	}
	if err := h.store.SetDisabled(c.Request().Context(), u.ID, disabled); err != nil {
		return err
	}
	action, notice, detail := "user.enable", u.Username+" is enabled again.", ""
	if disabled {
		action, notice = "user.disable", u.Username+" is disabled; their sessions have ended."
	}
	if disabled && u.SSO { // a provider user's tokens go with the account, as when a re-check disables them
		n, err := h.store.RevokeAllAPITokens(c.Request().Context(), u.ID)
		if err != nil {
			return err
		}
		notice, detail = u.Username+" is disabled; their sessions have ended and their API tokens are revoked.", fmt.Sprintf("%d API tokens revoked", n)
	}
	h.audit(c, action, "user:"+u.Username, "ok", detail)
	return h.redirectNotice(c, "/team", notice)
}

// ResetPassword sets a member's password and ends their sessions.
func (h *Handlers) ResetPassword(c echo.Context) error {
	u, err := h.teamMember(c)
	if err != nil {
		return err
	}
	password := c.FormValue("password")
	if msg := store.ValidatePassword(u.Username, password); msg != "" {
		return h.renderTeam(c, http.StatusUnprocessableEntity, func(t *views.Team) {
			t.Reset = views.ResetPasswordForm{UserID: u.ID, Errors: views.FieldErrors{"password": msg}}
		})
	}
	if err := h.store.SetPassword(c.Request().Context(), u.ID, password); err != nil {
		return err
	}
	revoked, err := h.store.RevokeAllAPITokens(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	h.audit(c, "user.password_reset", "user:"+u.Username, "ok", fmt.Sprintf("sessions ended, %d API tokens revoked", revoked))
	return h.redirectNotice(c, "/team", fmt.Sprintf("New password set for %s; their sessions have ended and %d API tokens were revoked.", u.Username, revoked))
}

// ResetTwoFactor turns off a member's two-factor (a lost phone and lost recovery
// codes) and ends their sessions; if it is required they enrol again at sign-in.
func (h *Handlers) ResetTwoFactor(c echo.Context) error {
	u, err := h.teamMember(c)
	if err != nil {
		return err
	}
	if !u.TOTPEnabled {
		return h.redirectNotice(c, "/team", u.Username+" has no two-factor authentication to reset.")
	}
	if ok, err := h.askFirst(c, "Reset two-factor authentication of "+u.Username+"? They must enrol again.", "/team"); !ok {
		return err
	}

	ctx := c.Request().Context()
	if err := h.store.DisableTOTP(ctx, u.ID); err != nil {
		return err
	}
	if err := h.store.EndSessions(ctx, u.ID); err != nil {
		return err
	}
	revoked, err := h.store.RevokeAllAPITokens(ctx, u.ID)
	if err != nil {
		return err
	}
	h.audit(c, "user.2fa_reset", "user:"+u.Username, "ok", fmt.Sprintf("sessions ended, %d API tokens revoked", revoked))
	return h.redirectNotice(c, "/team", fmt.Sprintf("Two-factor authentication of %s was reset; their sessions have ended and %d API tokens were revoked.", u.Username, revoked))
}

// lastLocalAdmin says whether u is the only enabled admin with a local password while
// single sign-on is on (the one way in when the provider is down).
func (h *Handlers) lastLocalAdmin(ctx context.Context, u store.User) bool {
	if u.SSO || u.Role != store.RoleAdmin || u.Disabled {
		return false
	}
	if set, err := h.ssoSettings(ctx); err != nil || !set.Enabled() {
		return false
	}
	users, err := h.store.Users(ctx)
	if err != nil {
		return true // unknown: keep them
	}
	for _, o := range users {
		if o.ID != u.ID && !o.SSO && !o.Disabled && o.Role == store.RoleAdmin {
			return false
		}
	}
	return true
}
