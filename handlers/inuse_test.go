package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

func TestDeletingWhatServicesUseIsRefusedNamingThem(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	config, secret, mapping := uniq("used-conf"), uniq("used-secret"), uniq("used-vol")
	for kind, name := range map[string]string{"configs": config, "secrets": secret} {
		if r := s.api(t, s.token, http.MethodPost, "/api/v1/"+kind, map[string]string{"name": name, "data": "x"}); r.Status != http.StatusCreated {
			t.Fatal(r.Body)
		}
	}
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": mapping}); r.Status != http.StatusCreated {
		t.Fatalf("create mapping: %d %s", r.Status, r.Body)
	}
	t.Cleanup(func() {
		s.docker.ConfigRemove(ctx, config)
		s.docker.SecretRemove(ctx, secret)
		s.docker.VolumeRemove(ctx, mapping, true)
	})
	cfg, _, _ := s.docker.ConfigInspectWithRaw(ctx, config)
	sec, _, _ := s.docker.SecretInspectWithRaw(ctx, secret)
	spec := serviceSpec(uniq("user-svc"))
	spec.TaskTemplate.ContainerSpec.Configs = []*swarm.ConfigReference{{ConfigID: cfg.ID, ConfigName: config, File: &swarm.ConfigReferenceFileTarget{Name: "/etc/x", UID: "0", GID: "0", Mode: 0o444}}}
	spec.TaskTemplate.ContainerSpec.Secrets = []*swarm.SecretReference{{SecretID: sec.ID, SecretName: secret, File: &swarm.SecretReferenceFileTarget{Name: "x", UID: "0", GID: "0", Mode: 0o400}}}
	spec.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: mapping, Target: "/data"}}
	id := s.createService(t, spec)

	for _, tc := range []struct{ page, del, api string }{
		{"/configs", "/configs/" + config + "/delete", "/api/v1/configs/" + config},
		{"/secrets", "/secrets/" + secret + "/delete", "/api/v1/secrets/" + secret},
		{"/volumes", "/volumes/" + mapping + "/delete", "/api/v1/volumes/" + mapping},
	} {
		s.op.get(tc.page)
		p := s.op.post(tc.del, nil)
		if p.Status != http.StatusConflict || !strings.Contains(p.Body, "is in use by "+spec.Name) {
			t.Errorf("%s: status %d, want 409 naming %s", tc.del, p.Status, spec.Name)
		}
		r := s.api(t, s.token, http.MethodDelete, tc.api, nil)
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"services":["`+spec.Name+`"]`) {
			t.Errorf("DELETE %s: %d %s", tc.api, r.Status, r.Body)
		}
	}
	if _, _, err := s.docker.ConfigInspectWithRaw(ctx, config); err != nil {
		t.Error("the config is gone")
	}
	if _, _, err := s.docker.SecretInspectWithRaw(ctx, secret); err != nil {
		t.Error("the secret is gone")
	}
	// The pages say who uses what, and where.
	if p := s.op.get("/configs"); !strings.Contains(p.Body, "<strong>"+spec.Name+"</strong> at <code>/etc/x</code>") {
		t.Error("configs page does not show the service and its path")
	}
	var vols []APIMapping
	s.api(t, s.token, http.MethodGet, "/api/v1/volumes", nil).decode(t, &vols)
	var mine *APIMapping
	for i := range vols {
		if vols[i].Name == mapping {
			mine = &vols[i]
		}
	}
	if mine == nil || len(mine.UsedBy) != 1 || mine.UsedBy[0].Target != "/data" || len(mine.Nodes) == 0 {
		t.Fatalf("volumes API: %+v", mine)
	}

	// Once the service is gone, each delete works.
	if err := s.docker.ServiceRemove(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/configs/" + config, "/api/v1/secrets/" + secret} {
		if r := s.api(t, s.token, http.MethodDelete, path, nil); r.Status != http.StatusNoContent {
			t.Errorf("DELETE %s after the service went: %d %s", path, r.Status, r.Body)
		}
	}
	// The task's container may hold the volume a moment longer.
	waitFor(t, 30*time.Second, "the mapping to be deletable", func() bool {
		return s.api(t, s.token, http.MethodDelete, "/api/v1/volumes/"+mapping, nil).Status == http.StatusNoContent
	})
	if _, err := s.docker.VolumeInspect(ctx, mapping); err == nil {
		t.Error("the volume is still on the manager")
	}
}
