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
	// No scs IdleTimeout: it rewrites the session on every request. Berth keeps its own
	// (sessionIdle), noting activity at most once a minute, so reading pages writes nothing.
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
	sessSeen   = "seen" // unix seconds of the last noted activity
)

// sessionIdle ends a session nobody used for this long.
const sessionIdle = 2 * time.Hour

// seenEvery is how often activity is noted in the session (each note is a write).
const seenEvery = time.Minute

// idleSession reports whether the session went unused for longer than sessionIdle;
// otherwise it notes the activity when the last note is older than seenEvery.
func (h *Handlers) idleSession(c echo.Context, now time.Time) bool {
	ctx := c.Request().Context()
	idle, note := idleVerdict(h.sessions.GetInt64(ctx, sessSeen), now)
	if note {
		h.sessions.Put(ctx, sessSeen, now.Unix())
	}
	return idle
}

// idleVerdict decides from the last noted activity (unix seconds, 0 for none yet)
// whether a session is idle, and whether to note the activity now.
func idleVerdict(seen int64, now time.Time) (idle, note bool) {
	if seen == 0 {
		return false, true // a session from before Berth noted activity: start counting now
	}
	since := now.Sub(time.Unix(seen, 0))
	if since > sessionIdle {
		return true, false
	}
	return false, since >= seenEvery
}

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
