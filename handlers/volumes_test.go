package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/berthhq/berth/store"
)

func TestVolumeMappingsThroughPagesAndAPI(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	name, viaAPI := uniq("uploads"), uniq("media")
	t.Cleanup(func() {
		s.docker.VolumeRemove(ctx, name, true)
		s.docker.VolumeRemove(ctx, viaAPI, true)
	})
	page := s.op.get("/volumes")
	if !strings.Contains(page.Body, "Data only persists, and is only backed up, if it lives in a volume") {
		t.Error("the volumes page does not say where data persists")
	}
	for _, tc := range []struct{ name, message string }{
		{"", "Enter a name."},
		{"bad/name", "Use letters, digits"},
		{strings.Repeat("v", 65), "at most 64 characters"},
	} {
		p := s.op.post("/volumes", map[string][]string{"name": {tc.name}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="name-error"`) || !strings.Contains(p.Body, tc.message) {
			t.Errorf("mapping %q: %d, want %q next to the name", trim(tc.name), p.Status, tc.message)
		}
	}
	if p := s.op.post("/volumes", map[string][]string{"name": {name}}); p.Status != http.StatusSeeOther {
		t.Fatalf("create mapping: %d %s", p.Status, p.Body)
	}
	vol, err := s.docker.VolumeInspect(ctx, name)
	if err != nil || vol.Driver != "local" || vol.Labels["berth.managed"] != "true" {
		t.Fatalf("engine volume: %+v %v", vol, err)
	}
	s.op.get("/volumes")
	if p := s.op.post("/volumes", map[string][]string{"name": {name}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "exists") {
		t.Errorf("duplicate mapping: %d", p.Status)
	}
	list := s.op.get("/volumes")
	if !strings.Contains(list.Body, `id="mapping-`+name+`"`) || !strings.Contains(list.Body, s.cluster.Manager().Hostname+": ") {
		t.Error("the list does not show the mapping's volume on the manager")
	}
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": viaAPI}); r.Status != http.StatusCreated {
		t.Fatalf("API create: %d %s", r.Status, r.Body)
	}
	var vols []APIMapping
	s.api(t, s.token, http.MethodGet, "/api/v1/volumes", nil).decode(t, &vols)
	seen := map[string]APIMapping{}
	for _, v := range vols {
		seen[v.Name] = v
	}
	if v := seen[viaAPI]; len(v.Nodes) != 1 || v.Nodes[0].Node != s.cluster.Manager().Hostname || v.Nodes[0].Size == nil || v.CreatedBy != "op" {
		t.Errorf("API mapping: %+v", v)
	}
	s.op.get("/volumes")
	if p := s.op.post("/volumes/"+name+"/delete", nil); p.Status != http.StatusSeeOther {
		t.Errorf("delete: %d", p.Status)
	}
	if r := s.api(t, s.token, http.MethodDelete, "/api/v1/volumes/"+viaAPI, nil); r.Status != http.StatusNoContent {
		t.Errorf("API delete: %d", r.Status)
	}
	for _, n := range []string{name, viaAPI} {
		if _, err := s.docker.VolumeInspect(ctx, n); err == nil {
			t.Errorf("volume %s survived its mapping", n)
		}
	}
	recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Action: "volume."})
	if len(recs) != 4 {
		t.Errorf("%d volume audit records, want 4", len(recs))
	}
}
