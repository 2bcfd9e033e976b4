package handlers

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/berthhq/berth/store"
	"github.com/docker/docker/api/types/swarm"
)

func TestConfigsThroughPagesAndAPI(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	typed := uniq("cfg-typed")
	uploaded := uniq("cfg-file")
	viaAPI := uniq("cfg-api")

	s.op.get("/configs")
	if p := s.op.postMultipart("/configs", map[string]string{"name": typed, "content": "listen 8080\n"}, "", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("create typed config: %d\n%s", p.Status, p.Body)
	}
	s.op.get("/configs")
	if p := s.op.postMultipart("/configs", map[string]string{"name": uploaded}, "app.ini", []byte("[db]\nhost=db\n")); p.Status != http.StatusSeeOther {
		t.Fatalf("create uploaded config: %d", p.Status)
	}
	list := s.op.get("/configs")
	for _, n := range []string{typed, uploaded} {
		if !strings.Contains(list.Body, `id="config-`+n+`"`) {
			t.Errorf("configs page lacks %s", n)
		}
	}
	for name, want := range map[string]string{typed: "listen 8080\n", uploaded: "[db]\nhost=db\n"} {
		c, _, err := s.docker.ConfigInspectWithRaw(ctx, name)
		if err != nil || string(c.Spec.Data) != want || c.Spec.Labels["berth.managed"] != "true" {
			t.Errorf("engine holds %s = %q, labels %v, err %v", name, c.Spec.Data, c.Spec.Labels, err)
		}
	}
	if view := s.op.get("/configs/" + uploaded); !strings.Contains(view.Body, "host=db") {
		t.Error("config page does not show the content")
	}

	// The API: create, read back with content, delete.
	res := s.api(t, s.token, http.MethodPost, "/api/v1/configs", map[string]string{"name": viaAPI, "data": "a=1\n"})
	if res.Status != http.StatusCreated {
		t.Fatalf("API create: %d %s", res.Status, res.Body)
	}
	var one APIObject
	s.api(t, s.token, http.MethodGet, "/api/v1/configs/"+viaAPI, nil).decode(t, &one)
	if one.Data == nil || *one.Data != "a=1\n" || one.Size == nil || *one.Size != 4 {
		t.Errorf("API config: %+v", one)
	}
	var all []APIObject
	s.api(t, s.token, http.MethodGet, "/api/v1/configs", nil).decode(t, &all)
	found := false
	for _, o := range all {
		found = found || o.Name == viaAPI
	}
	if !found {
		t.Error("API list lacks the config")
	}
	for _, n := range []string{typed, uploaded} {
		s.op.get("/configs")
		if p := s.op.post("/configs/"+n+"/delete", nil); p.Status != http.StatusSeeOther {
			t.Errorf("delete %s: %d", n, p.Status)
		}
	}
	if res := s.api(t, s.token, http.MethodDelete, "/api/v1/configs/"+viaAPI, nil); res.Status != http.StatusNoContent {
		t.Errorf("API delete: %d %s", res.Status, res.Body)
	}
	for _, n := range []string{typed, uploaded, viaAPI} {
		if _, _, err := s.docker.ConfigInspectWithRaw(ctx, n); err == nil {
			t.Errorf("%s still in the engine after delete", n)
		}
	}
	recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Action: "config."})
	if len(recs) != 6 {
		t.Errorf("%d config audit records, want 6 (3 creates, 3 deletes)", len(recs))
	}
}

