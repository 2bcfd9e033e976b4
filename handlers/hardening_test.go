package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/labstack/echo/v4"
)

func TestSignInGoesOnlyToBerthsOwnPaths(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ts.addUser("ann", store.RoleViewer)
	for next, want := range map[string]string{
		"/services":                 "/services",
		"/audit?action=service.":    "/audit?action=service.",
		"//evil.example":            "/",
		"/\t/evil.example":          "/",
		"/%09/evil.example":         "/",
		"/%2F/evil.example":         "/",
		"/\\evil.example":           "/",
		"/%5Cevil.example":          "/",
		"https://evil.example/":     "/",
		"/\n/evil.example":          "/",
		"/ /evil.example":           "/",
		"/%0d%0aSet-Cookie:%20x=1":  "/",
		"javascript:alert(1)":       "/",
		"/\u2028/evil.example":      "/",
		"/services/%2e%2e/settings": "/services/%2e%2e/settings",
	} {
		c := ts.client()
		c.get("/login")
		p := c.post("/login", url.Values{"username": {"ann"}, "password": {testPassword}, "next": {next}})
		if p.Status != http.StatusSeeOther || p.Location != want {
			t.Errorf("next=%q: %d to %q, want %q", next, p.Status, p.Location, want)
		}
	}
}

