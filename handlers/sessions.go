package handlers

import (
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
