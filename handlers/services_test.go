package handlers

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// withNetwork makes sure the shared swarm has Berth's overlay network, through Berth's own initialize.
func withNetwork(t *testing.T, s *swarmServer) {
	t.Helper()
	if err := s.Engine.Initialize(context.Background(), s.cluster.Manager().Addr); err != nil {
		t.Fatalf("initialize: %v", err)
	}
}

// taskIDs lists the ids of a service's tasks that should be running.
func taskIDs(t *testing.T, s *swarmServer, service string) []string {
	t.Helper()
	tasks, err := s.docker.TaskList(context.Background(), swarm.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("service", service), filters.Arg("desired-state", "running"))})
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return nil // the service is gone
		}
		t.Fatal(err)
	}
	var ids []string
	for _, task := range tasks {
		ids = append(ids, task.ID)
	}
	sort.Strings(ids)
	return ids
}

// waitRunning waits until the service's running tasks match its desired count and have the wanted image.
func waitRunning(t *testing.T, s *swarmServer, name string, replicas int, image string) {
	t.Helper()
	waitFor(t, 90*time.Second, name+" to run "+image, func() bool {
		var svc APIService
		r := s.api(t, s.token, http.MethodGet, "/api/v1/services/"+name, nil)
		if r.Status != http.StatusOK {
			return false
		}
		r.decode(t, &svc)
		running := 0
		for _, task := range svc.State.Tasks {
			if task.State == "running" && task.DesiredState == "running" && task.Image == image {
				running++
			}
		}
		return running == replicas && svc.State.Running == replicas
	})
}

func TestServiceDeployedThroughTheAPIReadsItsEnvSecretConfigAndVolume(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	ctx := context.Background()
	name := uniq("web")
	config, secret, mapping := uniq("web_conf"), uniq("web_pw"), uniq("web-data")
	t.Cleanup(func() {
		s.docker.ServiceRemove(ctx, name)
		waitFor(t, 30*time.Second, "the service to go", func() bool { return len(taskIDs(t, s, name)) == 0 })
		s.docker.ConfigRemove(ctx, config)
		s.docker.SecretRemove(ctx, secret)
		s.docker.VolumeRemove(ctx, mapping, true)
	})
	s.api(t, s.token, http.MethodPost, "/api/v1/configs", map[string]string{"name": config, "data": "port=8080\n"})
	s.api(t, s.token, http.MethodPost, "/api/v1/secrets", map[string]string{"name": secret, "data": "hunter2-db"})
	s.api(t, s.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": mapping})

	spec := map[string]any{
		"name": name, "image": "berth-test/busybox", "tag": "latest", "mode": "replicated", "replicas": 1,
		"command":       []string{"sh", "-c", "echo stored > /data/proof; trap 'exit 0' TERM; while true; do sleep 1; done"},
		"env":           map[string]string{"GREETING": "hello world", "LONG": strings.Repeat("x", 4000)},
		"secrets":       []map[string]any{{"name": secret, "target": "db_pw", "mode": "0400"}},
		"configs":       []map[string]any{{"name": config, "target": "/etc/app.conf", "uid": "1000", "gid": "1000", "mode": "0440"}},
		"volumes":       []map[string]any{{"mapping": mapping, "target": "/data"}},
		"endpoint_mode": "dnsrr",
		"update_policy": map[string]any{"parallelism": 1, "order": "stop-first", "failure_action": "pause", "monitor": "1s"},
	}
	res := s.api(t, s.token, http.MethodPost, "/api/v1/services", spec)
	if res.Status != http.StatusCreated {
		t.Fatalf("deploy: %d %s", res.Status, res.Body)
	}
	waitRunning(t, s, name, 1, "berth-test/busybox:latest")
	got := s.readInService(t, name, "sh", "-c", `echo "$GREETING"; cat /run/secrets/db_pw; echo; cat /etc/app.conf; stat -c '%u:%g %a' /etc/app.conf /run/secrets/db_pw; cat /data/proof`)
	want := "hello world\nhunter2-db\nport=8080\n1000:1000 440\n0:0 400\nstored\n"
	if got != want {
		t.Errorf("the task reads\n%q\nwant\n%q", got, want)
	}
	svc, _, err := s.docker.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Labels["berth.managed"] != "true" || svc.Spec.Labels["berth.owner"] != "op" || svc.Spec.TaskTemplate.LogDriver.Options["max-size"] != "10m" {
		t.Errorf("engine spec labels %v, log driver %+v", svc.Spec.Labels, svc.Spec.TaskTemplate.LogDriver)
	}
	if len(svc.Spec.TaskTemplate.Networks) != 1 {
		t.Errorf("networks %+v, want the berth overlay", svc.Spec.TaskTemplate.Networks)
	}

	// GET gives back the same shape, plus state.
	var got1 APIService
	s.api(t, s.token, http.MethodGet, "/api/v1/services/"+name, nil).decode(t, &got1)
	if got1.Env["GREETING"] != "hello world" || len(got1.Secrets) != 1 || got1.Configs[0].Target != "/etc/app.conf" || got1.Volumes[0].Mapping != mapping ||
		got1.State.Running != 1 || got1.State.Desired != 1 || !got1.State.Managed || got1.State.Owner != "op" {
		t.Errorf("GET: %+v", got1)
	}

	// PUT replaces the whole spec: the GET answer edited and sent back.
	got1.Env = map[string]string{"GREETING": "replaced"}
	two := uint64(2)
	got1.Replicas = &two
	if r := s.api(t, s.token, http.MethodPut, "/api/v1/services/"+name, got1); r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	waitRunning(t, s, name, 2, "berth-test/busybox:latest")
	eventuallyReads(t, s, name, "replaced|\n", "sh", "-c", `echo "$GREETING|$LONG"`)

	// PATCH changes only what it names; null removes a variable.
	patch := map[string]any{"env": map[string]any{"ADDED": "yes", "GREETING": nil}, "replicas": 1}
	if r := s.api(t, s.token, http.MethodPatch, "/api/v1/services/"+name, patch); r.Status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	waitRunning(t, s, name, 1, "berth-test/busybox:latest")
	eventuallyReads(t, s, name, "yes|\nhunter2-db", "sh", "-c", `echo "$ADDED|$GREETING"; cat /run/secrets/db_pw`)
	recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Object: "service:" + name})
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
	}
	if strings.Join(actions, ",") != "service.update,service.update,service.create" {
		t.Errorf("audit trail %v", actions)
	}
	if r := s.api(t, s.token, http.MethodDelete, "/api/v1/services/"+name, nil); r.Status != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", r.Status, r.Body)
	}
	if _, _, err := s.docker.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{}); err == nil {
		t.Error("the service is still there")
	}
}

