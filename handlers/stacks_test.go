package handlers

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
)

// stackCompose is a three-service file: a host-mode port, a named volume, and a secret
// and a config from files.
func stackCompose(port int) string {
	return fmt.Sprintf(`
services:
  web:
    image: %[1]s
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    ports: [{target: 8080, published: %[2]d, mode: host}]
    deploy: {endpoint_mode: dnsrr}
  db:
    image: %[1]s
    command: ["sh", "-c", "echo kept > /data/proof; trap 'exit 0' TERM; while true; do sleep 1; done"]
    volumes: [data:/data]
    deploy: {endpoint_mode: dnsrr}
  app:
    image: %[1]s
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    environment: {GREETING: "${GREETING}"}
    secrets: [{source: pw, target: db_pw}]
    configs: [{source: conf, target: /etc/app.conf}]
    deploy: {endpoint_mode: dnsrr, replicas: 1}
volumes:
  data:
secrets:
  pw: {file: ./pw.txt}
configs:
  conf: {file: app.conf}
x-notes: the file's own
`, enginetest.BusyboxImage, port)
}

// dockerCLI runs the docker command line against the test swarm's manager.
func dockerCLI(t *testing.T, s *swarmServer, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"-H", s.cluster.Manager().Host()}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// stackLeftovers lists what of a stack is still in the swarm: services, configs, secrets, networks.
func stackLeftovers(t *testing.T, s *swarmServer, name string) []string {
	t.Helper()
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", "com.docker.stack.namespace="+name))
	var left []string
	services, _ := s.docker.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	for _, x := range services {
		left = append(left, "service "+x.Spec.Name)
	}
	configs, _ := s.docker.ConfigList(ctx, swarm.ConfigListOptions{Filters: f})
	for _, x := range configs {
		left = append(left, "config "+x.Spec.Name)
	}
	secrets, _ := s.docker.SecretList(ctx, swarm.SecretListOptions{Filters: f})
	for _, x := range secrets {
		left = append(left, "secret "+x.Spec.Name)
	}
	nets, _ := s.docker.NetworkList(ctx, network.ListOptions{Filters: f})
	for _, x := range nets {
		left = append(left, "network "+x.Name)
	}
	return left
}

