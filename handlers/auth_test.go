package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/store/totp"
)

// enrolTOTP turns on two-factor for a signed-in client through the pages and returns the secret.
func enrolTOTP(t *testing.T, c *client) []byte {
	t.Helper()
	p := c.get("/account/2fa")
	m := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("enrolment page shows no key:\n%s", p.Body)
	}
	secret, err := totpDecode(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if qr := c.get("/account/2fa/qr.png"); qr.Status != http.StatusOK || !strings.HasPrefix(qr.Body, "\x89PNG") {
		t.Fatalf("QR code: status %d", qr.Status)
	}
	code := totp.Code(secret, totp.StepAt(time.Now()), 6)
	done := c.post("/account/2fa", url.Values{"code": {code}})
	if done.Status != http.StatusOK || !strings.Contains(done.Body, `id="recovery-codes"`) {
		t.Fatalf("confirm enrolment: status %d\n%s", done.Status, done.Body)
	}
	return secret
}

func TestLoginRefusalsSayWhyAndStartNoSession(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ts.addUser("alice", store.RoleOperator)
	dis := ts.addUser("dora", store.RoleViewer)
	if err := ts.Store.SetDisabled(context.Background(), dis.ID, true); err != nil {
		t.Fatal(err)
	}
	tom := ts.signedIn("tom", store.RoleViewer)
	secret := enrolTOTP(t, tom)

	for _, tc := range []struct {
		name, user, pass, otp string
		status                int
		message               string
	}{
		{"wrong password", "alice", "not the password!", "", http.StatusUnauthorized, "Wrong username or password."},
		{"unknown user", "nobody", testPassword, "", http.StatusUnauthorized, "Wrong username or password."},
		{"disabled user", "dora", testPassword, "", http.StatusForbidden, "This account is disabled"},
		{"missing code", "tom", testPassword, "", http.StatusUnauthorized, "Enter the code from your authenticator app"},
		{"wrong code", "tom", testPassword, "000000", http.StatusUnauthorized, "That code is not valid"},
		{"empty fields", "", "", "", http.StatusUnprocessableEntity, "Enter your username."},
		{"over-long username", strings.Repeat("a", 40), testPassword, "", http.StatusUnprocessableEntity, "at most 32 characters"},
	} {
		c := ts.client()
		p := c.tryLogin(tc.user, tc.pass, tc.otp)
		if p.Status != tc.status || !strings.Contains(p.Body, tc.message) {
			t.Errorf("%s: status %d, want %d with %q", tc.name, p.Status, tc.status, tc.message)
		}
		if c.signedIn() {
			t.Errorf("%s: a session was started", tc.name)
		}
	}
	c := ts.client()
	c.login("tom", testPassword, totp.Code(secret, totp.StepAt(time.Now())+1, 6))
	if !c.signedIn() {
		t.Error("tom with a good code is not signed in")
	}
	recs, _ := ts.Store.AuditRecords(context.Background(), store.AuditFilter{Action: "auth.login"})
	denied := 0
	for _, r := range recs {
		if strings.HasPrefix(r.Outcome, "denied") {
			denied++
		}
	}
	if denied < 4 {
		t.Errorf("%d refused sign-ins in the audit log, want at least 4", denied)
	}
}

func TestLoginRateLimitPerAccountAndPerAddress(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ts.addUser("alice", store.RoleViewer)
	c := ts.client()
	for i := 0; i < loginFailPerAccount; i++ {
		if p := c.tryLogin("alice", "wrong password here", ""); p.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d", i+1, p.Status)
		}
	}
	p := c.tryLogin("alice", testPassword, "")
	if p.Status != http.StatusTooManyRequests || !strings.Contains(p.Body, "Too many failed sign-in attempts") || p.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d failures even the right password: status %d, want 429 with a message", loginFailPerAccount, p.Status)
	}
	if c.signedIn() {
		t.Fatal("a held-back account got a session")
	}
	// The address limit: failures spread over many accounts from one address.
	for i := 0; i < loginFailPerAddress; i++ {
		c.tryLogin("ghost"+string(rune('a'+i)), "wrong password here", "")
	}
	ts.addUser("bob", store.RoleViewer)
	if p := c.tryLogin("bob", testPassword, ""); p.Status != http.StatusTooManyRequests {
		t.Errorf("a fresh account from a noisy address: status %d, want 429", p.Status)
	}
}

