package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/berthhq/berth/store"
)

func TestTeamBadInputChangesNothing(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ts.addUser("admin1", store.RoleAdmin)
	ts.addUser("taken", store.RoleViewer)
	c := ts.client()
	c.login("admin1", testPassword, "")
	c.get("/team")
	for _, tc := range []struct {
		name           string
		form           url.Values
		field, message string
	}{
		{"empty username", url.Values{"username": {""}, "role": {"viewer"}, "password": {testPassword}}, "username", "Enter a username."},
		{"over-long username", url.Values{"username": {strings.Repeat("a", 33)}, "role": {"viewer"}, "password": {testPassword}}, "username", "at most 32 characters"},
		{"bad characters", url.Values{"username": {"Bad Name"}, "role": {"viewer"}, "password": {testPassword}}, "username", "lower-case letters"},
		{"bad role", url.Values{"username": {"newbie"}, "role": {"root"}, "password": {testPassword}}, "role", "Choose viewer, operator or admin."},
		{"duplicate", url.Values{"username": {"taken"}, "role": {"viewer"}, "password": {testPassword}}, "username", "already has this username"},
		{"weak password", url.Values{"username": {"newbie"}, "role": {"viewer"}, "password": {"abc"}}, "password", "at least 12 characters"},
	} {
		before, _ := ts.Store.Users(context.Background())
		p := c.post("/team", tc.form)
		if p.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", tc.name, p.Status)
		}
		// The message sits next to its field.
		if !strings.Contains(p.Body, `id="`+tc.field+`-error">`) || !strings.Contains(p.Body, tc.message) {
			t.Errorf("%s: no %q next to the %s field", tc.name, tc.message, tc.field)
		}
		after, _ := ts.Store.Users(context.Background())
		if len(after) != len(before) {
			t.Errorf("%s: a user was created", tc.name)
		}
	}
	p := c.post("/team", url.Values{"username": {"newbie"}, "role": {"operator"}, "password": {testPassword}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("valid member: status %d", p.Status)
	}
	if page := c.get("/team"); !strings.Contains(page.Body, "Added newbie as operator.") || !strings.Contains(page.Body, `id="member-newbie"`) {
		t.Error("the Team page does not show the new member and the notice")
	}
	newbie, _ := ts.Store.UserByName(context.Background(), "newbie")
	if p := c.post("/team/"+itoa(newbie.ID)+"/role", url.Values{"role": {"superuser"}}); p.Status != http.StatusUnprocessableEntity {
		t.Errorf("bad role change: status %d", p.Status)
	}
	c.post("/team/"+itoa(newbie.ID)+"/role", url.Values{"role": {"admin"}})
	if u, _ := ts.Store.User(context.Background(), newbie.ID); u.Role != store.RoleAdmin {
		t.Errorf("role after change: %s", u.Role)
	}
	self, _ := ts.Store.UserByName(context.Background(), "admin1")
	if p := c.post("/team/"+itoa(self.ID)+"/disabled", url.Values{"disabled": {"true"}}); p.Status != http.StatusBadRequest {
		t.Errorf("an admin disabling themself: status %d, want 400", p.Status)
	}
	recs, _ := ts.Store.AuditRecords(context.Background(), store.AuditFilter{Actor: "admin1", Action: "user."})
	if len(recs) != 2 || recs[0].Action != "user.role" || recs[1].Action != "user.create" || recs[0].Source != "127.0.0.1" {
		t.Errorf("audit of team changes: %+v", recs)
	}
}

