package handlers

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// loginForm is the sign-in form as posted.
type loginForm struct {
	views.LoginForm
	Password string
	OTP      string
}

func parseLoginForm(c echo.Context) loginForm {
	return loginForm{
		LoginForm: views.LoginForm{Username: strings.TrimSpace(c.FormValue("username")), Next: safeNext(c.FormValue("next"))},
		Password:  c.FormValue("password"),
		OTP:       strings.TrimSpace(c.FormValue("otp")),
	}
}

// Validate fills field errors for input that cannot be right whatever the accounts are.
func (f *loginForm) Validate() bool {
	if f.Username == "" {
		f.Errors.Add("username", "Enter your username.")
	} else if len(f.Username) > 32 {
		f.Errors.Add("username", "Usernames are at most 32 characters.")
	}
	if f.Password == "" {
		f.Errors.Add("password", "Enter your password.")
	} else if len(f.Password) > 256 {
		f.Errors.Add("password", "Passwords are at most 256 characters.")
	}
	if len(f.OTP) > 16 {
		f.Errors.Add("otp", "Codes are 6 digits, recovery codes 11 characters.")
	}
	return !f.Errors.Any()
}

// safeNext keeps only local paths as the post-login destination.
// Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
// "/\t/evil.example" would leave the site: any control character, space or
// backslash, and anything with a host or scheme, is refused.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return ""
	}
	for _, r := range next {
		if r <= ' ' || r == '\\' || r == 0x7f || !unicode.IsPrint(r) {
			return ""
		}
	}
	// The decoded path must pass the same test: "/%09/evil.example" is "/\t/evil.example".
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") ||
		strings.ContainsFunc(u.Path, func(r rune) bool { return r <= ' ' || r == '\\' || r == 0x7f || !unicode.IsPrint(r) }) {
		return ""
	}
	return next
}

// LoginPage shows the sign-in form, or the setup hint on a fresh install.
func (h *Handlers) LoginPage(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	f := views.LoginForm{Next: safeNext(c.QueryParam("next"))}
	if n, err := h.store.CountUsers(c.Request().Context()); err != nil {
		return err
	} else if n == 0 {
		f.Notice = "Berth has no users yet: open the one-time setup link from Berth's log, or run `berth user add`."
	}
	h.loginSSO(c.Request().Context(), &f)
	return h.render(c, http.StatusOK, h.page(c, "Sign in", ""), views.Login(h.page(c, "Sign in", ""), f))
}

// Login checks the password (and second factor) and starts a fresh session.
func (h *Handlers) Login(c echo.Context) error {
	ctx := c.Request().Context()
	f := parseLoginForm(c)
	refuse := func(status int, msg string) error {
		f.Error = msg
		h.loginSSO(ctx, &f.LoginForm)
		p := h.page(c, "Sign in", "")
		return h.render(c, status, p, views.Login(p, f.LoginForm))
	}
	if !f.Validate() {
		return refuse(http.StatusUnprocessableEntity, "")
	}
	ip := c.RealIP()
	if wait := h.limiter.retryAfter(f.Username, ip); wait > 0 {
		h.auditAs(c, f.Username, "", "auth.login", "user:"+f.Username, "denied: rate limited", "")
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		return refuse(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-in attempts for this account or from this address. Try again in %s.", minutes(wait)))
	}
	u, err := h.store.CheckPassword(ctx, f.Username, f.Password)
	if errors.Is(err, store.ErrBadCredentials) {
		h.limiter.fail(f.Username, ip)
		h.auditAs(c, f.Username, "", "auth.login", "user:"+f.Username, "denied: wrong username or password", "")
		return refuse(http.StatusUnauthorized, "Wrong username or password.")
	}
	if err != nil {
		return err
	}
	if u.Disabled {
		h.auditAs(c, u.Username, string(u.Role), "auth.login", "user:"+u.Username, "denied: account disabled", "")
		return refuse(http.StatusForbidden, "This account is disabled. Ask an admin to enable it.")
	}
	if set, err := h.ssoSettings(ctx); err == nil && set.Enabled() && set.LocalAdminsOnly && u.Role != store.RoleAdmin {
		h.auditAs(c, u.Username, string(u.Role), "auth.login", "user:"+u.Username, "denied: local sign-in is for admins only", "")
		return refuse(http.StatusForbidden, "Sign in with "+set.Name+": local passwords are for admins only.")
	}
	if u.TOTPEnabled {
		f.NeedOTP = true
		if f.OTP == "" {
			f.Errors.Add("otp", "Enter the code from your authenticator app, or a recovery code.")
			return refuse(http.StatusUnauthorized, "This account uses two-factor authentication.")
		}
		if err := h.store.CheckSecondFactor(ctx, u.ID, f.OTP); errors.Is(err, store.ErrBadCode) {
			h.limiter.fail(f.Username, ip)
			h.auditAs(c, u.Username, string(u.Role), "auth.login", "user:"+u.Username, "denied: wrong two-factor code", "")
			f.Errors.Add("otp", "That code is not valid, or was already used. Codes change every 30 seconds.")
			return refuse(http.StatusUnauthorized, "Wrong authentication code.")
		} else if err != nil {
			return err
		}
	}
	h.limiter.succeed(f.Username)
	if err := h.startSession(c, u); err != nil {
		return err
	}
	h.audit(c, "auth.login", "user:"+u.Username, "ok", "")
	next := f.Next
	if next == "" {
		next = "/"
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// Logout ends the session.
func (h *Handlers) Logout(c echo.Context) error {
	h.audit(c, "auth.logout", "user:"+currentUser(c).Username, "ok", "")
	if err := h.sessions.Destroy(c.Request().Context()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

func minutes(d interface{ Minutes() float64 }) string {
	m := int(math.Ceil(d.Minutes()))
	if m <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// startSession signs the user in under a new session token (a session fixed
// before sign-in is worthless after it) with a new CSRF token.
func (h *Handlers) startSession(c echo.Context, u store.User) error {
	ctx := c.Request().Context()
	if err := h.sessions.RenewToken(ctx); err != nil {
		return err
	}
	h.sessions.Put(ctx, sessUserID, u.ID)
	h.sessions.Put(ctx, sessEpoch, u.SessionEpoch)
	h.sessions.Put(ctx, sessCSRF, randomToken())
	h.sessions.Put(ctx, sessSeen, time.Now().Unix())
	h.sessions.Put(ctx, sessStarted, time.Now().Unix())
	c.Set(ctxUser, &u)
	return nil
}
