package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/docker/docker/api/types/swarm"
)

// twoServicesUsing creates two services that mount the config at /etc/app.conf
// (uid 1000, gid 1000, mode 0440) and the secret at /run/secrets/db_pw (mode 0400).
func twoServicesUsing(t *testing.T, s *swarmServer, config, secret string) []string {
	t.Helper()
	ctx := context.Background()
	cfg, _, err := s.docker.ConfigInspectWithRaw(ctx, config)
	if err != nil {
		t.Fatal(err)
	}
	sec, _, err := s.docker.SecretInspectWithRaw(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := 0; i < 2; i++ {
		spec := serviceSpec(uniq("rot-svc"))
		spec.TaskTemplate.ContainerSpec.Configs = []*swarm.ConfigReference{{
			ConfigID: cfg.ID, ConfigName: cfg.Spec.Name,
			File: &swarm.ConfigReferenceFileTarget{Name: "/etc/app.conf", UID: "1000", GID: "1000", Mode: 0o440},
		}}
		spec.TaskTemplate.ContainerSpec.Secrets = []*swarm.SecretReference{{
			SecretID: sec.ID, SecretName: sec.Spec.Name,
			File: &swarm.SecretReferenceFileTarget{Name: "db_pw", UID: "0", GID: "0", Mode: 0o400},
		}}
		s.createService(t, spec)
		names = append(names, spec.Name)
	}
	return names
}

func TestRotateConfigAndSecretAcrossTwoServices(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	config, secret := uniq("app_conf"), uniq("db_pw")
	for kind, name := range map[string]string{"configs": config, "secrets": secret} {
		if r := s.api(t, s.token, http.MethodPost, "/api/v1/"+kind, map[string]string{"name": name, "data": "version one"}); r.Status != http.StatusCreated {
			t.Fatal(r.Body)
		}
	}
	// Registered before the services, so it runs after they are removed.
	t.Cleanup(func() {
		for _, n := range []string{config, config + "-v2"} {
			s.docker.ConfigRemove(ctx, n)
		}
		for _, n := range []string{secret, secret + "-v2"} {
			s.docker.SecretRemove(ctx, n)
		}
	})
	services := twoServicesUsing(t, s, config, secret)
	for _, svc := range services {
		if got := s.readInService(t, svc, "cat", "/etc/app.conf", "/run/secrets/db_pw"); got != "version oneversion one" {
			t.Fatalf("%s before rotation reads %q", svc, got)
		}
	}

	// The config through the pages: the form shows the next name, the job page follows the rollout.
	form := s.op.get("/configs/" + config + "/version")
	if !strings.Contains(form.Body, `id="next-name">`+config+`-v2<`) || !strings.Contains(form.Body, "version one") {
		t.Fatalf("version form: %d", form.Status)
	}
	start := s.op.postMultipart("/configs/"+config+"/versions", map[string]string{"content": "version two"}, "", nil)
	if start.Status != http.StatusSeeOther || !strings.HasPrefix(start.Location, "/jobs/") {
		t.Fatalf("start rotation: %d %s", start.Status, start.Location)
	}
	var job page
	waitFor(t, 2*time.Minute, "the config rollout", func() bool {
		job = s.op.get(start.Location + "/status")
		return !strings.Contains(job.Body, "hx-trigger")
	})
	if !strings.Contains(job.Body, "now uses "+config+"-v2") || strings.Count(job.Body, ">completed<") != 2 {
		t.Fatalf("job page after the rollout:\n%s", job.Body)
	}

	// The secret through the API, which waits for the rollouts.
	res := s.api(t, s.token, http.MethodPost, "/api/v1/secrets/"+secret+"/versions", map[string]string{"data": "version two"})
	var rot APIRotation
	res.decode(t, &rot)
	if res.Status != http.StatusOK || rot.New != secret+"-v2" || len(rot.Services) != 2 {
		t.Fatalf("API rotation: %d %s", res.Status, res.Body)
	}
	for _, st := range rot.Services {
		if st.State != "completed" {
			t.Errorf("API rotation step %+v", st)
		}
	}
	for _, svc := range services {
		got := s.readInService(t, svc, "sh", "-c", "cat /etc/app.conf /run/secrets/db_pw; stat -c ' %u:%g %a' /etc/app.conf /run/secrets/db_pw")
		if want := "version twoversion two 1000:1000 440\n 0:0 400\n"; got != want {
			t.Errorf("%s after rotation reads %q, want %q", svc, got, want)
		}
	}
	// The old versions are unused now and can go; the job page offered exactly that.
	if !strings.Contains(job.Body, `action="/configs/`+config+`/delete"`) {
		t.Error("the job page does not offer to delete the old config")
	}
	s.op.get(start.Location)
	if p := s.op.post("/configs/"+config+"/delete", nil); p.Status != http.StatusSeeOther {
		t.Errorf("delete old config: %d", p.Status)
	}
	if r := s.api(t, s.token, http.MethodDelete, "/api/v1/secrets/"+secret, nil); r.Status != http.StatusNoContent {
		t.Errorf("delete old secret: %d %s", r.Status, r.Body)
	}
	newSec, _, err := s.docker.SecretInspectWithRaw(ctx, secret+"-v2")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Store.EscrowedSecret(ctx, newSec.ID); err != nil || string(v) != "version two" {
		t.Errorf("escrow of the new secret version: %q %v", v, err)
	}
	recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Action: "", Object: config})
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action+":"+r.Outcome)
	}
	if strings.Join(actions, ",") != "config.delete:ok,config.rotate:ok,config.create:ok" {
		t.Errorf("config audit trail: %v", actions)
	}
}

