package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// deployForm is the deploy form as a browser posts it, with one row of each kind.
func deployForm(name, secret, config, mapping string) url.Values {
	return url.Values{
		"name": {name}, "image": {"berth-test/busybox"}, "tag": {"latest"}, "mode": {"replicated"}, "replicas": {"1"},
		"command": {"sh\n-c\ntrap 'exit 0' TERM; while true; do sleep 1; done"},
		"env_key": {"GREETING", "EMPTY", ""}, "env_value": {"hi from the form", "", ""},
		"secret_name": {secret}, "secret_target": {"db_pw"}, "secret_uid": {""}, "secret_gid": {""}, "secret_mode": {"0400"},
		"config_name": {config}, "config_target": {"/etc/app.conf"}, "config_uid": {"1000"}, "config_gid": {"1000"}, "config_mode": {"0440"},
		"volume_mapping": {mapping}, "volume_target": {"/data"}, "volume_ro": {"rw"},
		"endpoint_mode": {"dnsrr"}, "networks": {""}, "restart": {"any"}, "update_parallelism": {"1"},
		"update_failure": {"pause"}, "update_order": {"stop-first"}, "rollback_order": {"stop-first"},
		"log_driver": {"json-file"}, "log_options": {"max-size=10m\nmax-file=3"},
	}
}

func TestDeployFormEndToEnd(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	ctx := context.Background()
	name, config, secret, mapping := uniq("formsvc"), uniq("form_conf"), uniq("form_pw"), uniq("form-data")
	t.Cleanup(func() {
		s.docker.ServiceRemove(ctx, name)
		waitFor(t, 30*time.Second, "the service to go", func() bool { return len(taskIDs(t, s, name)) == 0 })
		s.docker.ConfigRemove(ctx, config)
		s.docker.SecretRemove(ctx, secret)
		s.docker.VolumeRemove(ctx, mapping, true)
	})
	s.api(t, s.token, http.MethodPost, "/api/v1/configs", map[string]string{"name": config, "data": "from config"})
	s.api(t, s.token, http.MethodPost, "/api/v1/secrets", map[string]string{"name": secret, "data": "from secret"})
	s.api(t, s.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": mapping})

	form := s.op.get("/services/new")
	if !strings.Contains(form.Body, `<option value="`+secret+`">`) || !strings.Contains(form.Body, `<option value="`+mapping+`">`) {
		t.Fatal("the form does not offer the existing secret and mapping")
	}
	// "Add a variable" re-renders the form with one more row and deploys nothing.
	more := deployForm(name, secret, config, mapping)
	more.Set("add", "env")
	more.Set("_csrf", s.op.csrf)
	if p := s.op.post("/services/new", more); p.Status != http.StatusOK || strings.Count(p.Body, `name="env_key"`) != 3 {
		t.Errorf("add a row: %d, %d env rows", p.Status, strings.Count(p.Body, `name="env_key"`))
	}
	// Bad input: messages next to the fields, nothing deployed.
	bad := deployForm(name, secret, config, mapping)
	bad.Set("env_key", "GREETING")
	bad["env_key"] = []string{"GREETING", "GREETING"}
	bad["env_value"] = []string{"a", "b"}
	bad.Set("config_target", "/data")
	bad.Set("replicas", "lots")
	p := s.op.post("/services/new", bad)
	for _, id := range []string{"env_key_1-error", "volumes[0].target-error", "replicas-error"} {
		if !strings.Contains(p.Body, `id="`+id+`"`) {
			t.Errorf("no message at %s", id)
		}
	}
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "GREETING is set twice") {
		t.Errorf("bad form: %d", p.Status)
	}
	if _, _, err := s.docker.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{}); err == nil {
		t.Fatal("a refused form deployed the service")
	}

	if p := s.op.post("/services/new", deployForm(name, secret, config, mapping)); p.Status != http.StatusSeeOther || p.Location != "/services/"+name {
		t.Fatalf("deploy: %d %s\n%s", p.Status, p.Location, between(p.Body, `id="form-error">`, "<"))
	}
	waitRunning(t, s, name, 1, "berth-test/busybox:latest")
	eventuallyReads(t, s, name, "hi from the form|\nfrom secret\nfrom config\n1000:1000 440\n", "sh", "-c",
		`echo "$GREETING|$EMPTY"; cat /run/secrets/db_pw; echo; cat /etc/app.conf; echo; stat -c '%u:%g %a' /etc/app.conf; touch /data/ok`)

	// Scale from the service page.
	s.op.get("/services/" + name)
	s.op.post("/services/"+name+"/scale", url.Values{"replicas": {"2"}})
	waitRunning(t, s, name, 2, "berth-test/busybox:latest")

	// Edit: the same form, prefilled; change the variable.
	edit := s.op.get("/services/" + name + "/edit")
	if !strings.Contains(edit.Body, `value="hi from the form"`) && !strings.Contains(edit.Body, ">hi from the form<") {
		t.Fatal("the edit form is not prefilled")
	}
	changed := deployForm(name, secret, config, mapping)
	changed["env_value"] = []string{"edited", "", ""}
	changed.Set("replicas", "2")
	if p := s.op.post("/services/"+name+"/edit", changed); p.Status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.Status, between(p.Body, `id="form-error">`, "<"))
	}
	eventuallyReads(t, s, name, "edited\n", "sh", "-c", `echo "$GREETING"`)

	// Roll back to the spec before the edit.
	s.op.get("/services/" + name)
	if p := s.op.post("/services/"+name+"/rollback", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("rollback: %d", p.Status)
	}
	eventuallyReads(t, s, name, "hi from the form\n", "sh", "-c", `echo "$GREETING"`)

	s.op.get("/services/" + name)
	if p := s.op.post("/services/"+name+"/delete", url.Values{"confirm": {name}}); p.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.Status)
	}
	if _, _, err := s.docker.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{}); err == nil {
		t.Error("the service is still there")
	}
}

