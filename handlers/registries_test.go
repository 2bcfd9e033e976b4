package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
)

func TestRegistryCredentialsAreSealedAndTestedThroughTheEngine(t *testing.T) {
	s := newSwarmServer(t)
	reg := enginetest.StartRegistry(t, map[string]string{"ci-bot": "reg-pass-4f1d9a"})
	const password = "reg-pass-4f1d9a"
	s.op.get("/registries")
	for _, tc := range []struct{ url, field, message string }{
		{"https://" + reg.Host + "/team", "url", "Leave out the scheme"},
		{reg.Host + "/te am", "url", "cannot contain spaces"},
		{"", "url", "Enter the registry"},
	} {
		p := s.op.post("/registries", url.Values{"url": {tc.url}, "username": {"ci-bot"}, "password": {password}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="`+tc.field+`-error"`) || !strings.Contains(p.Body, tc.message) {
			t.Errorf("url %q: %d, want %q next to the field", tc.url, p.Status, tc.message)
		}
		if strings.Contains(p.Body, password) {
			t.Error("a refused form echoes the password")
		}
	}
	if p := s.op.post("/registries", url.Values{"url": {reg.Host + "/team"}, "username": {"ci-bot"}, "password": {password}}); p.Status != http.StatusSeeOther {
		t.Fatalf("add credential: %d %s", p.Status, p.Body)
	}
	page := s.op.get("/registries")
	id := regexp.MustCompile(`id="credential-(\d+)"`).FindStringSubmatch(page.Body)
	if id == nil || strings.Contains(page.Body, password) {
		t.Fatalf("registries page: credential listed %v, password shown %v", id != nil, strings.Contains(page.Body, password))
	}
	test := s.op.post("/registries/"+id[1]+"/test", nil)
	if !strings.Contains(test.Body, `id="test-result">The registry answered: Login Succeeded`) {
		t.Errorf("test of a good credential: %s", between(test.Body, `id="test-result">`, "<"))
	}
	if got := reg.UsernamesFor("/v2/"); len(got) == 0 || got[0] != "ci-bot" {
		t.Errorf("the registry saw logins %v", got)
	}
	s.op.get("/registries")
	s.op.post("/registries/"+id[1]+"/password", url.Values{"username": {"ci-bot"}, "password": {"a-wrong-password"}})
	bad := s.op.post("/registries/"+id[1]+"/test", nil)
	if !strings.Contains(bad.Body, `id="test-result">The registry refused:`) || !strings.Contains(bad.Body, "401 Unauthorized") {
		t.Errorf("test of a wrong password: %s", between(bad.Body, `id="test-result">`, "</div>"))
	}
	// The API never returns a password either.
	var creds []APICredential
	r := s.api(t, s.token, http.MethodGet, "/api/v1/registries", nil)
	r.decode(t, &creds)
	if len(creds) != 1 || creds[0].URL != reg.Host+"/team" || strings.Contains(r.Body, "password") {
		t.Errorf("API registries: %s", r.Body)
	}
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/registries/"+id[1]+"/test", nil); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "refused") {
		t.Errorf("API test of a wrong password: %d %s", r.Status, r.Body)
	}
	if r := s.api(t, s.token, http.MethodPut, "/api/v1/registries/"+id[1], map[string]string{"username": "ci-bot", "password": password}); r.Status != http.StatusOK {
		t.Errorf("API replace: %d %s", r.Status, r.Body)
	}
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/registries/"+id[1]+"/test", nil); r.Status != http.StatusOK || !strings.Contains(r.Body, "Login Succeeded") {
		t.Errorf("API test after replace: %d %s", r.Status, r.Body)
	}
	recs, _ := s.Store.AuditRecords(context.Background(), store.AuditFilter{Action: "registry."})
	if len(recs) < 5 {
		t.Errorf("%d registry audit records", len(recs))
	}
	s.Close()
	if dbFilesContain(t, s.Data, []byte(password)) || dbFilesContain(t, s.Data, []byte("a-wrong-password")) {
		t.Error("the database holds a registry password in clear")
	}
	if strings.Contains(s.Log.String(), password) {
		t.Error("the log holds a registry password")
	}
}

func TestPullUsesTheDeployersLongestPrefixCredential(t *testing.T) {
	s := newSwarmServer(t)
	reg := enginetest.StartRegistry(t, map[string]string{
		"alice-team": "pw-team-1", "alice-app": "pw-app-2", "bob-app": "pw-bob-3",
	})
	alice := s.op // the operator "op" plays alice
	bob := s.signedIn("bob", store.RoleOperator)
	add := func(c *client, u, user, pw string) {
		c.get("/registries")
		if p := c.post("/registries", url.Values{"url": {u}, "username": {user}, "password": {pw}}); p.Status != http.StatusSeeOther {
			t.Fatalf("add %s: %d %s", u, p.Status, p.Body)
		}
	}
	add(alice, reg.Host+"/team", "alice-team", "pw-team-1")
	add(alice, reg.Host+"/team/app", "alice-app", "pw-app-2")
	add(bob, reg.Host+"/team/app", "bob-app", "pw-bob-3")

	pull := func(c *client, image string) page {
		c.get("/registries")
		return c.post("/registries/pull", url.Values{"image": {image}})
	}
	// The stand-in serves no images: the pull fails after the login, which is what is checked.
	p := pull(alice, reg.Host+"/team/app/web:1.0")
	if !strings.Contains(p.Body, "with your credential for "+reg.Host+"/team/app") {
		t.Errorf("alice's pull of team/app/web does not name the team/app credential: %s", between(p.Body, `id="image-error">`, "<"))
	}
	if got := reg.UsernamesFor("/v2/team/app/web/"); len(got) == 0 || got[len(got)-1] != "alice-app" {
		t.Errorf("the registry saw %v for team/app/web, want alice-app", got)
	}
	pull(alice, reg.Host+"/team/worker:2")
	if got := reg.UsernamesFor("/v2/team/worker/"); len(got) == 0 || got[len(got)-1] != "alice-team" {
		t.Errorf("the registry saw %v for team/worker, want alice-team", got)
	}
	pull(bob, reg.Host+"/team/app/web:1.0")
	if got := reg.UsernamesFor("/v2/team/app/web/"); got[len(got)-1] != "bob-app" {
		t.Errorf("bob's pull went with %v, want bob-app", got)
	}
	if p := pull(bob, reg.Host+"/team/worker:2"); !strings.Contains(p.Body, "anonymously") {
		t.Error("bob has no credential for team/worker but the pull did not say anonymously")
	}
	if p := pull(alice, "Not A Reference!"); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="image-error"`) {
		t.Errorf("bad image reference: %d", p.Status)
	}
}