func TestForwardedAddressesAreBelievedOnlyFromTheConfiguredProxies(t *testing.T) {
	req := func(peer, xff string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = peer + ":40000"
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		return r
	}
	trusted := ipExtractor([]string{"10.0.9.0/24"})
	for _, tc := range []struct {
		name, peer, xff, want string
	}{
		{"the configured proxy", "10.0.9.5", "203.0.113.7", "203.0.113.7"},
		{"another address on the overlay", "10.0.1.8", "203.0.113.7", "10.0.1.8"},
		{"loopback", "127.0.0.1", "203.0.113.7", "127.0.0.1"},
		{"a private peer", "192.168.1.4", "198.51.100.1", "192.168.1.4"},
		{"a chain through the proxy from a forger", "10.0.9.5", "198.51.100.1, 10.0.1.8", "10.0.1.8"},
	} {
		if got := trusted(req(tc.peer, tc.xff)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := ipExtractor(nil)(req("10.0.9.5", "203.0.113.7")); got != "10.0.9.5" {
		t.Errorf("with no trusted proxies the header was believed: %s", got)
	}
}

func TestWebhookLimiterHoldsABoundedNumberOfKeys(t *testing.T) {
	now := time.Unix(0, 0)
	r := newRateLimiter(func() time.Time { return now }, time.Minute, 10)
	r.max = 100
	for i := 0; i < 5000; i++ {
		b := make([]byte, 16)
		rand.Read(b)
		r.allow(hex.EncodeToString(b))
		if i%1000 == 999 {
			now = now.Add(2 * time.Minute) // earlier keys age out
		}
	}
	if n := r.size(); n > 100 {
		t.Errorf("the limiter remembers %d keys, at most 100 allowed", n)
	}
	now = now.Add(2 * time.Minute)
	if !r.allow("a real one") {
		t.Error("a new key was refused once the old ones aged out")
	}
}

func TestUnknownWebhookTokensAreLimitedPerAddress(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	c := ts.client()
	last := 0
	for i := 0; i < hookCallsPerWindow+1; i++ {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/hooks/made-up-"+itoa(int64(i)), nil)
		last = c.do(req).Status
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("the %dth made-up token in a minute: %d, want 429", hookCallsPerWindow+1, last)
	}
	if n := ts.handler.hooks.size(); n != 1 {
		t.Errorf("the limiter remembers %d keys for one caller", n)
	}
}

func TestEveryBodyIsBounded(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	c := ts.client()
	c.get("/login")
	big := strings.Repeat("x", maxBody+1)
	p := c.post("/login", url.Values{"username": {"ann"}, "password": {big}})
	if p.Status != http.StatusRequestEntityTooLarge || !strings.Contains(p.Body, "at most 4096 KB") {
		t.Errorf("a 4 MB sign-in form: %d", p.Status)
	}
	// A body without a length is cut at the limit as it is read.
	e := echo.New()
	called := false
	h := limitBody(10)(func(c echo.Context) error {
		called = true
		buf := make([]byte, 100)
		_, err := c.Request().Body.Read(buf)
		for err == nil {
			_, err = c.Request().Body.Read(buf)
		}
		if !strings.Contains(err.Error(), "too large") {
			t.Errorf("reading past the limit: %v", err)
		}
		return nil
	})
	req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("y", 100)))
	req.ContentLength = -1
	rec := &discardWriter{header: http.Header{}}
	if err := h(e.NewContext(req, echo.NewResponse(rec, e))); err != nil || !called {
		t.Errorf("the streamed body: %v, handler called %v", err, called)
	}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func TestAdminResetsRevokeTheUsersAPITokens(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ts.addUser("admin1", store.RoleAdmin)
	ctx := context.Background()
	for _, reset := range []string{"password", "2fa/reset"} {
		name := "u" + strings.ReplaceAll(reset, "/", "")
		u := ts.addUser(name, store.RoleOperator)
		tok, _, err := ts.Store.CreateAPIToken(ctx, u.ID, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if reset == "2fa/reset" {
			c := ts.client()
			c.login(name, testPassword, "")
			enrolTOTP(t, c)
		}
		if r := ts.api(t, tok, http.MethodGet, "/api/v1/me", nil); r.Status != http.StatusOK {
			t.Fatalf("the token before the reset: %d", r.Status)
		}
		admin := ts.client()
		admin.login("admin1", testPassword, "")
		admin.get("/team")
		if p := admin.post("/team/"+itoa(u.ID)+"/"+reset, url.Values{"password": {"another long passphrase"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", reset, p.Status, p.Body)
		}
		if r := ts.api(t, tok, http.MethodGet, "/api/v1/me", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("after the admin's %s reset the user's API token still works: %d", reset, r.Status)
		}
		recs, _ := ts.Store.AuditRecords(ctx, store.AuditFilter{Action: "user."})
		found := false
		for _, r := range recs {
			found = found || (r.Object == "user:"+name && strings.Contains(r.Detail, "1 API tokens revoked"))
		}
		if !found {
			t.Errorf("the %s reset's audit record does not say the token was revoked", reset)
		}
	}
}

func TestTheUploadRouteAnswersRefusalsInJSON(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	op := ts.signedIn("op", store.RoleOperator)
	op.get("/volumes")
	req, _ := http.NewRequest(http.MethodPut, ts.URL+"/volumes/nosuch/files?name=a.txt", strings.NewReader("x"))
	req.Header.Set("X-CSRF-Token", op.csrf)
	p := op.do(req)
	if p.Status != http.StatusNotFound || !strings.HasPrefix(p.Header.Get("Content-Type"), "application/json") || !strings.Contains(p.Body, `"error":"No volume mapping named nosuch."`) {
		t.Errorf("the upload form's route refused with %d %s %q: the form shows only what it can read", p.Status, p.Header.Get("Content-Type"), truncate(p.Body, 200))
	}
}

func TestARefusedDeployKeepsARowToTypeIntoInEveryList(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	op := ts.signedIn("op", store.RoleOperator)
	op.get("/services/new")
	p := op.post("/services/new", url.Values{"name": {"-bad-"}, "image": {"busybox"}, "replicas": {"1"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad name: %d", p.Status)
	}
	for _, field := range []string{`name="env_key"`, `name="secret_name"`, `name="config_name"`, `name="volume_mapping"`} {
		if !strings.Contains(p.Body, field) {
			t.Errorf("the refused form lost its empty %s row", field)
		}
	}
}