func TestRotationReportsAFailedRolloutAndKeepsTheOldVersion(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	config := uniq("conf")
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/configs", map[string]string{"name": config, "data": "one"}); r.Status != http.StatusCreated {
		t.Fatal(r.Body)
	}
	t.Cleanup(func() {
		s.docker.ConfigRemove(ctx, config)
		s.docker.ConfigRemove(ctx, config+"-v2")
	})
	cfg, _, _ := s.docker.ConfigInspectWithRaw(ctx, config)
	ref := []*swarm.ConfigReference{{ConfigID: cfg.ID, ConfigName: config, File: &swarm.ConfigReferenceFileTarget{Name: "/etc/a.conf", UID: "0", GID: "0", Mode: 0o444}}}
	good := serviceSpec(uniq("rot-good"))
	good.TaskTemplate.ContainerSpec.Configs = ref
	s.createService(t, good)
	// This service's tasks can never start (no such image on any node), so its rollout pauses.
	broken := serviceSpec(uniq("rot-broken"))
	broken.TaskTemplate.ContainerSpec.Image = "berth-test/missing:1"
	broken.TaskTemplate.ContainerSpec.Configs = ref
	broken.UpdateConfig = &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionPause, Monitor: 2 * time.Second}
	s.createService(t, broken)
	s.readInService(t, good.Name, "true") // the good one runs

	res := s.api(t, s.token, http.MethodPost, "/api/v1/configs/"+config+"/versions", map[string]string{"data": "two"})
	var rot APIRotation
	res.decode(t, &rot)
	if res.Status != http.StatusConflict || !strings.Contains(rot.Error, broken.Name) || !strings.Contains(rot.Error, config+" was kept") {
		t.Fatalf("rotation with a broken service: %d %s", res.Status, res.Body)
	}
	states := map[string]string{}
	for _, st := range rot.Services {
		states[st.Service] = st.State
	}
	if states[good.Name] != "completed" || states[broken.Name] != "failed" {
		t.Errorf("step states %v", states)
	}
	if _, _, err := s.docker.ConfigInspectWithRaw(ctx, config); err != nil {
		t.Error("the old version was deleted although a rollout failed")
	}
	recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Action: "config.rotate"})
	if len(recs) == 0 || !strings.HasPrefix(recs[0].Outcome, "failed: ") {
		t.Errorf("audit of the failed rotation: %+v", recs)
	}
}