func TestStackFromComposeDeploysUpdatesAndGoesAsDockerStackSeesIt(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	ctx := context.Background()
	name := strings.ReplaceAll(uniq("shop"), "-", "")
	t.Cleanup(func() {
		if left := stackLeftovers(t, s, name); len(left) > 0 {
			exec.Command("docker", "-H", s.cluster.Manager().Host(), "stack", "rm", name).Run()
		}
	})
	body := map[string]any{"name": name, "compose": stackCompose(18000 + int(time.Now().UnixNano()%1000)), "env": "GREETING=hello from .env\n",
		"files": map[string]string{"pw.txt": "hunter2", "app.conf": "port=8080\n"}}

	step(t, "the preview says what the deploy does and changes nothing", func(t *testing.T) {
		var pv struct {
			Summary  string
			Services []struct{ Name, Change string }
			Warnings []struct{ Path string }
		}
		s.mustAPI(t, s.token, http.MethodPost, "/api/v1/stacks?dry_run=true", body, http.StatusOK).decode(t, &pv)
		if pv.Summary != "7 created" || len(pv.Services) != 3 || pv.Services[0].Change != "create" {
			t.Errorf("preview: %+v", pv)
		}
		if left := stackLeftovers(t, s, name); len(left) > 0 {
			t.Errorf("a preview made %v", left)
		}
	})
	step(t, "deployed, docker stack services lists it and the tasks read their secret, config, variable and volume", func(t *testing.T) {
		s.mustAPI(t, s.token, http.MethodPost, "/api/v1/stacks", body, http.StatusCreated)
		out := dockerCLI(t, s, "stack", "services", "--format", "{{.Name}}", name)
		got := strings.Fields(out)
		slices.Sort(got)
		if want := []string{name + "_app", name + "_db", name + "_web"}; !slices.Equal(got, want) {
			t.Errorf("docker stack services: %v, want %v", got, want)
		}
		for _, svc := range []string{"app", "db", "web"} {
			waitRunning(t, s, name+"_"+svc, 1, enginetest.BusyboxImage)
		}
		if got := s.readInService(t, name+"_app", "sh", "-c", `echo "$GREETING"; cat /run/secrets/db_pw; echo; cat /etc/app.conf`); got != "hello from .env\nhunter2\nport=8080\n" {
			t.Errorf("app reads %q", got)
		}
		if got := s.readInService(t, name+"_db", "cat", "/data/proof"); got != "kept\n" {
			t.Errorf("db reads %q", got)
		}
		web := s.inspectService(t, name+"_web")
		if p := web.Endpoint.Ports; len(p) != 1 || p[0].PublishMode != swarm.PortConfigPublishModeHost {
			t.Errorf("web's ports: %+v", p)
		}
		if m, err := s.Store.VolumeMapping(ctx, name+"_data"); err != nil || m.Name != name+"_data" {
			t.Errorf("the named volume is no Berth mapping: %v", err)
		}
		if p := s.op.get("/stacks/" + name); !strings.Contains(p.Body, `href="/services/`+name+`_web"`) || !strings.Contains(p.Body, "x-notes") {
			t.Errorf("the stack page lacks its services or compose text")
		}
		if p := s.op.get("/services/" + name + "_app/compose"); !strings.Contains(p.Body, "\n  app:\n") || !strings.Contains(p.Body, "name: "+name+"_pw") || strings.Contains(p.Body, "hunter2") {
			t.Errorf("one service's export:\n%s", p.Body)
		}
	})
	step(t, "the stack's webhook redeploys every service, switching one service's tag", func(t *testing.T) {
		var hook struct{ URL string }
		s.mustAPI(t, s.token, http.MethodPost, "/api/v1/stacks/"+name+"/webhook", nil, http.StatusCreated).decode(t, &hook)
		before := s.inspectService(t, name+"_web").Version.Index
		res, err := http.Post(hook.URL+"?service=web&tag=latest", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("webhook: %d", res.StatusCode)
		}
		if after := s.inspectService(t, name+"_web"); after.Version.Index == before || after.Spec.TaskTemplate.ContainerSpec.Image != "berth-test/busybox:latest" {
			t.Errorf("web after the webhook: version %d (was %d), image %s", after.Version.Index, before, after.Spec.TaskTemplate.ContainerSpec.Image)
		}
		recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Action: "stack.redeploy", Object: "stack:" + name})
		if len(recs) != 1 || recs[0].Via != "webhook" || !strings.Contains(recs[0].Detail, name+"_app") {
			t.Errorf("audit of the webhook: %+v", recs)
		}
		for _, svc := range []string{"app", "db", "web"} {
			waitRunning(t, s, name+"_"+svc, 1, enginetest.BusyboxImage)
		}
	})
	step(t, "a changed config file switches the service to -v2 at the same path, and the old version goes", func(t *testing.T) {
		body["files"] = map[string]string{"app.conf": "port=9090\n"} // the secret's file is not sent again: its version stays
		var pv struct {
			Services []struct {
				Name, Change string
				Fields       []string
			}
			Objects []struct{ Name, Change string }
		}
		s.mustAPI(t, s.token, http.MethodPut, "/api/v1/stacks/"+name+"?dry_run=true", body, http.StatusOK).decode(t, &pv)
		changes := map[string]string{}
		for _, sv := range pv.Services {
			changes[sv.Name] = sv.Change + " " + strings.Join(sv.Fields, ",")
		}
		for _, o := range pv.Objects {
			changes[o.Name] = o.Change
		}
		want := map[string]string{name + "_app": "update configs", name + "_db": "unchanged ", name + "_web": "unchanged ",
			name + "_conf-v2": "new version (replaces " + name + "_conf)", name + "_pw": "unchanged"}
		for k, v := range want {
			if changes[k] != v {
				t.Errorf("preview of %s: %q, want %q (all: %v)", k, changes[k], v, changes)
			}
		}
		s.mustAPI(t, s.token, http.MethodPut, "/api/v1/stacks/"+name, body, http.StatusOK)
		if _, _, err := s.docker.ConfigInspectWithRaw(ctx, name+"_conf"); err != nil {
			t.Error("the old config version went before the rollout away from it converged")
		}
		eventuallyReads(t, s, name+"_app", "port=9090\nhunter2", "sh", "-c", "cat /etc/app.conf /run/secrets/db_pw")
		waitFor(t, 60*time.Second, "the replaced config version to be removed", func() bool {
			_, _, err := s.docker.ConfigInspectWithRaw(ctx, name+"_conf")
			return err != nil
		})
	})
	step(t, "removed with its volumes, nothing is left and every step is audited", func(t *testing.T) {
		s.mustAPI(t, s.token, http.MethodDelete, "/api/v1/stacks/"+name+"?volumes=true", nil, http.StatusNoContent)
		if left := stackLeftovers(t, s, name); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
		if _, err := s.Store.VolumeMapping(ctx, name+"_data"); err == nil {
			t.Error("the volume mapping is still there")
		}
		if _, err := s.Store.Stack(ctx, name); err == nil {
			t.Error("Berth still records the stack")
		}
		recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Object: "stack:" + name})
		var actions []string
		for _, r := range recs {
			actions = append(actions, r.Action+" "+r.Outcome)
		}
		for _, want := range []string{"stack.create ok", "stack.update ok", "stack.delete ok"} {
			if !slices.Contains(actions, want) {
				t.Errorf("audit %v lacks %q", actions, want)
			}
		}
	})
}

