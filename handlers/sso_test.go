package handlers

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/chromedp/chromedp"
	jose "github.com/go-jose/go-jose/v4"
)

// ssoBrowserSignIn signs in through the provider's own login page in Chromium and waits for where it lands.
func ssoBrowserSignIn(t *testing.T, b *browserTab, base, username, password, landsOn string) {
	t.Helper()
	b.do(t, "sign in through the provider as "+username,
		chromedp.Navigate(base+"/login"),
		chromedp.Click(chromedp.CSS("#sso-sign-in")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login/username"] #password`)),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login/username"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(landsOn)),
	)
}

// ssoHTTPCode drives a sign-in at the provider without a browser, for the client given, and returns the
// code and state it sends back to the redirect URI; start is the authorization URL to begin at.
func ssoHTTPCode(t *testing.T, cl *http.Client, start, username, password string) (code, state string) {
	t.Helper()
	loc := start
	for i := 0; i < 10; i++ {
		res, err := cl.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusOK && strings.Contains(string(body), `action="/login/username"`):
			id := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(string(body))
			if id == nil {
				t.Fatalf("no request id on the provider's login page:\n%s", body)
			}
			base := res.Request.URL.Scheme + "://" + res.Request.URL.Host
			res, err = cl.PostForm(base+"/login/username", url.Values{"id": {id[1]}, "username": {username}, "password": {password}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			loc = res.Request.URL.ResolveReference(must(res.Location()).value(t)).String()
		case res.StatusCode >= 300 && res.StatusCode < 400:
			next := res.Request.URL.ResolveReference(must(res.Location()).value(t))
			if next.Query().Get("code") != "" {
				return next.Query().Get("code"), next.Query().Get("state")
			}
			loc = next.String()
		default:
			t.Fatalf("the provider answered %d at %s:\n%s", res.StatusCode, loc, body)
		}
	}
	t.Fatal("no code after ten steps")
	return "", ""
}

// noFollow is an HTTP client with its own cookies that stops at every redirect.
func noFollow(t *testing.T) *http.Client {
	jar := must(cookiejar.New(nil)).value(t)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// startAtBerth begins a sign-in through the provider at Berth and returns the authorization URL it sent the browser to.
func startAtBerth(t *testing.T, cl *http.Client, base string) string {
	t.Helper()
	res, err := cl.Get(base + "/auth/sso")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", res.StatusCode)
	}
	return must(res.Location()).value(t).String()
}

// callBack hands Berth's callback a code and state and returns the status and page.
func callBack(t *testing.T, cl *http.Client, base, code, state string) (int, string) {
	t.Helper()
	res, err := cl.Get(base + "/auth/sso/callback?" + url.Values{"code": {code}, "state": {state}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// signedInAt says whether the client's Berth session reaches the account page.
func signedInAt(t *testing.T, cl *http.Client, base string) bool {
	res, err := cl.Get(base + "/account")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

func TestTeamMembersSignInThroughTheProviderWithTheRoleTheirGroupGives(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	admin := s.signedIn("ssoadmin", store.RoleAdmin)
	alice := enginetest.OIDCUser{ID: "u-alice", Username: "alice", Password: "alice-pass-4k2", Email: "alice@example.com", Groups: []string{"platform"}}
	bob := enginetest.OIDCUser{ID: "u-bob", Username: "bob", Password: "bob-pass-8q1", Email: "bob@example.com", Groups: []string{"auditors"}}
	carol := enginetest.OIDCUser{ID: "u-carol", Username: "carol", Password: "carol-pass-3z7", Email: "carol@example.com", Groups: []string{"marketing"}}
	prov := enginetest.StartOIDC(t, s.URL+"/auth/sso/callback", alice, bob, carol)

	step(t, "an admin sets the provider up; the secret is sealed and never shown", func(t *testing.T) {
		admin.get("/settings/sso")
		bad := admin.post("/settings/sso", url.Values{"issuer": {"ftp://x"}, "client_id": {""}, "roles": {"platform = root"}, "max_hours": {"8"}})
		if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `id="issuer-error"`) || !strings.Contains(bad.Body, `id="roles-error"`) {
			t.Errorf("bad settings: %d %s", bad.Status, truncate(bad.Body, 400))
		}
		p := admin.post("/settings/sso", url.Values{"name": {"Acme login"}, "issuer": {prov.Issuer}, "client_id": {prov.ClientID}, "client_secret": {prov.ClientSecret},
			"scopes": {"profile email groups offline_access"}, "groups_claim": {"groups"}, "roles": {"platform = operator\nauditors = viewer\nberth-admins = admin"},
			"create_users": {"true"}, "max_hours": {"8"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", p.Status, truncate(p.Body, 400))
		}
		page := admin.get("/settings/sso")
		if !strings.Contains(page.Body, "The provider answered") || strings.Contains(page.Body, prov.ClientSecret) {
			t.Errorf("the settings page: %s", truncate(between(page.Body, `id="sso-notice"`, `</div>`), 300))
		}
		raw := must(s.Store.Setting(ctx, "sso", "")).value(t)
		if raw == "" || strings.Contains(raw, prov.ClientSecret) {
			t.Errorf("the stored settings hold the secret in the clear: %s", raw)
		}
		recs := must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "settings.sso"})).value(t)
		if len(recs) == 0 || strings.Contains(recs[0].Detail, prov.ClientSecret) || !strings.Contains(recs[0].Detail, prov.Issuer) {
			t.Errorf("audit: %+v", recs)
		}
	})

	step(t, "in Chromium each signs in on the provider's page and lands with their group's role; a user in no mapped group is refused", func(t *testing.T) {
		for _, tc := range []struct {
			user enginetest.OIDCUser
			role string
		}{{alice, "operator"}, {bob, "viewer"}} {
			b := newBrowser(t)
			ssoBrowserSignIn(t, b, s.URL, tc.user.Username, tc.user.Password, "#environment")
			b.do(t, "open the account page", chromedp.Navigate(s.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#account-username")))
			if got := b.text(t, "#account-username"); got != tc.user.Username {
				t.Errorf("signed in as %q, want %q", got, tc.user.Username)
			}
			u := must(s.Store.UserByName(ctx, tc.user.Username)).value(t)
			if string(u.Role) != tc.role || !u.SSO || u.TOTPEnabled {
				t.Errorf("%s: role %s, provider user %v", tc.user.Username, u.Role, u.SSO)
			}
			b.requireCleanConsole(t)
		}
		b := newBrowser(t)
		ssoBrowserSignIn(t, b, s.URL, carol.Username, carol.Password, "#login-error")
		if msg := b.text(t, "#login-error"); !strings.Contains(msg, "in no group that gives a role") || !strings.Contains(msg, "marketing") {
			t.Errorf("carol's refusal: %q", msg)
		}
		if _, err := s.Store.UserByName(ctx, "carol"); err == nil {
			t.Error("an account was made for a user in no mapped group")
		}
		team := admin.get("/team")
		if row := between(team.Body, `id="member-alice"`, `</tr>`); !strings.Contains(row, "through the identity provider") || !strings.Contains(row, "from the provider's groups") {
			t.Errorf("the Team page's row for alice: %s", row)
		}
		if row := between(team.Body, `id="member-ssoadmin"`, `</tr>`); !strings.Contains(row, "local password") {
			t.Errorf("the Team page's row for the local admin: %s", row)
		}
	})

	step(t, "a group changed at the provider changes the role at the next sign-in, audited", func(t *testing.T) {
		alice.Groups = []string{"auditors"}
		prov.SetUsers(t, alice, bob, carol)
		cl := noFollow(t)
		code, state := ssoHTTPCode(t, cl, startAtBerth(t, cl, s.URL), alice.Username, alice.Password)
		if status, body := callBack(t, cl, s.URL, code, state); status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d %s", status, truncate(body, 300))
		}
		if u := must(s.Store.UserByName(ctx, "alice")).value(t); u.Role != store.RoleViewer {
			t.Errorf("alice is %s after moving to auditors", u.Role)
		}
		recs := must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "user.role"})).value(t)
		if len(recs) == 0 || recs[0].Object != "user:alice" || !strings.Contains(recs[0].Detail, "operator -> viewer") {
			t.Errorf("audit of the role change: %+v", recs)
		}
	})

	step(t, "a provider user's session ends after the longest session the settings allow", func(t *testing.T) {
		cl := noFollow(t)
		code, state := ssoHTTPCode(t, cl, startAtBerth(t, cl, s.URL), alice.Username, alice.Password)
		if status, _ := callBack(t, cl, s.URL, code, state); status != http.StatusSeeOther || !signedInAt(t, cl, s.URL) {
			t.Fatalf("sign-in: %d", status)
		}
		s.handler.ssoSkew.Store(int64(7 * time.Hour))
		still := signedInAt(t, cl, s.URL)
		s.handler.ssoSkew.Store(int64(9 * time.Hour))
		over := !signedInAt(t, cl, s.URL)
		s.handler.ssoSkew.Store(0)
		if !still || !over {
			t.Errorf("8-hour sessions: at 7 h signed in %v, at 9 h ended %v", still, over)
		}
		if signedInAt(t, cl, s.URL) {
			t.Error("the ended session came back")
		}
		if !admin.signedIn() {
			t.Error("the local admin's session ended with it")
		}
	})

	step(t, "an admin from the provider cannot take away the last local admin, nor set a provider user's role by hand", func(t *testing.T) {
		alice.Groups = []string{"berth-admins"}
		prov.SetUsers(t, alice, bob, carol)
		cl := s.client()
		code, state := ssoHTTPCode(t, cl.http, startAtBerth(t, cl.http, s.URL), alice.Username, alice.Password)
		if status, _ := callBack(t, cl.http, s.URL, code, state); status != http.StatusSeeOther {
			t.Fatalf("alice as admin: %d", status)
		}
		local := must(s.Store.UserByName(ctx, "ssoadmin")).value(t)
		cl.get("/team")
		if p := cl.post("/team/"+strconv.FormatInt(local.ID, 10)+"/disabled", url.Values{"disabled": {"true"}, "confirmed": {"yes"}}); p.Status != http.StatusConflict || !strings.Contains(p.Body, "last local admin") {
			t.Errorf("disabling the last local admin: %d %s", p.Status, truncate(p.Body, 300))
		}
		if p := cl.post("/team/"+strconv.FormatInt(local.ID, 10)+"/role", url.Values{"role": {"viewer"}}); p.Status != http.StatusConflict {
			t.Errorf("demoting the last local admin: %d", p.Status)
		}
		if u := must(s.Store.UserByName(ctx, "ssoadmin")).value(t); u.Disabled || u.Role != store.RoleAdmin {
			t.Errorf("the local admin changed: %+v", u)
		}
		bobUser := must(s.Store.UserByName(ctx, "bob")).value(t)
		admin.get("/team")
		if p := admin.post("/team/"+strconv.FormatInt(bobUser.ID, 10)+"/role", url.Values{"role": {"admin"}}); p.Status != http.StatusConflict || !strings.Contains(p.Body, "follows their groups") {
			t.Errorf("a provider user's role by hand: %d %s", p.Status, truncate(p.Body, 300))
		}
	})

	step(t, "refused: a wrong state, a replayed code, an ID token for another audience, one signed by another key, an expired one", func(t *testing.T) {
		before := len(must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "auth.sso"})).value(t))
		cl := noFollow(t)
		code, _ := ssoHTTPCode(t, cl, startAtBerth(t, cl, s.URL), bob.Username, bob.Password)
		if status, body := callBack(t, cl, s.URL, code, "not-the-state"); status != http.StatusBadRequest || !strings.Contains(body, "was not started here") {
			t.Errorf("wrong state: %d %s", status, truncate(between(body, `id="login-error"`, `</div>`), 300))
		}
		// The code was never redeemed: a fresh start (a state Berth knows) with a code used once already.
		cl = noFollow(t)
		code, state := ssoHTTPCode(t, cl, startAtBerth(t, cl, s.URL), bob.Username, bob.Password)
		if status, _ := callBack(t, cl, s.URL, code, state); status != http.StatusSeeOther {
			t.Fatalf("a good sign-in: %d", status)
		}
		cl2 := noFollow(t)
		auth := startAtBerth(t, cl2, s.URL)
		if status, body := callBack(t, cl2, s.URL, code, must(url.Parse(auth)).value(t).Query().Get("state")); status != http.StatusUnauthorized || !strings.Contains(body, "refused the sign-in code") {
			t.Errorf("replayed code: %d %s", status, truncate(between(body, `id="login-error"`, `</div>`), 300))
		}
		if signedInAt(t, cl2, s.URL) {
			t.Error("a replayed code made a session")
		}

		// Tokens a man in the middle swaps into the provider's answer.
		other := noFollow(t)
		otherAuth := prov.Issuer + "auth?" + url.Values{"client_id": {"other-app"}, "redirect_uri": {s.URL + "/auth/sso/callback"}, "response_type": {"code"},
			"scope": {"openid groups"}, "state": {"x"}}.Encode()
		otherCode, _ := ssoHTTPCode(t, other, otherAuth, bob.Username, bob.Password)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {otherCode}, "redirect_uri": {s.URL + "/auth/sso/callback"}}
		req, _ := http.NewRequest(http.MethodPost, prov.Issuer+"oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("other-app", "other-secret")
		res := must(http.DefaultClient.Do(req)).value(t)
		var otherTok struct {
			IDToken string `json:"id_token"`
		}
		json.NewDecoder(res.Body).Decode(&otherTok)
		res.Body.Close()
		if otherTok.IDToken == "" {
			t.Fatal("no ID token for the other client")
		}
		key := must(rsa.GenerateKey(rand.Reader, 2048)).value(t)
		resign := func(idToken string) string {
			parts := strings.Split(idToken, ".")
			payload := must(base64.RawURLEncoding.DecodeString(parts[1])).value(t)
			signer := must(jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "key1"))).value(t)
			return must(must(signer.Sign(payload)).value(t).CompactSerialize()).value(t)
		}
		for _, tc := range []struct {
			name   string
			tamper func(string) string
			clock  time.Duration
			says   string
		}{
			{"an ID token for another audience", func(string) string { return otherTok.IDToken }, 0, "audience"},
			{"an ID token signed by another key", resign, 0, "signature"},
			{"an expired ID token", nil, 3 * time.Hour, "expired"},
		} {
			prov.Tamper(tc.tamper)
			if tc.clock != 0 {
				s.handler.ssoSkew.Store(int64(tc.clock))
			}
			cl := noFollow(t)
			code, state := ssoHTTPCode(t, cl, startAtBerth(t, cl, s.URL), bob.Username, bob.Password)
			status, body := callBack(t, cl, s.URL, code, state)
			prov.Tamper(nil)
			s.handler.ssoSkew.Store(0)
			if msg := between(body, `id="login-error"`, `</div>`); status != http.StatusUnauthorized || !strings.Contains(msg, "did not check out") || !strings.Contains(msg, tc.says) {
				t.Errorf("%s: %d %s", tc.name, status, truncate(msg, 300))
			}
			if signedInAt(t, cl, s.URL) {
				t.Errorf("%s made a session", tc.name)
			}
		}
		if after := len(must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "auth.sso"})).value(t)); after-before != 5 {
			t.Errorf("%d refusals audited, want 5", after-before)
		}
	})

	step(t, "a re-check disables a user the provider no longer knows and revokes their API tokens", func(t *testing.T) {
		u := must(s.Store.UserByName(ctx, "bob")).value(t)
		token, _, err := s.Store.CreateAPIToken(ctx, u.ID, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if r := s.api(t, token, http.MethodGet, "/api/v1/services", nil); r.Status != http.StatusOK {
			t.Fatalf("bob's token before: %d", r.Status)
		}
		bobs := noFollow(t)
		code, state := ssoHTTPCode(t, bobs, startAtBerth(t, bobs, s.URL), bob.Username, bob.Password)
		if status, _ := callBack(t, bobs, s.URL, code, state); status != http.StatusSeeOther || !signedInAt(t, bobs, s.URL) {
			t.Fatalf("bob's session before: %d", status)
		}
		prov.SetUsers(t, alice, carol)
		admin.get("/settings/sso")
		p := admin.post("/settings/sso/recheck", nil)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("re-check: %d %s", p.Status, truncate(p.Body, 300))
		}
		notice := between(admin.get("/settings/sso").Body, `id="sso-notice"`, `</div>`)
		if !strings.Contains(notice, "1 disabled") {
			t.Errorf("re-check notice: %s", notice)
		}
		if u := must(s.Store.UserByName(ctx, "bob")).value(t); !u.Disabled {
			t.Error("bob is still enabled")
		}
		if u := must(s.Store.UserByName(ctx, "alice")).value(t); u.Disabled {
			t.Error("alice was disabled")
		}
		if r := s.api(t, token, http.MethodGet, "/api/v1/services", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("bob's token after: %d", r.Status)
		}
		if signedInAt(t, bobs, s.URL) {
			t.Error("bob's session outlived the re-check")
		}
		recs := must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "user.disable"})).value(t)
		if len(recs) == 0 || recs[0].Object != "user:bob" || recs[0].Actor != "ssoadmin" || !strings.Contains(recs[0].Detail, "1 API tokens revoked") {
			t.Errorf("audit of the re-check: %+v", recs)
		}
	})

	step(t, "the settings' refusals: local passwords for admins only, no account made for someone new, and no Berth two-factor for provider users", func(t *testing.T) {
		s.addUser("localop", store.RoleOperator)
		admin.get("/settings/sso")
		if p := admin.post("/settings/sso", url.Values{"name": {"Acme login"}, "issuer": {prov.Issuer}, "client_id": {prov.ClientID},
			"scopes": {"profile email groups offline_access"}, "groups_claim": {"groups"}, "roles": {"platform = operator\nauditors = viewer\nberth-admins = admin"},
			"local_admins_only": {"true"}, "max_hours": {"8"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", p.Status, truncate(p.Body, 300))
		}
		if p := s.client().tryLogin("localop", testPassword, ""); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "local passwords are for admins only") {
			t.Errorf("a local operator with local sign-in for admins only: %d %s", p.Status, truncate(between(p.Body, `id="login-error"`, `</div>`), 200))
		}
		dave := enginetest.OIDCUser{ID: "u-dave", Username: "dave", Password: "dave-pass-6y2", Email: "dave@example.com", Groups: []string{"platform"}}
		prov.SetUsers(t, alice, carol, dave)
		cl := noFollow(t)
		code, state := ssoHTTPCode(t, cl, startAtBerth(t, cl, s.URL), dave.Username, dave.Password)
		if status, body := callBack(t, cl, s.URL, code, state); status != http.StatusForbidden || !strings.Contains(body, "no Berth account yet") {
			t.Errorf("someone new without account creation: %d %s", status, truncate(between(body, `id="login-error"`, `</div>`), 200))
		}
		if _, err := s.Store.UserByName(ctx, "dave"); err == nil {
			t.Error("an account was made for dave")
		}
		// alice (an admin through the provider, no Berth two-factor) reaches her pages though two-factor is required.
		if err := s.Store.SetSetting(ctx, store.SettingRequire2FA, "true"); err != nil {
			t.Fatal(err)
		}
		defer s.Store.SetSetting(ctx, store.SettingRequire2FA, "false")
		cl = noFollow(t)
		code, state = ssoHTTPCode(t, cl, startAtBerth(t, cl, s.URL), alice.Username, alice.Password)
		if status, _ := callBack(t, cl, s.URL, code, state); status != http.StatusSeeOther {
			t.Fatalf("alice: %d", status)
		}
		res := must(cl.Get(s.URL + "/services")).value(t)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("alice with two-factor required: %d to %s", res.StatusCode, res.Header.Get("Location"))
		}
	})

	step(t, "with the provider down the sign-in page says so and local sign-in still works", func(t *testing.T) {
		prov.Stop()
		s.handler.providers.forget()
		page := s.client().get("/login")
		if msg := between(page.Body, `id="sso-unavailable"`, `</div>`); !strings.Contains(msg, "not available") || strings.Contains(page.Body, `id="sso-sign-in"`) {
			t.Errorf("the sign-in page with the provider down: %s", truncate(msg, 300))
		}
		local := s.client()
		local.login("ssoadmin", testPassword, "")
		if !local.signedIn() {
			t.Error("the local admin cannot sign in")
		}
	})
}