func TestRateLimitWindowPasses(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := newLoginLimiter(func() time.Time { return now })
	for i := 0; i < loginFailPerAccount; i++ {
		l.fail("alice", "10.0.0.1")
	}
	if w := l.retryAfter("Alice", "10.0.0.2"); w <= 0 || w > loginWindow {
		t.Fatalf("retryAfter = %v, want within the window (usernames are case-insensitive)", w)
	}
	now = now.Add(loginWindow + time.Second)
	if w := l.retryAfter("alice", "10.0.0.1"); w != 0 {
		t.Errorf("after the window: retryAfter = %v, want 0", w)
	}
}

func TestFirstAdminThroughSetupLinkOnly(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ctx := context.Background()
	token, err := ts.Store.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client()
	if p := c.get("/setup?token=wrong"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "not valid") {
		t.Errorf("bad setup link: status %d", p.Status)
	}
	c.get("/setup?token=" + token)
	weak := c.post("/setup", url.Values{"token": {token}, "username": {"root"}, "password": {"short"}, "password_confirm": {"short"}})
	if weak.Status != http.StatusUnprocessableEntity || !strings.Contains(weak.Body, "at least 12 characters") {
		t.Errorf("weak password: status %d", weak.Status)
	}
	ok := c.post("/setup", url.Values{"token": {token}, "username": {"root"}, "password": {testPassword}, "password_confirm": {testPassword}})
	if ok.Status != http.StatusSeeOther || !c.signedIn() {
		t.Fatalf("setup: status %d", ok.Status)
	}
	u, _ := ts.Store.UserByName(ctx, "root")
	if u.Role != store.RoleAdmin {
		t.Errorf("first user role %s", u.Role)
	}
	other := ts.client()
	p := other.get("/setup?token=" + token)
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "already used") {
		t.Errorf("reused setup link: status %d", p.Status)
	}
	p = other.post("/setup", url.Values{"token": {token}, "username": {"second"}, "password": {testPassword}, "password_confirm": {testPassword}})
	if p.Status != http.StatusForbidden {
		t.Errorf("posting a reused setup link: status %d", p.Status)
	}
	if n, _ := ts.Store.CountUsers(ctx); n != 1 {
		t.Errorf("%d users after a reused link, want 1", n)
	}
}

func TestTamperedSessionCookieIsNotASession(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	c := ts.signedIn("alice", store.RoleAdmin)
	u, _ := url.Parse(ts.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "berth_session" {
			ck.Value = ck.Value[:len(ck.Value)-2] + "xx"
			c.http.Jar.SetCookies(u, []*http.Cookie{ck})
		}
	}
	if p := c.get("/team"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
		t.Errorf("tampered cookie: status %d to %q, want a redirect to sign in", p.Status, p.Location)
	}
}

func TestSessionsEndWhenUserIsDisabledOrPasswordReset(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ts.addUser("admin1", store.RoleAdmin)
	bob := ts.addUser("bob", store.RoleOperator)
	admin, b := ts.client(), ts.client()
	admin.login("admin1", testPassword, "")
	b.login("bob", testPassword, "")
	admin.get("/team")
	admin.post("/team/"+itoa(bob.ID)+"/password", url.Values{"password": {"a new long passphrase"}})
	if b.signedIn() {
		t.Error("bob's session survived a password reset")
	}
	b.login("bob", "a new long passphrase", "")
	admin.get("/team")
	admin.post("/team/"+itoa(bob.ID)+"/disabled", url.Values{"disabled": {"true"}})
	if b.signedIn() {
		t.Error("bob's session survived being disabled")
	}
}
