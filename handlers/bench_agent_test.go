package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	dockerclient "github.com/docker/docker/client"
)

// BenchmarkUploadToWorker measures, on the shared three-node swarm, uploading a 1 GiB
// file into a volume on a worker through Berth (HTTP PUT to Berth on the manager, TLS to
// the worker's agent, the worker engine's archive endpoint, a helper there) against
// `docker cp` of the same file to the worker's engine from a remote client (TCP with
// mutual TLS, as DOCKER_HOST=tcp://worker:2376 does) and on the worker itself (its unix
// socket, no network). Run it with:
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench UploadToWorker -benchtime 2x ./handlers/
func BenchmarkUploadToWorker(b *testing.B) {
	cluster := enginetest.Shared(b)
	ctx := context.Background()
	ts := newServer(b, cluster.Manager().Host())
	worker := cluster.Nodes[1]
	image := agentImage(b, cluster, 1)
	keys := portalKeys(b, ts)
	if err := ts.Engine.SetAgents(swarm.AgentSetup{Keys: keys, Image: image, Version: "bench", Publish: true, Socket: agentSocketLinks(b, cluster)}); err != nil {
		b.Fatal(err)
	}
	if _, err := ts.Engine.DeployAgent(ctx); err != nil {
		b.Fatal(err)
	}
	defer ts.Engine.RemoveAgent(context.Background())
	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, err := ts.Engine.NodeVolumes(ctx, worker.Hostname); err == nil {
			break
		} else if time.Now().After(deadline) {
			b.Fatalf("the agent on %s: %v", worker.Hostname, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	u, _ := ts.Store.CreateUser(ctx, "op", testPassword, store.RoleOperator)
	token, _, _ := ts.Store.CreateAPIToken(ctx, u.ID, "bench")
	mapping := uniq("benchw")
	if r := ts.api(b, token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": mapping}); r.Status != http.StatusCreated {
		b.Fatal(r.Body)
	}
	cli, err := worker.Client()
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	remote, err := worker.RemoteClient()
	if err != nil {
		b.Fatal(err)
	}
	defer remote.Close()
	// The raw operation: docker cp, on the worker's own engine, into a container that mounts the volume.
	cp, err := cli.ContainerCreate(ctx, &container.Config{Image: enginetest.BusyboxImage, Cmd: []string{"true"}}, &container.HostConfig{
		Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: mapping, Target: "/v"}}}, nil, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		cli.ContainerRemove(context.Background(), cp.ID, container.RemoveOptions{Force: true})
		cli.VolumeRemove(context.Background(), mapping, true)
	}()
	file := bigFile(b)
	settle := func() {
		b.StopTimer()
		runOnce(b, ctx, cli, "rm -f /v/*.bin; sync", mapping)
		b.StartTimer()
	}
	dockerCp := func(cli *dockerclient.Client, name string) func(i int) float64 {
		return func(i int) float64 {
			settle()
			start := time.Now()
			if err := cli.CopyToContainer(ctx, cp.ID, "/v", tarOfFile(b, file, fmt.Sprintf("%s-%d.bin", name, i)), container.CopyToContainerOptions{}); err != nil {
				b.Fatal(err)
			}
			return mbps(uploadBytes, time.Since(start))
		}
	}
	berthUpload := func(i int) float64 {
		settle()
		f, _ := os.Open(file)
		defer f.Close()
		q := url.Values{"node": {worker.Hostname}, "name": {fmt.Sprintf("berth-%d.bin", i)}}
		req, _ := http.NewRequest(http.MethodPut, ts.URL+"/api/v1/volumes/"+mapping+"/files?"+q.Encode(), f)
		req.ContentLength = uploadBytes
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		d := time.Since(start)
		if err != nil || res.StatusCode != http.StatusCreated {
			b.Fatalf("upload: %v %v", err, res)
		}
		res.Body.Close()
		return mbps(uploadBytes, d)
	}
	m := rotateRuns(b, dockerCp(remote, "remote"), dockerCp(cli, "local"), berthUpload)
	b.ReportMetric(m[0], "dockercp-remote-tls-MB/s")
	b.ReportMetric(m[1], "dockercp-on-worker-MB/s")
	b.ReportMetric(m[2], "berth-agent-MB/s")
	b.ReportMetric(m[2]/m[0], "berth/dockercp-remote")
	b.ReportMetric(m[2]/m[1], "berth/dockercp-on-worker")
}