func TestAPITokensShownOnceAndOwnOnly(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	alice := ts.addUser("alice", store.RoleOperator)
	bob := ts.addUser("bob", store.RoleViewer)
	_, bobTok, _ := ts.Store.CreateAPIToken(context.Background(), bob.ID, "bob-ci")
	c := ts.client()
	c.login("alice", testPassword, "")
	c.get("/account")
	if p := c.post("/account/tokens", url.Values{"name": {""}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="name-error"`) {
		t.Errorf("blank token name: status %d", p.Status)
	}
	p := c.post("/account/tokens", url.Values{"name": {"pipeline"}})
	token := between(p.Body, `id="new-token">`, "<")
	if !strings.HasPrefix(token, "berth_") {
		t.Fatalf("new token not shown: %q", token)
	}
	if again := c.get("/account"); strings.Contains(again.Body, token) {
		t.Error("the token is shown a second time")
	}
	api := func(tok string) page {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/me", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return c.do(req)
	}
	if me := api(token); me.Status != http.StatusOK || !strings.Contains(me.Body, `"username":"alice"`) || !strings.Contains(me.Body, `"role":"operator"`) {
		t.Errorf("/api/v1/me: %d %s", me.Status, me.Body)
	}
	if bad := api("berth_wrong"); bad.Status != http.StatusUnauthorized || !strings.Contains(bad.Body, `"error":`) {
		t.Errorf("wrong token: %d %s", bad.Status, bad.Body)
	}
	if none := api(""); none.Status != http.StatusUnauthorized || !strings.Contains(none.Body, `"error":`) {
		t.Errorf("no token: %d %s", none.Status, none.Body)
	}
	// Alice cannot revoke Bob's token, and it keeps working.
	c.get("/account")
	if p := c.post("/account/tokens/"+itoa(bobTok.ID)+"/revoke", nil); p.Status != http.StatusNotFound {
		t.Errorf("revoking another user's token: status %d, want 404", p.Status)
	}
	if _, _, err := ts.Store.UserByAPIToken(context.Background(), "x"); err == nil {
		t.Fatal("lookup of a made-up token succeeded")
	}
	toks, _ := ts.Store.APITokens(context.Background(), bob.ID)
	if len(toks) != 1 || !toks[0].RevokedAt.IsZero() {
		t.Error("bob's token was revoked by alice")
	}
	mine, _ := ts.Store.APITokens(context.Background(), alice.ID)
	c.get("/account")
	c.post("/account/tokens/"+itoa(mine[0].ID)+"/revoke", nil)
	if me := api(token); me.Status != http.StatusUnauthorized {
		t.Errorf("revoked token still answers %d", me.Status)
	}
}

// between returns the text after start up to the next end.
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

func TestAdminResetsLostTwoFactor(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ts.addUser("admin1", store.RoleAdmin)
	tom := ts.addUser("tom", store.RoleViewer)
	tc := ts.client()
	tc.login("tom", testPassword, "")
	enrolTOTP(t, tc)
	admin := ts.client()
	admin.login("admin1", testPassword, "")
	if p := admin.get("/team"); !strings.Contains(p.Body, "Reset two-factor") {
		t.Fatal("the Team page offers no two-factor reset for tom")
	}
	if p := admin.post("/team/"+itoa(tom.ID)+"/2fa/reset", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("reset: status %d", p.Status)
	}
	if tc.signedIn() {
		t.Error("tom's session survived the reset")
	}
	fresh := ts.client()
	fresh.login("tom", testPassword, "") // no code needed any more
	recs, _ := ts.Store.AuditRecords(context.Background(), store.AuditFilter{Action: "user.2fa_reset"})
	if len(recs) != 1 || recs[0].Actor != "admin1" || recs[0].Object != "user:tom" {
		t.Errorf("audit: %+v", recs)
	}
}

func TestSettingsForDomainsAndBackupsAreCheckedAndAudited(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	admin := ts.signedIn("root", store.RoleAdmin)
	admin.get("/settings")
	for _, tc := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"backup_interval_minutes": {"2"}}, "Enter a whole number from 5 to 1440."},
		{url.Values{"public_address": {"berth.example.com"}}, "Enter an IP address"},
		{url.Values{"dns_check_blocking": {"true"}, "public_address": {""}}, "Set the public address before making the DNS check blocking."},
	} {
		if r := admin.post("/settings", tc.form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tc.field) {
			t.Errorf("%v: %d, want %q", tc.form, r.Status, tc.field)
		}
	}
	if r := admin.post("/settings", url.Values{"backup_interval_minutes": {"30"}, "public_address": {"203.0.113.10"}, "dns_check_blocking": {"true"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	checks, _ := ts.Store.DomainChecks(context.Background())
	if checks.PublicAddress != "203.0.113.10" || !checks.Blocking {
		t.Errorf("domain checks saved as %+v", checks)
	}
	recs, _ := ts.Store.AuditRecords(context.Background(), store.AuditFilter{Action: "settings.update"})
	var said []string
	for _, r := range recs {
		said = append(said, r.Object+" "+r.Detail)
	}
	for _, want := range []string{"setting:backup_interval_minutes 60 -> 30", "setting:public_address  -> 203.0.113.10", "setting:dns_check_blocking false -> true"} {
		if !strings.Contains(strings.Join(said, "\n"), want) {
			t.Errorf("audit lacks %q: %v", want, said)
		}
	}
}
