package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/labstack/echo/v4"
)

// Context keys.
const (
	ctxUser = "berth.user"
	ctxVia  = "berth.via"
)

// contentSecurityPolicy allows nothing inline and nothing from elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every answer carries.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		return next(c)
	}
}

// requestLog logs each request's method, path (never the query, which may hold a setup token), status and duration.
func (h *Handlers) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		if strings.HasPrefix(c.Request().URL.Path, "/static/") && status < 400 {
			return nil
		}
		h.log.Info("request", "method", c.Request().Method, "path", loggedPath(c.Request().URL.Path),
			"status", status, "duration", time.Since(start).Round(time.Microsecond), "remote", c.RealIP())
		return nil
	}
}

// loggedPath hides the secret a webhook's path carries.
func loggedPath(path string) string {
	if strings.HasPrefix(path, "/hooks/") {
		return "/hooks/(token)"
	}
	return path
}

// loadUser puts the signed-in user in the context, ending sessions of users
// who were disabled or whose password was reset since they signed in.
func (h *Handlers) loadUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(ctxVia, "ui")
		ctx := c.Request().Context()
		id := h.sessions.GetInt64(ctx, sessUserID)
		if id == 0 {
			return next(c)
		}
		u, err := h.store.User(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (u.Disabled || u.SessionEpoch != h.sessions.GetInt64(ctx, sessEpoch) || h.idleSession(c, time.Now()) || h.ssoSessionOver(c, u))) {
			if err := h.sessions.Destroy(ctx); err != nil {
				return err
			}
			return next(c)
		}
		if err != nil {
			return err
		}
		c.Set(ctxUser, &u)
		return next(c)
	}
}

// currentUser is the signed-in user, or nil.
func currentUser(c echo.Context) *store.User {
	u, _ := c.Get(ctxUser).(*store.User)
	return u
}

// csrfToken returns the session's CSRF token, creating one if needed.
func (h *Handlers) csrfToken(c echo.Context) string {
	if c.Get(ctxVia) != "ui" {
		return "" // no session on this route (an unknown path, the API)
	}
	ctx := c.Request().Context()
	if t := h.sessions.GetString(ctx, sessCSRF); t != "" {
		return t
	}
	t := randomToken()
	h.sessions.Put(ctx, sessCSRF, t)
	return t
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// errCSRF is the answer to a state-changing request without the page's token.
var errCSRF = echo.NewHTTPError(http.StatusForbidden, "This form has expired or came from another site. Reload the page and try again.")

// checkCSRF refuses state-changing requests that lack the session's token or come from another origin.
func (h *Handlers) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if origin := c.Request().Header.Get("Origin"); origin != "" && origin != "null" {
			u, err := url.Parse(origin)
			if err != nil || u.Host != c.Request().Host {
				return errCSRF
			}
		}
		want := h.sessions.GetString(c.Request().Context(), sessCSRF)
		got := c.Request().Header.Get("X-CSRF-Token")
		if got == "" {
			got = c.FormValue("_csrf")
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			return errCSRF
		}
		return next(c)
	}
}

// requireRole lets through users whose role is at least min; "" lets anyone through.
func requireRole(min store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if min == "" {
				return next(c)
			}
			u := currentUser(c)
			if u == nil {
				if c.Get(ctxVia) == "api" {
					return echo.NewHTTPError(http.StatusUnauthorized, "Send an API token: Authorization: Bearer <token>.")
				}
				return signInRedirect(c)
			}
			if u.Role.Rank() < min.Rank() {
				return echo.NewHTTPError(http.StatusForbidden, "Your role ("+string(u.Role)+") cannot do this; it needs "+string(min)+".")
			}
			return next(c)
		}
	}
}

// signInRedirect sends an anonymous visitor to the login page and back afterwards.
func signInRedirect(c echo.Context) error {
	target := "/login"
	if c.Request().Method == http.MethodGet && c.Request().URL.Path != "/" {
		target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
	}
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusUnauthorized)
	}
	// A websocket or an event stream cannot follow a redirect to a sign-in page.
	if c.Request().Method != http.MethodGet || c.Request().Header.Get("Upgrade") != "" || c.Request().Header.Get("Accept") == "text/event-stream" {
		return echo.NewHTTPError(http.StatusUnauthorized, "Your session has ended. Sign in again.")
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// enforce2FA keeps users without two-factor on the enrolment page while an admin requires it.
func (h *Handlers) enforce2FA(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := currentUser(c)
		if u == nil || u.TOTPEnabled || u.SSO { // the provider's own policy applies to its users
			return next(c)
		}
		required, err := h.store.Require2FA(c.Request().Context())
		if err != nil {
			return err
		}
		if !required {
			return next(c)
		}
		if isHTMX(c) {
			c.Response().Header().Set("HX-Redirect", "/account/2fa")
			return c.NoContent(http.StatusForbidden)
		}
		if c.Request().Method != http.MethodGet {
			return echo.NewHTTPError(http.StatusForbidden, "Two-factor authentication is required: turn it on from your account first.")
		}
		return c.Redirect(http.StatusSeeOther, "/account/2fa")
	}
}

// ipExtractor believes X-Forwarded-For only from the trusted proxies.
func ipExtractor(trusted []string) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	// echo trusts loopback, link-local and private peers by default: only the configured proxies are believed.
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, cidr := range trusted {
		if _, n, err := net.ParseCIDR(cidr); err == nil {
			opts = append(opts, echo.TrustIPRange(n))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
