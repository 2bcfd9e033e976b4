package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/berthhq/berth/store"
)

// concretePath fills a route's parameters with an id no record has.
func concretePath(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "999999"
		}
	}
	return strings.Join(parts, "/")
}

// roleDenied is how a refusal by role reads, as opposed to other 403s (a bad setup link).
const roleDenied = "cannot do this; it needs"

func TestEveryStateChangingRouteRequiresCSRFToken(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	c := ts.signedIn("admin1", store.RoleAdmin)
	checked := 0
	for _, r := range ts.handler.Routes() {
		if r.Method == http.MethodGet {
			continue
		}
		path := concretePath(r.Path)
		checked++
		if r.Hook {
			// A hook authenticates by its token alone: a wrong one changes nothing.
			req, _ := http.NewRequest(r.Method, ts.URL+path, nil)
			if p := c.do(req); p.Status != http.StatusNotFound {
				t.Errorf("%s %s with a made-up token: status %d, want 404", r.Method, r.Path, p.Status)
			}
			continue
		}
		if r.API {
			// The API ignores cookies: a signed-in browser cannot be ridden into it.
			req, _ := http.NewRequest(r.Method, ts.URL+path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			if p := c.do(req); p.Status != http.StatusUnauthorized {
				t.Errorf("%s %s with only a session cookie: status %d, want 401", r.Method, r.Path, p.Status)
			}
			continue
		}
		for name, form := range map[string]url.Values{
			"no token":    {},
			"wrong token": {"_csrf": {"not-the-token"}},
		} {
			req, _ := http.NewRequest(r.Method, ts.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			p := c.do(req)
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "form has expired") {
				t.Errorf("%s %s with %s: status %d, want 403 naming the expired form", r.Method, r.Path, name, p.Status)
			}
		}
		// The right token from another origin is refused too.
		c.get("/account")
		req, _ := http.NewRequest(r.Method, ts.URL+path, strings.NewReader(url.Values{"_csrf": {c.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		if p := c.do(req); p.Status != http.StatusForbidden {
			t.Errorf("%s %s from another origin: status %d, want 403", r.Method, r.Path, p.Status)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d state-changing routes walked", checked)
	}
	if !c.signedIn() {
		t.Error("the refused requests changed the session")
	}
}

// roleModel is the role model written down independently of the route table:
// "" is anyone, then the least role that may use the route. A new route fails
// the test below until it is added here.
var roleModel = map[string]store.Role{
	"GET /healthz":                    "",
	"GET /login":                      "",
	"POST /login":                     "",
	"GET /auth/sso":                   "",
	"GET /auth/sso/callback":          "",
	"POST /logout":                    store.RoleViewer,
	"GET /setup":                      "",
	"POST /setup":                     "",
	"GET /":                           store.RoleViewer,
	"GET /dashboard/status":           store.RoleViewer,
	"GET /dashboard/events":           store.RoleViewer,
	"GET /engine/banner":              store.RoleViewer,
	"POST /environment/initialize":    store.RoleAdmin,
	"GET /account":                    store.RoleViewer,
	"POST /account/password":          store.RoleViewer,
	"POST /account/tokens":            store.RoleViewer,
	"POST /account/tokens/:id/revoke": store.RoleViewer,
	"GET /account/2fa":                store.RoleViewer,
	"GET /account/2fa/qr.png":         store.RoleViewer,
	"POST /account/2fa":               store.RoleViewer,
	"POST /account/2fa/disable":       store.RoleViewer,
	"GET /team":                       store.RoleAdmin,
	"POST /team":                      store.RoleAdmin,
	"POST /team/:id/role":             store.RoleAdmin,
	"POST /team/:id/disabled":         store.RoleAdmin,
	"POST /team/:id/2fa/reset":        store.RoleAdmin,
	"POST /team/:id/password":         store.RoleAdmin,
	"GET /settings":                   store.RoleAdmin,
	"POST /settings":                  store.RoleAdmin,
	"GET /settings/sso":               store.RoleAdmin,
	"POST /settings/sso":              store.RoleAdmin,
	"POST /settings/sso/recheck":      store.RoleAdmin,
	"GET /recordings":                 store.RoleAdmin,
	"GET /recordings/:id":             store.RoleAdmin,
	"GET /recordings/:id/cast":        store.RoleAdmin,
	"GET /audit":                      store.RoleViewer,
	"GET /audit.csv":                  store.RoleViewer,
	"GET /api/v1/me":                  store.RoleViewer,

	"GET /registries":                          store.RoleViewer,
	"POST /registries":                         store.RoleOperator,
	"POST /registries/pull":                    store.RoleOperator,
	"POST /registries/:id/password":            store.RoleOperator,
	"POST /registries/:id/test":                store.RoleOperator,
	"POST /registries/:id/delete":              store.RoleOperator,
	"GET /configs":                             store.RoleViewer,
	"POST /configs":                            store.RoleOperator,
	"GET /configs/:name":                       store.RoleViewer,
	"GET /configs/:name/version":               store.RoleOperator,
	"POST /configs/:name/versions":             store.RoleOperator,
	"POST /configs/:name/delete":               store.RoleOperator,
	"GET /secrets":                             store.RoleViewer,
	"POST /secrets":                            store.RoleOperator,
	"GET /secrets/:name/version":               store.RoleOperator,
	"POST /secrets/:name/versions":             store.RoleOperator,
	"POST /secrets/:name/delete":               store.RoleOperator,
	"GET /jobs/:id":                            store.RoleViewer,
	"GET /jobs/:id/status":                     store.RoleViewer,
	"GET /services":                            store.RoleViewer,
	"GET /services/events":                     store.RoleViewer,
	"GET /services/new":                        store.RoleOperator,
	"POST /services/new":                       store.RoleOperator,
	"GET /services/:name/edit":                 store.RoleOperator,
	"POST /services/:name/edit":                store.RoleOperator,
	"GET /services/:name":                      store.RoleViewer,
	"GET /services/:name/events":               store.RoleViewer,
	"GET /top":                                 store.RoleViewer,
	"GET /networks":                            store.RoleViewer,
	"POST /nodes/join":                         store.RoleAdmin,
	"POST /nodes/join/rotate":                  store.RoleAdmin,
	"POST /nodes/:id/remove":                   store.RoleAdmin,
	"POST /nodes/:id/remove/cancel":            store.RoleAdmin,
	"GET /api/v1/swarm/join":                   store.RoleAdmin,
	"POST /api/v1/swarm/join/rotate":           store.RoleAdmin,
	"DELETE /api/v1/nodes/:id":                 store.RoleAdmin,
	"GET /networks/events":                     store.RoleViewer,
	"POST /networks":                           store.RoleOperator,
	"POST /networks/:name/delete":              store.RoleOperator,
	"GET /api/v1/networks":                     store.RoleViewer,
	"GET /nodes/:id/images":                    store.RoleViewer,
	"POST /nodes/:id/images/prune":             store.RoleOperator,
	"GET /api/v1/nodes/:id/images":             store.RoleViewer,
	"GET /api/v1/nodes/:id/disk":               store.RoleViewer,
	"POST /api/v1/nodes/:id/images/prune":      store.RoleOperator,
	"POST /api/v1/networks":                    store.RoleOperator,
	"DELETE /api/v1/networks/:name":            store.RoleOperator,
	"GET /top/events":                          store.RoleViewer,
	"GET /services/:name/logs":                 store.RoleViewer,
	"GET /services/:name/logs/follow":          store.RoleViewer,
	"POST /services/:name/scale":               store.RoleOperator,
	"POST /services/:name/redeploy":            store.RoleOperator,
	"POST /services/:name/image/check":         store.RoleOperator,
	"POST /services/:name/image/update":        store.RoleOperator,
	"POST /services/:name/rollback":            store.RoleOperator,
	"POST /services/:name/delete":              store.RoleOperator,
	"GET /containers":                          store.RoleViewer,
	"GET /terminal/:container":                 store.RoleOperator,
	"GET /terminal/:container/ws":              store.RoleOperator,
	"GET /volumes":                             store.RoleViewer,
	"POST /volumes":                            store.RoleOperator,
	"POST /volumes/:name/delete":               store.RoleOperator,
	"GET /volumes/upload-nodes":                store.RoleOperator,
	"PUT /volumes/:name/files":                 store.RoleOperator,
	"GET /api/v1/registries":                   store.RoleViewer,
	"POST /api/v1/registries":                  store.RoleOperator,
	"PUT /api/v1/registries/:id":               store.RoleOperator,
	"DELETE /api/v1/registries/:id":            store.RoleOperator,
	"POST /api/v1/registries/:id/test":         store.RoleOperator,
	"GET /api/v1/configs":                      store.RoleViewer,
	"POST /api/v1/configs":                     store.RoleOperator,
	"GET /api/v1/configs/:name":                store.RoleViewer,
	"DELETE /api/v1/configs/:name":             store.RoleOperator,
	"POST /api/v1/configs/:name/versions":      store.RoleOperator,
	"GET /api/v1/secrets":                      store.RoleViewer,
	"POST /api/v1/secrets":                     store.RoleOperator,
	"GET /api/v1/secrets/:name":                store.RoleViewer,
	"DELETE /api/v1/secrets/:name":             store.RoleOperator,
	"POST /api/v1/secrets/:name/versions":      store.RoleOperator,
	"GET /api/v1/volumes":                      store.RoleViewer,
	"POST /api/v1/volumes":                     store.RoleOperator,
	"DELETE /api/v1/volumes/:name":             store.RoleOperator,
	"PUT /api/v1/volumes/:name/files":          store.RoleOperator,
	"GET /services/:name/compose":              store.RoleViewer,
	"GET /alerts":                              store.RoleViewer,
	"GET /alerts.csv":                          store.RoleViewer,
	"GET /alerts/events":                       store.RoleViewer,
	"POST /alerts/:id/ack":                     store.RoleOperator,
	"POST /alerts/channels":                    store.RoleAdmin,
	"POST /alerts/channels/:id/test":           store.RoleAdmin,
	"POST /alerts/channels/:id/delete":         store.RoleAdmin,
	"POST /alerts/settings":                    store.RoleAdmin,
	"GET /api/v1/alerts":                       store.RoleViewer,
	"POST /api/v1/alerts/:id/ack":              store.RoleOperator,
	"GET /api/v1/alerts/channels":              store.RoleAdmin,
	"POST /api/v1/alerts/channels":             store.RoleAdmin,
	"DELETE /api/v1/alerts/channels/:id":       store.RoleAdmin,
	"POST /api/v1/alerts/channels/:id/test":    store.RoleAdmin,
	"GET /stacks":                              store.RoleViewer,
	"GET /stacks/new":                          store.RoleOperator,
	"POST /stacks":                             store.RoleOperator,
	"GET /stacks/:name":                        store.RoleViewer,
	"GET /stacks/:name/events":                 store.RoleViewer,
	"GET /stacks/:name/compose":                store.RoleViewer,
	"POST /stacks/:name":                       store.RoleOperator,
	"POST /stacks/:name/delete":                store.RoleOperator,
	"POST /stacks/:name/redeploy":              store.RoleOperator,
	"POST /api/v1/stacks/:name/redeploy":       store.RoleOperator,
	"GET /api/v1/stacks":                       store.RoleViewer,
	"POST /api/v1/stacks":                      store.RoleOperator,
	"GET /api/v1/stacks/:name":                 store.RoleViewer,
	"PUT /api/v1/stacks/:name":                 store.RoleOperator,
	"GET /api/v1/stacks/:name/compose":         store.RoleViewer,
	"DELETE /api/v1/stacks/:name":              store.RoleOperator,
	"POST /api/v1/stacks/:name/webhook":        store.RoleOperator,
	"DELETE /api/v1/stacks/:name/webhook":      store.RoleOperator,
	"GET /api/v1/services":                     store.RoleViewer,
	"POST /api/v1/services":                    store.RoleOperator,
	"GET /api/v1/services/:name":               store.RoleViewer,
	"PUT /api/v1/services/:name":               store.RoleOperator,
	"PATCH /api/v1/services/:name":             store.RoleOperator,
	"DELETE /api/v1/services/:name":            store.RoleOperator,
	"POST /api/v1/services/:name/redeploy":     store.RoleOperator,
	"POST /api/v1/services/:name/image/check":  store.RoleOperator,
	"POST /api/v1/services/:name/image/update": store.RoleOperator,
	"POST /api/v1/services/:name/webhook":      store.RoleOperator,
	"DELETE /api/v1/services/:name/webhook":    store.RoleOperator,
	"GET /api/v1/domains":                      store.RoleViewer,
	"GET /api/v1/loadbalancer":                 store.RoleAdmin,
	"POST /api/v1/loadbalancer":                store.RoleAdmin,
	"DELETE /api/v1/loadbalancer":              store.RoleAdmin,
	"GET /services/:name/domains":              store.RoleOperator,
	"POST /services/:name/domains":             store.RoleOperator,
	"GET /domains":                             store.RoleViewer,
	"GET /nodes":                               store.RoleViewer,
	"POST /nodes/autolock":                     store.RoleAdmin,
	"POST /nodes/unlock":                       store.RoleAdmin,
	"POST /nodes/agent":                        store.RoleAdmin,
	"POST /nodes/agent/rotate":                 store.RoleAdmin,
	"POST /nodes/agent/remove":                 store.RoleAdmin,
	"GET /nodes/live":                          store.RoleViewer,
	"GET /nodes/events":                        store.RoleViewer,
	"GET /nodes/:id":                           store.RoleViewer,
	"GET /nodes/:id/live":                      store.RoleViewer,
	"GET /nodes/:id/events":                    store.RoleViewer,
	"POST /nodes/:id/role":                     store.RoleAdmin,
	"POST /nodes/:id/availability":             store.RoleAdmin,
	"POST /nodes/:id/labels":                   store.RoleAdmin,
	"POST /nodes/:id/labels/delete":            store.RoleAdmin,
	"GET /backups":                             store.RoleViewer,
	"GET /backups/live":                        store.RoleViewer,
	"POST /backups":                            store.RoleOperator,
	"GET /backups/export.csv":                  store.RoleViewer,
	"GET /backups/export.json":                 store.RoleViewer,
	"POST /backups/modes/:name":                store.RoleOperator,
	"GET /backups/:id":                         store.RoleViewer,
	"POST /backups/:id/verify":                 store.RoleOperator,
	"POST /backups/:id/pin":                    store.RoleOperator,
	"POST /backups/:id/restore-volume":         store.RoleOperator,
	"POST /backups/:id/restore-objects":        store.RoleOperator,
	"GET /api/v1/backups":                      store.RoleViewer,
	"POST /api/v1/backups":                     store.RoleOperator,
	"GET /api/v1/backups/export":               store.RoleViewer,
	"GET /api/v1/backups/:id":                  store.RoleViewer,
	"POST /api/v1/backups/:id/verify":          store.RoleOperator,
	"POST /api/v1/backups/:id/restore-volume":  store.RoleOperator,
	"GET /api/v1/backups/:id/restore-objects":  store.RoleOperator,
	"POST /api/v1/backups/:id/restore-objects": store.RoleOperator,
	"GET /backups/offsite":                     store.RoleAdmin,
	"POST /backups/offsite":                    store.RoleAdmin,
	"POST /backups/offsite/remove":             store.RoleAdmin,
	"POST /backups/offsite/keys":               store.RoleAdmin,
	"POST /backups/offsite/keys/import":        store.RoleAdmin,
	"POST /backups/drills":                     store.RoleOperator,
	"POST /backups/drills/schedule":            store.RoleAdmin,
	"POST /backups/:id/restore-state":          store.RoleAdmin,
	"GET /api/v1/backups/offsite":              store.RoleAdmin,
	"PUT /api/v1/backups/offsite":              store.RoleAdmin,
	"DELETE /api/v1/backups/offsite":           store.RoleAdmin,
	"POST /api/v1/backups/offsite/keys":        store.RoleAdmin,
	"GET /api/v1/backups/offsite/snapshots":    store.RoleAdmin,
	"GET /api/v1/backups/drills":               store.RoleViewer,
	"GET /metrics":                             store.RoleViewer,
	"GET /api/v1/services/:name/metrics":       store.RoleViewer,
	"GET /api/v1/nodes/:id/metrics":            store.RoleViewer,
	"POST /api/v1/backups/drills":              store.RoleOperator,
	"PUT /api/v1/backups/drills/schedule":      store.RoleAdmin,
	"GET /api/v1/backups/:id/restore-state":    store.RoleAdmin,
	"POST /api/v1/backups/:id/restore-state":   store.RoleAdmin,
	"GET /loadbalancer":                        store.RoleAdmin,
	"POST /loadbalancer":                       store.RoleAdmin,
	"POST /loadbalancer/delete":                store.RoleAdmin,
	"POST /hooks/:token":                       "",
}

func TestEveryRouteAnswersEachRoleAsTheRoleModelSays(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ctx := context.Background()
	users := map[store.Role]string{}
	tokens := map[store.Role]string{}
	for _, role := range store.Roles {
		name := "u-" + string(role)
		u := ts.addUser(name, role)
		users[role] = name
		tok, _, err := ts.Store.CreateAPIToken(ctx, u.ID, "t")
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = tok
	}
	clients := map[store.Role]*client{}
	for _, role := range store.Roles {
		clients[role] = ts.client()
		clients[role].login(users[role], testPassword, "")
	}
	clients[""] = ts.client()
	clients[""].get("/login") // an anonymous visitor with a CSRF token, so only the role decides

	seen := map[string]bool{}
	for _, r := range ts.handler.Routes() {
		key := r.Method + " " + r.Path
		seen[key] = true
		want, listed := roleModel[key]
		if !listed {
			t.Errorf("%s is not in the role model of this test: add it with its least role", key)
			continue
		}
		if r.MinRole != want {
			t.Errorf("%s is registered for %q, the role model says %q", key, r.MinRole, want)
		}
		for _, role := range []store.Role{"", store.RoleViewer, store.RoleOperator, store.RoleAdmin} {
			c := clients[role]
			if r.Path == "/logout" {
				// Signing out ends the session: use a throwaway one.
				c = ts.client()
				if role != "" {
					c.login(users[role], testPassword, "")
				} else {
					c.get("/login")
				}
			}
			path := concretePath(r.Path)
			var p page
			switch {
			case r.API:
				req, _ := http.NewRequest(r.Method, ts.URL+path, nil)
				if role != "" {
					req.Header.Set("Authorization", "Bearer "+tokens[role])
				}
				p = c.do(req)
			case r.Stream:
				p = c.stream(path)
			case r.Method == http.MethodGet:
				p = c.get(path)
			default:
				p = c.send(r.Method, path, url.Values{"_csrf": {c.csrf}})
			}
			allowed := want == "" || (role != "" && role.Rank() >= want.Rank())
			name := r.Method + " " + r.Path + " as " + string(role)
			if role == "" {
				name += "anonymous"
			}
			sentToLogin := p.Status == http.StatusUnauthorized || strings.HasPrefix(p.Location, "/login")
			switch {
			case allowed && (sentToLogin || strings.Contains(p.Body, roleDenied)):
				t.Errorf("%s: refused (status %d), but the role model allows it", name, p.Status)
			case !allowed && role == "" && !sentToLogin:
				t.Errorf("%s: status %d, want 401 or a redirect to sign in", name, p.Status)
			case !allowed && role != "" && (p.Status != http.StatusForbidden || !strings.Contains(p.Body, roleDenied)):
				t.Errorf("%s: status %d, want 403 naming the role", name, p.Status)
			}
		}
	}
	for key := range roleModel {
		if !seen[key] {
			t.Errorf("the role model lists %s, which no longer exists", key)
		}
	}
}
