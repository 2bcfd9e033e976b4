package handlers

import (
	"github.com/labstack/echo/v4"
	"net/http"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/berthhq/berth/store"
)

// NewSessionManager keeps sessions in the SQLite file (so they survive restarts),
// with only a hash of each session token stored.
func NewSessionManager(st *store.Store, secure bool) *scs.SessionManager {
	sm := scs.New()
	sm.Store = sqlite3store.NewWithCleanupInterval(st.DB(), 30*time.Minute)
	sm.HashTokenInStore = true
	sm.Lifetime = 12 * time.Hour
	sm.IdleTimeout = 2 * time.Hour
	sm.Cookie.Name = "berth_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = secure
	sm.Cookie.Persist = true
	return sm
}

// Session keys.
const (
	sessUserID = "uid"
	sessEpoch  = "epoch"
	sessCSRF   = "csrf"
)

// readSession loads the session for a streaming answer without the saving
// wrapper, which would hold the stream back until it ends.
func (h *Handlers) readSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token := ""
		if ck, err := c.Cookie(h.sessions.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx, err := h.sessions.Load(c.Request().Context(), token)
		if err != nil {
			return err
		}
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}