func TestUnsafeOrInvalidSpecsAreRefusedAndChangeNothing(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	ctx := context.Background()
	existing := uniq("exists")
	s.createService(t, serviceSpec(existing))
	before, _ := s.docker.ServiceList(ctx, swarm.ServiceListOptions{})
	name := uniq("unsafe")
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"name": name, "image": enginetest.BusyboxImage}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		what  string
		body  map[string]any
		field string
		msg   string
	}{
		{"bind mount", base(map[string]any{"mounts": []map[string]any{{"type": "bind", "source": "/", "target": "/host"}}}), "mounts[0]", "Bind mounts"},
		{"docker socket", base(map[string]any{"mounts": []map[string]any{{"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock"}}}), "mounts[0]", "Docker socket"},
		{"privileged", base(map[string]any{"privileged": true}), "privileged", "root on the node"},
		{"capabilities", base(map[string]any{"cap_add": []string{"SYS_ADMIN"}}), "cap_add", "refused"},
		{"host network", base(map[string]any{"networks": []string{"host"}}), "networks[0]", "host network"},
		{"tag pinned to a bad digest", base(map[string]any{"image": "berth-test/busybox", "tag": "1", "digest": "sha256:0"}), "digest", "64 hexadecimal"},
		{"invalid image", base(map[string]any{"image": "Not/An_Image!"}), "image", "not a valid image reference"},
		{"image with a space", base(map[string]any{"image": "team/app latest"}), "image", "no spaces"},
		{"two mounts on one target", base(map[string]any{"configs": []map[string]any{{"name": "a", "target": "/x"}, {"name": "b", "target": "/x"}}}), "configs[1].target", "already the target"},
		{"mode out of range", base(map[string]any{"secrets": []map[string]any{{"name": "a", "mode": "0800"}}}), "secrets[0].mode", "0000 to 0777"},
		{"replicas out of range", base(map[string]any{"replicas": 100000}), "replicas", "from 0 to"},
		{"unknown secret", base(map[string]any{"secrets": []map[string]any{{"name": uniq("nosuch")}}}), "secrets[0].name", "There is no secret named"},
		{"unknown config", base(map[string]any{"configs": []map[string]any{{"name": uniq("nosuch"), "target": "/etc/x"}}}), "configs[0].name", "There is no config named"},
		{"unknown mapping", base(map[string]any{"volumes": []map[string]any{{"mapping": uniq("nosuch"), "target": "/data"}}}), "volumes[0].mapping", "There is no volume mapping"},
		{"constraint no node meets", base(map[string]any{"constraints": []string{"node.labels.gpu==yes"}}), "constraints", "No node satisfies"},
		{"name in use", base(map[string]any{"name": existing}), "name", "exists"},
		{"bad env key", base(map[string]any{"env": map[string]string{"BAD KEY": "x"}}), "env.BAD KEY", "not a valid variable name"},
	} {
		r := s.api(t, s.token, http.MethodPost, "/api/v1/services", tc.body)
		var body struct {
			Error  string            `json:"error"`
			Fields map[string]string `json:"fields"`
		}
		r.decode(t, &body)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body.Fields[tc.field], tc.msg) {
			t.Errorf("%s: %d %s, want 422 with %q on %s", tc.what, r.Status, r.Body, tc.msg, tc.field)
		}
	}
	after, _ := s.docker.ServiceList(ctx, swarm.ServiceListOptions{})
	if len(after) != len(before) {
		t.Errorf("refused specs changed the swarm: %d services, had %d", len(after), len(before))
	}
	// A refused update leaves the service as it was.
	svc := s.inspectService(t, existing)
	r := s.api(t, s.token, http.MethodPatch, "/api/v1/services/"+existing, map[string]any{"secrets": []map[string]any{{"name": uniq("nosuch")}}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Errorf("bad PATCH: %d %s", r.Status, r.Body)
	}
	again := s.inspectService(t, existing)
	if again.Version.Index != svc.Version.Index {
		t.Error("a refused PATCH changed the service")
	}
	if r := s.api(t, s.token, http.MethodGet, "/api/v1/services/"+uniq("nosuch"), nil); r.Status != http.StatusNotFound || !strings.Contains(r.Body, "No service named") {
		t.Errorf("unknown service: %d %s", r.Status, r.Body)
	}
}

