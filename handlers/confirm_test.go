package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/store"
	"github.com/chromedp/chromedp"
)

// hiddenField reads the confirmation page's form back as a browser would send it.
var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)

func confirmForm(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		v.Add(m[1], m[2])
	}
	return v
}

func TestDestructiveActionsAskFirstWithoutJavaScript(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ctx := context.Background()
	admin := ts.signedIn("admin1", store.RoleAdmin)
	bob := ts.addUser("bob", store.RoleOperator)
	tok, _, err := ts.Store.CreateAPIToken(ctx, mustUser(t, ts, "admin1").ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	tokens, _ := ts.Store.APITokens(ctx, mustUser(t, ts, "admin1").ID)
	cred, err := ts.Store.CreateRegistryCredential(ctx, mustUser(t, ts, "admin1").ID, "registry.example.com", "me", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what, path string
		form       url.Values
		question   string
		done       func() bool
	}{
		{"disable a user", "/team/" + itoa(bob.ID) + "/disabled", url.Values{"disabled": {"true"}}, "Disable bob?", func() bool {
			u, _ := ts.Store.User(ctx, bob.ID)
			return u.Disabled
		}},
		{"revoke an API token", "/account/tokens/" + itoa(tokens[0].ID) + "/revoke", nil, "Revoke this API token?", func() bool {
			return ts.api(t, tok, http.MethodGet, "/api/v1/me", nil).Status == http.StatusUnauthorized
		}},
		{"delete a registry credential", "/registries/" + itoa(cred.ID) + "/delete", nil, "Delete your credential for registry.example.com?", func() bool {
			_, err := ts.Store.RegistryCredential(ctx, cred.UserID, cred.ID)
			return err != nil
		}},
	} {
		admin.get("/team")
		form := url.Values{"confirmed": {""}}
		for k, v := range tc.form {
			form[k] = v
		}
		p := admin.post(tc.path, form)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="confirm-question"`) || !strings.Contains(p.Body, tc.question) {
			t.Errorf("%s unconfirmed: %d, want a page asking %q", tc.what, p.Status, tc.question)
			continue
		}
		if tc.done() {
			t.Errorf("%s happened before it was confirmed", tc.what)
		}
		again := confirmForm(p.Body)
		if again.Get("confirmed") != "yes" || (tc.form != nil && again.Get("disabled") != tc.form.Get("disabled")) {
			t.Errorf("%s: the confirmation sends %v", tc.what, again)
		}
		if p := admin.postRaw(tc.path, again); p.Status != http.StatusSeeOther {
			t.Errorf("%s confirmed: %d", tc.what, p.Status)
		}
		if !tc.done() {
			t.Errorf("%s did not happen once confirmed", tc.what)
		}
	}
}

func mustUser(t *testing.T, ts *testServer, name string) store.User {
	t.Helper()
	u, err := ts.Store.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestBrowserDestructiveActionsAskFirstAndCancelChangesNothing(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	config, mapping := uniq("cfg"), uniq("map")
	s.mustAPI(t, s.token, http.MethodPost, "/api/v1/configs", map[string]string{"name": config, "data": "a=1"}, http.StatusCreated)
	t.Cleanup(func() { s.docker.ConfigRemove(ctx, config) })
	s.mustAPI(t, s.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": mapping}, http.StatusCreated)
	t.Cleanup(func() { s.docker.VolumeRemove(ctx, mapping, true) })
	b := newBrowser(t)
	b.signIn(t, s.URL, "op")
	answer := func(yes bool) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`window.asked = []; window.confirm = function (q) { window.asked.push(q); return ` +
			map[bool]string{true: "true", false: "false"}[yes] + `; }`)
	}
	exists := map[string]func() bool{
		"config": func() bool { _, _, err := s.docker.ConfigInspectWithRaw(ctx, config); return err == nil },
		"mapping": func() bool {
			_, err := s.Store.VolumeMapping(ctx, mapping)
			return err == nil
		},
	}
	for _, tc := range []struct {
		what, page, button, question string
	}{
		{"config", "/configs", `form[action="/configs/` + config + `/delete"] button`, "Delete config " + config + "?"},
		{"mapping", "/volumes", `form[action="/volumes/` + mapping + `/delete"] button`, "Delete mapping " + mapping},
	} {
		b.do(t, "open "+tc.page+" and say no", chromedp.Navigate(s.URL+tc.page), answer(false), chromedp.Click(chromedp.CSS(tc.button)))
		if asked := eval[[]string](t, b, `window.asked`); len(asked) != 1 || !strings.Contains(asked[0], tc.question) {
			t.Errorf("deleting the %s asked %q, want %q", tc.what, asked, tc.question)
		}
		if !exists[tc.what]() {
			t.Fatalf("the %s was deleted although the user said no", tc.what)
		}
		b.do(t, "say yes", answer(true), chromedp.Click(chromedp.CSS(tc.button)))
		b.poll(t, "the "+tc.what+" gone from the page", `!document.querySelector('`+strings.ReplaceAll(tc.button, `'`, `\'`)+`')`, 15e9)
		if exists[tc.what]() {
			t.Errorf("the %s is still there after the user said yes", tc.what)
		}
	}
	b.requireCleanConsole(t)
}

func TestAConfirmationPageNeverWritesBackASecret(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	admin := ts.signedIn("admin1", store.RoleAdmin)
	bob := ts.addUser("bob", store.RoleOperator)
	admin.get("/team")
	p := admin.post("/team/"+itoa(bob.ID)+"/disabled", url.Values{"disabled": {"true"}, "password": {"hunter2 hunter2"}, "confirmed": {""}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="confirm-question"`) {
		t.Fatalf("no confirmation page: %d", p.Status)
	}
	if strings.Contains(p.Body, "hunter2") {
		t.Error("the confirmation page wrote a password back into the page")
	}
}
