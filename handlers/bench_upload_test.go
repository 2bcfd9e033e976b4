package handlers

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

// uploadBytes is the size of the benchmark's file: 1 GiB.
const uploadBytes = 1 << 30

// BenchmarkUpload1GiB measures, in one run on an engine of its own, uploading a 1 GiB
// file into a volume through Berth (HTTP PUT, helper container) against `docker cp`
// of the same file into a container with the volume (the engine's archive
// endpoint), and the server's peak heap growth during Berth's upload. Run it with:
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench Upload1GiB -benchtime 2x ./handlers/
func BenchmarkUpload1GiB(b *testing.B) {
	ts, node := newSwarmOfOne(b)
	ctx := context.Background()
	cli, err := node.Client()
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	u, _ := ts.Store.CreateUser(ctx, "op", testPassword, store.RoleOperator)
	token, _, _ := ts.Store.CreateAPIToken(ctx, u.ID, "bench")
	if r := ts.api(b, token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "benchdata"}); r.Status != http.StatusCreated {
		b.Fatal(r.Body)
	}
	spec := serviceSpec("bench-up")
	spec.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: "benchdata", Target: "/data"}}
	if _, err := cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{}); err != nil {
		b.Fatal(err)
	}
	one := &enginetest.Cluster{Nodes: []*enginetest.Node{node}}
	if _, _, err := one.RunningContainer(ctx, "bench-up"); err != nil {
		b.Fatal(err)
	}
	file := bigFile(b)
	// The raw operation: docker cp into a container (never started) that mounts the volume.
	cp, err := cli.ContainerCreate(ctx, &container.Config{Image: enginetest.BusyboxImage, Cmd: []string{"true"}}, &container.HostConfig{
		Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "benchdata", Target: "/v"}}}, nil, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	defer cli.ContainerRemove(ctx, cp.ID, container.RemoveOptions{Force: true})

	_, reader, err := one.RunningContainer(ctx, "bench-up")
	if err != nil {
		b.Fatal(err)
	}
	// settle empties the volume and flushes the disk, so each measurement starts alike.
	settle := func() {
		b.StopTimer()
		if _, err := enginetest.Exec(ctx, node, reader, "sh", "-c", "rm -f /data/*.bin; sync"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	dockerCp := func(i int) float64 {
		settle()
		start := time.Now()
		if err := cli.CopyToContainer(ctx, cp.ID, "/v", tarOfFile(b, file, fmt.Sprintf("raw-%d.bin", i)), container.CopyToContainerOptions{}); err != nil {
			b.Fatal(err)
		}
		return mbps(uploadBytes, time.Since(start))
	}
	var peak uint64
	berthUpload := func(i int) float64 {
		settle()
		f, _ := os.Open(file)
		defer f.Close()
		q := url.Values{"node": {node.Hostname}, "name": {fmt.Sprintf("berth-%d.bin", i)}}
		req, _ := http.NewRequest(http.MethodPut, ts.URL+"/api/v1/volumes/benchdata/files?"+q.Encode(), f)
		req.ContentLength = uploadBytes
		req.Header.Set("Authorization", "Bearer "+token)
		stop := watchHeap()
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		d := time.Since(start)
		if g := stop(); g > peak {
			peak = g
		}
		if err != nil || res.StatusCode != http.StatusCreated {
			b.Fatalf("upload: %v %v", err, res)
		}
		res.Body.Close()
		return mbps(uploadBytes, d)
	}
	m := rotateRuns(b, dockerCp, berthUpload)
	raw, berth := m[0], m[1]
	b.ReportMetric(raw, "dockercp-MB/s")
	b.ReportMetric(berth, "berth-MB/s")
	b.ReportMetric(berth/raw, "berth/dockercp")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-growth-MiB")
}

// rotateRuns runs each measurement b.N times, rotating which goes first so none always
// follows another's writes, and returns their median rates in the order given.
func rotateRuns(b *testing.B, runs ...func(i int) float64) []float64 {
	got := make([][]float64, len(runs))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range runs {
			j := (i + k) % len(runs)
			got[j] = append(got[j], runs[j](i))
		}
	}
	b.StopTimer()
	medians := make([]float64, len(runs))
	for j := range got {
		medians[j] = medianF(got[j])
	}
	return medians
}

// bigFile writes a 1 GiB file of random megabytes.
func bigFile(b *testing.B) string {
	p := filepath.Join(b.TempDir(), "big.bin")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 1<<20)
	rand.Read(block)
	for i := 0; i < uploadBytes>>20; i++ {
		block[0] = byte(i)
		if _, err := f.Write(block); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// tarOfFile streams a one-file tar of the file, as docker cp sends it.
func tarOfFile(b *testing.B, path, name string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		f, err := os.Open(path)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		defer f.Close()
		tw := tar.NewWriter(pw)
		err = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: uploadBytes})
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// watchHeap samples the heap in use until stopped and returns its peak growth.
func watchHeap() func() uint64 {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				mu.Lock()
				if m.HeapInuse > base.HeapInuse && m.HeapInuse-base.HeapInuse > peak {
					peak = m.HeapInuse - base.HeapInuse
				}
				mu.Unlock()
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
