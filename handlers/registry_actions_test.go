package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/berthhq/berth/store"
)

func TestRegistryActionsAreTheSameThroughThePageAndTheAPI(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ctx := context.Background()
	u := ts.addUser("op", store.RoleOperator)
	token, _, err := ts.Store.CreateAPIToken(ctx, u.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]string{"url": "registry.example.com", "username": "me", "password": "a long password"}
	ts.mustAPI(t, token, http.MethodPost, "/api/v1/registries", body, http.StatusCreated)
	if r := ts.api(t, token, http.MethodPost, "/api/v1/registries", body); r.Status != http.StatusConflict || !strings.Contains(r.Body, "already have a credential") {
		t.Errorf("a second credential for the URL through the API: %d %s", r.Status, r.Body)
	}
	op := ts.client()
	op.login("op", testPassword, "")
	op.get("/registries")
	p := op.post("/registries", url.Values{"url": {"registry.example.com"}, "username": {"me"}, "password": {"a long password"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="url-error"`) {
		t.Errorf("a second credential for the URL through the page: %d", p.Status)
	}
	recs, _ := ts.Store.AuditRecords(ctx, store.AuditFilter{Action: "registry.create"})
	if len(recs) != 1 {
		t.Errorf("%d registry.create records, want 1 (refusals change nothing)", len(recs))
	}
	if r := ts.api(t, token, http.MethodPut, "/api/v1/registries/"+itoa(1), map[string]string{"username": "", "password": "x"}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("a replacement without a username: %d %s", r.Status, r.Body)
	}
	ts.mustAPI(t, token, http.MethodDelete, "/api/v1/registries/1", nil, http.StatusNoContent)
	if recs, _ := ts.Store.AuditRecords(ctx, store.AuditFilter{Action: "registry.delete"}); len(recs) != 1 {
		t.Errorf("%d registry.delete records", len(recs))
	}
}
