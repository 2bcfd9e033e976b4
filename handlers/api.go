package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/labstack/echo/v4"
)

// apiAuth authenticates API requests by bearer token only; cookies are ignored,
// so a browser session can never be ridden into the API (no CSRF there).
func (h *Handlers) apiAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(ctxVia, "api")
		auth := c.Request().Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			return next(c) // requireRole answers 401 for routes that need a user
		}
		u, _, err := h.store.UserByAPIToken(c.Request().Context(), strings.TrimSpace(token))
		if errors.Is(err, store.ErrNotFound) {
			return echo.NewHTTPError(http.StatusUnauthorized, "The API token is not valid or was revoked.")
		}
		if err != nil {
			return err
		}
		if u.Disabled {
			return echo.NewHTTPError(http.StatusForbidden, "The token's owner is disabled.")
		}
		c.Set(ctxUser, &u)
		return next(c)
	}
}

// Me is the answer of GET /api/v1/me.
type Me struct {
	Username    string `json:"username"`
	Role        string `json:"role"`
	TwoFactor   bool   `json:"two_factor"`
	Disabled    bool   `json:"disabled"`
	MemberSince string `json:"member_since"`
}

// APIMe says who the token belongs to.
func (h *Handlers) APIMe(c echo.Context) error {
	u := currentUser(c)
	return c.JSON(http.StatusOK, Me{Username: u.Username, Role: string(u.Role), TwoFactor: u.TOTPEnabled, Disabled: u.Disabled,
		MemberSince: u.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")})
}
