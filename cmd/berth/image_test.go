package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
)

// runtimeStage returns the Dockerfile's last stage with the binary copied from
// the build context instead of the build stage, which needs a base image this
// machine cannot pull.
func runtimeStage(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.LastIndex(text, "\nFROM ")
	if i < 0 {
		t.Fatal("Dockerfile has one stage only")
	}
	stage := text[i+1:]
	if !strings.HasPrefix(stage, "FROM scratch") {
		t.Fatalf("the runtime stage is not FROM scratch: %q", strings.SplitN(stage, "\n", 2)[0])
	}
	const copyLine = "COPY --from=build /out/berth /berth"
	if strings.Count(stage, "--from=") != 1 || !strings.Contains(stage, copyLine) {
		t.Fatalf("the runtime stage must copy only the binary from the build stage (%q)", copyLine)
	}
	return strings.Replace(stage, copyLine, "COPY berth /berth", 1)
}

func TestImageRunsAsSwarmServiceAndReportsHealthy(t *testing.T) {
	// A swarm of its own: the Berth this deploys upgrades agents and clears helpers on its
	// swarm when it starts, which would reach into the other tests' on the shared one.
	mgr := enginetest.Dedicated(t)
	dockerCLI, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal("the docker CLI is needed for `docker stack deploy`: ", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	start := time.Now()
	bin := filepath.Join(t.TempDir(), "berth")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	binData, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	const image = "berth-test/berth:image-test"
	if err := enginetest.BuildImage(ctx, mgr, image, map[string][]byte{"Dockerfile": []byte(runtimeStage(t)), "berth": binData}); err != nil {
		t.Fatal(err)
	}
	cli, err := mgr.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	inspect, err := cli.ImageInspect(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	if inspect.Config.Healthcheck == nil || strings.Join(inspect.Config.Healthcheck.Test, " ") != "CMD /berth healthcheck" {
		t.Errorf("image healthcheck = %+v", inspect.Config.Healthcheck)
	}
	t.Logf("image built in %s, %.1f MB", time.Since(start).Round(time.Millisecond), float64(inspect.Size)/1e6)

	if _, err := cli.SwarmInit(ctx, dswarm.InitRequest{ListenAddr: mgr.Addr, AdvertiseAddr: mgr.Addr}); err != nil {
		t.Fatal(err)
	}
	// The stack file pins Berth to the manager labelled for its data.
	self, _, err := cli.NodeInspectWithRaw(ctx, mustInfo(t, ctx, cli).Swarm.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	spec := self.Spec
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels["berth.data"] = "true"
	if err := cli.NodeUpdate(ctx, self.ID, self.Version, spec); err != nil {
		t.Fatal(err)
	}

	// The overlay network the stack joins is made beforehand (the stack file says how).
	_, err = cli.NetworkCreate(ctx, "berth", network.CreateOptions{Driver: "overlay", Attachable: true, Options: map[string]string{"encrypted": ""}})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	const stack, port = "berthimg", "18080"
	docker := func(ctx context.Context, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, dockerCLI, args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+mgr.Host(), "BERTH_IMAGE="+image, "DOCKER_SOCKET="+mgr.Socket, "BERTH_PORT="+port)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := docker(ctx, "stack", "deploy", "--resolve-image", "never", "-c", "stack.yml", stack); err != nil {
		t.Fatalf("stack deploy: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// ctx is already cancelled when cleanups run.
		start := time.Now()
		if out, err := docker(context.Background(), "stack", "rm", stack); err != nil {
			t.Errorf("stack rm: %v\n%s", err, out)
		}
		waitGone(cli, stack)
		if err := cli.VolumeRemove(context.Background(), stack+"_berth-data", true); err != nil {
			t.Errorf("remove the stack's volume: %v", err)
		}
		t.Logf("stack removed in %s", time.Since(start).Round(time.Millisecond))
	})
	deployed := time.Now()

	var health string
	var containerID string
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && health != "healthy" {
		time.Sleep(time.Second)
		list, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.name="+stack+"_berth"))})
		if err != nil || len(list) == 0 {
			continue
		}
		containerID = list[0].ID
		c, err := cli.ContainerInspect(ctx, containerID)
		if err == nil && c.State.Health != nil {
			health = c.State.Health.Status
		}
	}
	if health != "healthy" {
		tasks, _ := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", stack+"_berth"))})
		for _, task := range tasks {
			t.Logf("task %s: %s %s", task.ID, task.Status.State, task.Status.Err)
		}
		t.Fatalf("the Berth service did not report healthy within 2 minutes (last health %q)", health)
	}

	t.Logf("healthy %s after deploy", time.Since(deployed).Round(time.Millisecond))
	// Reached through the host-mode port on the node, with the engine socket mounted.
	res, err := http.Get("http://" + mgr.Addr + ":" + port + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var h struct{ Status, Database, Docker string }
	if err := json.Unmarshal(body, &h); err != nil || h.Database != "ok" || h.Docker != "ok" {
		t.Errorf("healthz from the service: %s", body)
	}
	logs, err := cli.ContainerLogs(ctx, containerID, container.LogsOptions{ShowStderr: true, ShowStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(logs)
	logs.Close()
	if !strings.Contains(string(raw), "/setup?token=") {
		t.Error("the service log has no one-time setup link")
	}
}

func mustInfo(t *testing.T, ctx context.Context, cli interface {
	Info(context.Context) (system.Info, error)
}) system.Info {
	t.Helper()
	info, err := cli.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// waitGone waits until the stack's containers are removed, so its volume can be.
func waitGone(cli interface {
	ContainerList(context.Context, container.ListOptions) ([]container.Summary, error)
}, stack string) {
	for i := 0; i < 60; i++ {
		list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.docker.stack.namespace="+stack))})
		if err != nil || len(list) == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "stack containers still present after 30s")
}