func TestWebhookRedeploysWithAndWithoutTag(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	for _, n := range s.cluster.Nodes {
		cli, _ := n.Client()
		if err := cli.ImageTag(ctx, enginetest.BusyboxImage, "berth-test/busybox:v2"); err != nil {
			t.Fatal(err)
		}
		cli.Close()
	}
	name := uniq("hooked")
	spec := serviceSpec(name)
	spec.Labels = map[string]string{"berth.owner": "op"}
	s.createService(t, spec)
	waitRunning(t, s, name, 1, enginetest.BusyboxImage)
	r := s.api(t, s.token, http.MethodPost, "/api/v1/services/"+name+"/webhook", nil)
	var hook struct{ URL string }
	r.decode(t, &hook)
	if r.Status != http.StatusCreated || !strings.HasPrefix(hook.URL, s.URL+"/hooks/") {
		t.Fatalf("webhook: %d %s", r.Status, r.Body)
	}
	first := taskIDs(t, s, name)
	call := func(url string) apiResult {
		res, err := http.Post(url, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := res.Body.Read(buf)
		b.Write(buf[:n])
		return apiResult{Status: res.StatusCode, Body: b.String()}
	}
	if r := call(hook.URL); r.Status != http.StatusAccepted || !strings.Contains(r.Body, `"update":"redeploy started"`) {
		t.Fatalf("webhook call: %d %s", r.Status, r.Body)
	}
	waitFor(t, 60*time.Second, "a new task after the webhook", func() bool {
		ids := taskIDs(t, s, name)
		return len(ids) == 1 && ids[0] != first[0]
	})
	second := taskIDs(t, s, name)
	if r := call(hook.URL + "?tag=v2"); r.Status != http.StatusAccepted || !strings.Contains(r.Body, `"image":"berth-test/busybox:v2"`) {
		t.Fatalf("webhook with tag: %d %s", r.Status, r.Body)
	}
	waitRunning(t, s, name, 1, "berth-test/busybox:v2")
	if ids := taskIDs(t, s, name); ids[0] == second[0] {
		t.Error("the tagged webhook call started no new task")
	}
	svc := s.inspectService(t, name)
	if r := call(s.URL + "/hooks/not-a-real-token"); r.Status != http.StatusNotFound {
		t.Errorf("wrong token: %d", r.Status)
	}
	if again := s.inspectService(t, name); again.Version.Index != svc.Version.Index {
		t.Error("a wrong token changed the service")
	}
	recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Action: "service.redeploy"})
	if len(recs) != 2 || recs[0].Via != "webhook" || recs[0].Actor != "op" || !strings.Contains(recs[0].Detail, "tag v2") {
		t.Errorf("webhook audit: %+v", recs)
	}
	token := strings.TrimPrefix(hook.URL, s.URL+"/hooks/")
	if strings.Contains(s.Log.String(), token) {
		t.Error("the server log holds the webhook's token")
	}
	// Regenerating revokes the old URL.
	s.api(t, s.token, http.MethodPost, "/api/v1/services/"+name+"/webhook", nil)
	if r := call(hook.URL); r.Status != http.StatusNotFound {
		t.Errorf("the old URL after regenerating: %d", r.Status)
	}
}

// eventuallyReads waits until a running task of the service prints want (old tasks
// may still run for a moment while an update rolls out).
func eventuallyReads(t *testing.T, s *swarmServer, service, want string, cmd ...string) {
	t.Helper()
	var got string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if got = s.readInService(t, service, cmd...); got == want {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Errorf("%s: tasks read %q, want %q", service, got, want)
}
