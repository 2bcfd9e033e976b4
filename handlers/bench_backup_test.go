package handlers

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	dockerclient "github.com/docker/docker/client"
)

// BenchmarkBackup1GiB measures, in one run on an engine of its own, a snapshot of a
// 1 GiB volume through Berth against `tar | zstd -1` of the same folder, and a restore
// through Berth against `docker cp` of the same data into a container with a volume.
// Run it with:
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench Backup1GiB -benchtime 2x ./handlers/
func BenchmarkBackup1GiB(b *testing.B) {
	ts, node := newSwarmOfOne(b)
	ctx := context.Background()
	u := ts.addUser("op", "operator")
	token, _, _ := ts.Store.CreateAPIToken(ctx, u.ID, "bench")
	if r := ts.api(b, token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "benchvol"}); r.Status != http.StatusCreated {
		b.Fatal(r.Body)
	}
	cli, err := node.Client()
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	// 1 GiB in 16 files: half random, half text that compresses.
	fill := "for i in 1 2 3 4 5 6 7 8; do head -c 67108864 /dev/urandom > /v/rand$i; done; " +
		"for i in 1 2 3 4 5 6 7 8; do yes 'berth backup benchmark line of text' | head -c 67108864 > /v/text$i; done; sync"
	runOnce(b, ctx, cli, fill, "benchvol")
	vol, err := cli.VolumeInspect(ctx, "benchvol")
	if err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	var raw, berth, rawRestore, berthRestore []float64
	for i := 0; i < b.N; i++ {
		dropCaches(b)
		start := time.Now()
		cmd := exec.Command("sh", "-c", fmt.Sprintf("tar -cf - -C %s . | zstd -q -1 -T2 -o %s/raw-%d.tar.zst && sync", vol.Mountpoint, out, i))
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("tar | zstd: %v %s", err, o)
		}
		raw = append(raw, mbps(1<<30, time.Since(start)))

		dropCaches(b)
		start = time.Now()
		done := make(chan error, 1)
		id, err := ts.Backups.Start(ctx, "bench", func(res backup.Result) { done <- res.Err })
		if err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		berth = append(berth, mbps(1<<30, time.Since(start)))

		// Restore: docker cp of the same data (uncompressed tar) against Berth's restore into a new volume.
		target := fmt.Sprintf("restored-%d", i)
		tarFile := filepath.Join(out, fmt.Sprintf("raw-%d.tar", i))
		if o, err := exec.Command("sh", "-c", fmt.Sprintf("zstd -q -d %s/raw-%d.tar.zst -o %s", out, i, tarFile)).CombinedOutput(); err != nil {
			b.Fatalf("unpack: %v %s", err, o)
		}
		cp, err := cli.ContainerCreate(ctx, &container.Config{Image: enginetest.BusyboxImage, Cmd: []string{"true"}}, &container.HostConfig{
			Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "cp-" + target, Target: "/v"}}}, nil, nil, "")
		if err != nil {
			b.Fatal(err)
		}
		dropCaches(b)
		f, _ := os.Open(tarFile)
		start = time.Now()
		if err := cli.CopyToContainer(ctx, cp.ID, "/v", f, container.CopyToContainerOptions{}); err != nil {
			b.Fatal(err)
		}
		syncDisk(b)
		rawRestore = append(rawRestore, mbps(1<<30, time.Since(start)))
		f.Close()
		cli.ContainerRemove(ctx, cp.ID, container.RemoveOptions{Force: true})
		os.Remove(tarFile)

		dropCaches(b)
		start = time.Now()
		if _, err := ts.Backups.RestoreVolume(ctx, backup.VolumeRestore{Snapshot: id, Mapping: "benchvol", Node: node.Hostname, Volume: target}); err != nil {
			b.Fatal(err)
		}
		syncDisk(b)
		berthRestore = append(berthRestore, mbps(1<<30, time.Since(start)))
		cli.VolumeRemove(ctx, target, true)
		cli.VolumeRemove(ctx, "cp-"+target, true)
		ts.Backups.Target.Remove(id)
	}
	b.ReportMetric(medianF(raw), "tarzstd-MB/s")
	b.ReportMetric(medianF(berth), "berth-backup-MB/s")
	b.ReportMetric(medianF(berth)/medianF(raw), "backup/tarzstd")
	b.ReportMetric(medianF(rawRestore), "dockercp-MB/s")
	b.ReportMetric(medianF(berthRestore), "berth-restore-MB/s")
	b.ReportMetric(medianF(berthRestore)/medianF(rawRestore), "restore/dockercp")
}

// runOnce runs a shell script in a busybox container with the volume at /v, and waits for it.
func runOnce(b testing.TB, ctx context.Context, cli *dockerclient.Client, script, volume string) {
	b.Helper()
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: enginetest.BusyboxImage, Cmd: []string{"sh", "-c", script}},
		&container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: volume, Target: "/v"}}}, nil, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	defer cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		b.Fatal(err)
	}
	waitC, errC := cli.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	select {
	case w := <-waitC:
		if w.StatusCode != 0 {
			b.Fatalf("script exited %d", w.StatusCode)
		}
	case err := <-errC:
		b.Fatal(err)
	}
}

// dropCaches flushes and empties the page cache, so each measurement reads from disk alike.
func dropCaches(b testing.TB) {
	b.Helper()
	syncDisk(b)
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0o200); err != nil {
		b.Fatal(err)
	}
}

// syncDisk waits for written data to reach the disk.
func syncDisk(b testing.TB) {
	b.Helper()
	if err := exec.Command("sync").Run(); err != nil {
		b.Fatal(err)
	}
}