func TestConfigAndSecretBadInputCreatesNothing(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	taken := uniq("taken")
	if res := s.api(t, s.token, http.MethodPost, "/api/v1/configs", map[string]string{"name": taken, "data": "x"}); res.Status != http.StatusCreated {
		t.Fatal(res.Body)
	}
	t.Cleanup(func() { s.docker.ConfigRemove(ctx, taken) })
	for _, kind := range []string{"config", "secret"} {
		big := strings.Repeat("x", 1000*1024+1)
		if kind == "secret" {
			big = strings.Repeat("x", 500*1024+1)
		}
		for _, tc := range []struct {
			name, content, field, message string
		}{
			{"bad name/with slash", "x", "name", "Use letters, digits"},
			{strings.Repeat("n", 65), "x", "name", "at most 64 characters"},
			{"-leading", "x", "name", "starting and ending with a letter or digit"},
			{"", "x", "name", "Enter a name."},
			{uniq("empty"), "", "content", "The content is empty."},
			{uniq("huge"), big, "content", "The engine accepts at most"},
		} {
			before := countObjects(t, s, kind)
			s.op.get("/" + kind + "s")
			p := s.op.postMultipart("/"+kind+"s", map[string]string{"name": tc.name, "content": tc.content}, "", nil)
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="`+tc.field+`-error"`) || !strings.Contains(p.Body, tc.message) {
				t.Errorf("%s %q: status %d, want 422 with %q next to %s", kind, trim(tc.name), p.Status, tc.message, tc.field)
			}
			res := s.api(t, s.token, http.MethodPost, "/api/v1/"+kind+"s", map[string]string{"name": tc.name, "data": tc.content})
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, `"`+map[string]string{"name": "name", "content": "data"}[tc.field]+`":`) {
				t.Errorf("API %s %q: %d %s", kind, trim(tc.name), res.Status, trim(res.Body))
			}
			if after := countObjects(t, s, kind); after != before {
				t.Errorf("%s %q: the engine holds %d objects, had %d", kind, trim(tc.name), after, before)
			}
		}
	}
	s.op.get("/configs")
	if p := s.op.postMultipart("/configs", map[string]string{"name": taken, "content": "y"}, "", nil); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "exists") {
		t.Errorf("duplicate config: %d", p.Status)
	}
	if res := s.api(t, s.token, http.MethodPost, "/api/v1/configs", map[string]string{"name": taken, "data": "y"}); res.Status != http.StatusConflict {
		t.Errorf("API duplicate: %d", res.Status)
	}
	missing := uniq("missing")
	if res := s.api(t, s.token, http.MethodGet, "/api/v1/configs/"+missing, nil); res.Status != http.StatusNotFound || !strings.Contains(res.Body, "No config named "+missing) {
		t.Errorf("API missing config: %d %s", res.Status, res.Body)
	}
	if p := s.op.get("/configs/" + missing + "/version"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "No config named "+missing) {
		t.Errorf("version page of a missing config: %d", p.Status)
	}
	if res := s.api(t, s.token, http.MethodPost, "/api/v1/secrets/"+missing+"/versions", map[string]string{"data": "x"}); res.Status != http.StatusNotFound {
		t.Errorf("rotating a missing secret: %d %s", res.Status, res.Body)
	}
}

func countObjects(t *testing.T, s *swarmServer, kind string) int {
	ctx := context.Background()
	if kind == "secret" {
		l, err := s.docker.SecretList(ctx, swarm.SecretListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	l, err := s.docker.ConfigList(ctx, swarm.ConfigListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

func trim(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func TestSecretValueIsNeverShownAnywhere(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	const typedValue = "s3cr3t-typed-Value-9c1e"
	binValue := []byte("bin\x00\xffsecret-Value-77aa")
	typed, viaAPI := uniq("sec-typed"), uniq("sec-api")

	s.op.get("/secrets")
	if p := s.op.postMultipart("/secrets", map[string]string{"name": typed, "content": typedValue}, "", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("create secret: %d %s", p.Status, p.Body)
	}
	res := s.api(t, s.token, http.MethodPost, "/api/v1/secrets", map[string]string{"name": viaAPI, "data_base64": base64.StdEncoding.EncodeToString(binValue)})
	if res.Status != http.StatusCreated {
		t.Fatalf("API create secret: %d %s", res.Status, res.Body)
	}
	var seen []string
	for _, path := range []string{"/secrets", "/secrets/" + typed + "/version", "/audit", "/"} {
		seen = append(seen, s.op.get(path).Body)
	}
	// A failed create re-renders the form: the value must not come back either.
	s.op.get("/secrets")
	seen = append(seen, s.op.postMultipart("/secrets", map[string]string{"name": typed, "content": typedValue}, "", nil).Body)
	for _, path := range []string{"/api/v1/secrets", "/api/v1/secrets/" + typed, "/api/v1/secrets/" + viaAPI} {
		r := s.api(t, s.token, http.MethodGet, path, nil)
		if r.Status != http.StatusOK {
			t.Errorf("%s: %d", path, r.Status)
		}
		if strings.Contains(r.Body, `"data`) {
			t.Errorf("%s returns a data field: %s", path, r.Body)
		}
		seen = append(seen, r.Body)
	}
	seen = append(seen, s.Log.String())
	b64 := base64.StdEncoding.EncodeToString(binValue)
	for _, text := range seen {
		for _, needle := range []string{typedValue, string(binValue), b64, "secret-Value-77aa"} {
			if strings.Contains(text, needle) {
				t.Fatalf("a page, API answer or log line holds a secret value")
			}
		}
	}
	if !strings.Contains(seen[0], `id="secret-`+typed+`"`) || strings.Contains(seen[0], "no copy in Berth") {
		t.Error("secrets page does not list the secret with Berth's copy")
	}
	// Berth's escrow holds the value sealed: recoverable with the key, absent in clear.
	sec, _, err := s.docker.SecretInspectWithRaw(ctx, typed)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Store.EscrowedSecret(ctx, sec.ID); err != nil || string(got) != typedValue {
		t.Errorf("escrow of %s: %q, %v", typed, got, err)
	}
	s.Close()
	for _, needle := range [][]byte{[]byte(typedValue), binValue, []byte("secret-Value-77aa")} {
		if dbFilesContain(t, s.Data, needle) {
			t.Error("the database file holds a secret value in clear")
		}
	}
	s.docker.SecretRemove(ctx, typed)
	s.docker.SecretRemove(ctx, viaAPI)
}
