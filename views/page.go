// Package views holds Berth's templ components; they receive view models and
// never call the store or the engine.
package views

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// Page is what the layout needs around every screen.
type Page struct {
	Title  string
	Nav    string // the navigation area to mark as current
	User   *Viewer
	CSRF   string
	Engine EngineBanner
	// OpenAlerts is how many alerts are open, for the navigation's badge.
	OpenAlerts int
}

// Viewer is the signed-in user as the layout shows them.
type Viewer struct {
	Username string
	Role     string
}

// IsAdmin reports whether the viewer may manage the team and settings.
func (v *Viewer) IsAdmin() bool { return v != nil && v.Role == "admin" }

// CanOperate reports whether the viewer may change the environment.
func (v *Viewer) CanOperate() bool { return v != nil && (v.Role == "admin" || v.Role == "operator") }

// EngineBanner says whether the Docker engine is reachable.
type EngineBanner struct {
	Reachable bool
	Error     string
	Locked    bool // the swarm is locked on this manager (autolock after a restart)
}

// CSRFHeaders is the hx-headers value that sends the CSRF token with htmx requests.
func (p Page) CSRFHeaders() string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": p.CSRF})
	return string(b)
}

// FieldErrors maps a form field's name to what is wrong with it.
type FieldErrors map[string]string

// Add records a message for a field, keeping the first one.
func (e *FieldErrors) Add(field, msg string) {
	if *e == nil {
		*e = FieldErrors{}
	}
	if _, ok := (*e)[field]; !ok && msg != "" {
		(*e)[field] = msg
	}
}

// Any reports whether some field has an error.
func (e FieldErrors) Any() bool { return len(e) > 0 }

// FormatTime shows a time in UTC, the way the audit log records it.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// htmxConfig turns off htmx's inline indicator styles (blocked by the CSP) and
// swaps 4xx answers (re-rendered forms, error fragments) that htmx would otherwise drop.
const htmxConfig = `{"includeIndicatorStyles":false,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"4..","swap":true},{"code":"5..","swap":true,"error":true}]}`

// String joins the messages, field by field, for places that show them in one line.
func (e FieldErrors) String() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e[k])
	}
	return strings.Join(parts, " ")
}

// Keys are the fields with an error, in order.
func (e FieldErrors) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