func TestUnplaceableServiceWarnsAndDeploysWhenConfirmed(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	ctx := context.Background()
	viaForm, viaAPI := uniq("unplaced-form"), uniq("unplaced-api")
	t.Cleanup(func() {
		s.docker.ServiceRemove(ctx, viaForm)
		s.docker.ServiceRemove(ctx, viaAPI)
	})
	form := url.Values{"name": {viaForm}, "image": {"berth-test/busybox"}, "tag": {"latest"}, "mode": {"replicated"}, "replicas": {"1"},
		"constraints": {"node.labels.gpu==yes"}, "endpoint_mode": {"dnsrr"}, "restart": {"any"}, "update_parallelism": {"1"},
		"update_failure": {"pause"}, "update_order": {"stop-first"}, "rollback_order": {"stop-first"}, "rollback_parallelism": {"2"},
		"rollback_delay": {"3s"}, "rollback_failure": {"continue"}, "log_driver": {"json-file"}}
	s.op.get("/services/new")
	warned := s.op.post("/services/new", form)
	if warned.Status != http.StatusUnprocessableEntity || !strings.Contains(warned.Body, "No node satisfies these constraints yet") || !strings.Contains(warned.Body, `id="allow_unplaced"`) {
		t.Fatalf("unplaceable form: %d", warned.Status)
	}
	form.Set("allow_unplaced", "true")
	if p := s.op.post("/services/new", form); p.Status != http.StatusSeeOther {
		t.Fatalf("confirmed: %d %s", p.Status, between(p.Body, `id="form-error">`, "<"))
	}
	svc, _, err := s.docker.ServiceInspectWithRaw(ctx, viaForm, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rb := svc.Spec.RollbackConfig; rb == nil || rb.Parallelism != 2 || rb.Delay != 3*time.Second || rb.FailureAction != "continue" {
		t.Errorf("rollback policy from the form: %+v", rb)
	}
	body := map[string]any{"name": viaAPI, "image": "berth-test/busybox", "constraints": []string{"node.labels.gpu==yes"}}
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/services", body); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "allow_unplaced") {
		t.Errorf("API without allow_unplaced: %d %s", r.Status, r.Body)
	}
	body["allow_unplaced"] = true
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/services", body); r.Status != http.StatusCreated {
		t.Errorf("API with allow_unplaced: %d %s", r.Status, r.Body)
	}
}