func TestStacksFromDockerStackDeployAreListedOperableAndExportTheSameSpecs(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	cli, bound := strings.ReplaceAll(uniq("cli"), "-", ""), strings.ReplaceAll(uniq("bind"), "-", "")
	dir := t.TempDir()
	write := func(file, text string) string {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Cleanup(func() {
		for _, st := range []string{cli, bound, cli + "copy"} {
			exec.Command("docker", "-H", s.cluster.Manager().Host(), "stack", "rm", st).Run()
		}
	})
	run := `["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]`
	dockerCLI(t, s, "stack", "deploy", "-c", write("cli.yml", fmt.Sprintf(`
services:
  api:
    image: %[1]s
    command: %[2]s
    environment: {MODE: cli}
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
      labels: {team: core}
      resources: {limits: {memory: 64M}}
      update_config: {parallelism: 1, order: start-first}
`, enginetest.BusyboxImage, run)), cli)
	dockerCLI(t, s, "stack", "deploy", "-c", write("bind.yml", fmt.Sprintf(`
services:
  host:
    image: %[1]s
    command: %[2]s
    volumes: ["/etc:/host-etc:ro"]
    deploy: {endpoint_mode: dnsrr}
`, enginetest.BusyboxImage, run)), bound)

	step(t, "both are listed as stacks, deployed with the docker CLI", func(t *testing.T) {
		waitFor(t, 30*time.Second, "the CLI's stacks on the stacks page", func() bool {
			p := s.op.get("/stacks")
			return strings.Contains(p.Body, `id="stack-`+cli+`"`) && strings.Contains(p.Body, `id="stack-`+bound+`"`)
		})
		if p := s.op.get("/stacks/" + bound); !strings.Contains(p.Body, "has settings Berth would refuse") {
			t.Error("the stack with a bind mount is not marked")
		}
	})
	step(t, "an operator scales the CLI's service, and may not update the one with a bind mount", func(t *testing.T) {
		s.mustAPI(t, s.token, http.MethodPatch, "/api/v1/services/"+cli+"_api", map[string]any{"replicas": 2}, http.StatusOK)
		if got := s.inspectService(t, cli+"_api"); *got.Spec.Mode.Replicated.Replicas != 2 || got.Spec.Labels["com.docker.stack.namespace"] != cli {
			t.Errorf("after scaling: replicas %d, labels %v", *got.Spec.Mode.Replicated.Replicas, got.Spec.Labels)
		}
		if r := s.api(t, s.token, http.MethodPatch, "/api/v1/services/"+bound+"_host", map[string]any{"replicas": 2}); r.Status != http.StatusForbidden {
			t.Errorf("an operator changed a service with a bind mount: %d %s", r.Status, r.Body)
		}
	})
	step(t, "its export, deployed with docker stack deploy under another name, gives the same service spec", func(t *testing.T) {
		r := s.op.get("/stacks/" + cli + "/compose")
		if r.Status != http.StatusOK {
			t.Fatalf("export: %d %s", r.Status, r.Body)
		}
		dockerCLI(t, s, "stack", "deploy", "-c", write("export.yml", r.Body), cli+"copy")
		orig, copied := s.inspectService(t, cli+"_api").Spec, s.inspectService(t, cli+"copy_api").Spec
		for _, spec := range []*swarm.ServiceSpec{&orig, &copied} {
			spec.Name = "api"
			delete(spec.Labels, "com.docker.stack.namespace")
			delete(spec.Labels, "berth.managed") // Berth's bookkeeping since the operator scaled it
			delete(spec.Labels, "berth.owner")
			delete(spec.TaskTemplate.ContainerSpec.Labels, "com.docker.stack.namespace")
			spec.TaskTemplate.ForceUpdate = 0
		}
		for _, c := range []struct {
			field     string
			got, want any
		}{
			{"image", copied.TaskTemplate.ContainerSpec.Image, orig.TaskTemplate.ContainerSpec.Image},
			{"command", copied.TaskTemplate.ContainerSpec.Args, orig.TaskTemplate.ContainerSpec.Args},
			{"env", copied.TaskTemplate.ContainerSpec.Env, orig.TaskTemplate.ContainerSpec.Env},
			{"labels", copied.Labels, orig.Labels},
			{"replicas", *copied.Mode.Replicated.Replicas, *orig.Mode.Replicated.Replicas},
			{"memory limit", copied.TaskTemplate.Resources.Limits.MemoryBytes, orig.TaskTemplate.Resources.Limits.MemoryBytes},
			{"update config", *copied.UpdateConfig, *orig.UpdateConfig},
			{"endpoint mode", copied.EndpointSpec.Mode, orig.EndpointSpec.Mode},
			{"networks", len(copied.TaskTemplate.Networks), len(orig.TaskTemplate.Networks)},
		} {
			if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
				t.Errorf("%s: %v after the round trip, was %v", c.field, c.got, c.want)
			}
		}
	})
}
