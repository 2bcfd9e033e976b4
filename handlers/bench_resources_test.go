package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/berthhq/berth/swarm/metrics"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
	dockerclient "github.com/docker/docker/client"
)

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkResourceCollection runs 100 task containers spread over the 3-node swarm, the
// agents on every node, and measures a collection round of Berth's (both other nodes through
// their agents, the sums, the rows written to SQLite): its wall time and this process's CPU
// time, as a share of one core at the 15 s interval, next to the raw reads (each engine's
// container list and one-shot stats of every container, straight to its socket, as many at
// once as Berth reads) in the same run.
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench ResourceCollection -benchtime 20x ./handlers/
func BenchmarkResourceCollection(b *testing.B) {
	cluster := enginetest.Shared(b)
	ctx := context.Background()
	ts := newServer(b, cluster.Manager().Host())
	image := agentImage(b, cluster, 1)
	if err := ts.Engine.SetAgents(swarm.AgentSetup{Keys: portalKeys(b, ts), Image: image, Version: "bench", Publish: true, Socket: agentSocketLinks(b, cluster)}); err != nil {
		b.Fatal(err)
	}
	ts.Engine.RemoveAgent(ctx) // one left by an interrupted run holds other keys
	if _, err := ts.Engine.DeployAgent(ctx); err != nil {
		b.Fatal(err)
	}
	defer ts.Engine.RemoveAgent(context.Background())
	cli := must(cluster.Manager().Client()).value(b)
	defer cli.Close()
	containers := benchEnv("BERTH_BENCH_CONTAINERS", 100)
	replicas := uint64(containers)
	name := uniq("sleepers")
	spec := serviceSpec(name)
	spec.Mode.Replicated.Replicas = &replicas
	spec.TaskTemplate.ContainerSpec.Command = []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 5; done"}
	spec.EndpointSpec = &dswarm.EndpointSpec{Mode: dswarm.ResolutionModeDNSRR}
	if _, err := cli.ServiceCreate(ctx, spec, dswarm.ServiceCreateOptions{}); err != nil {
		b.Fatal(err)
	}
	defer cli.ServiceRemove(context.Background(), name)
	collector := &metrics.Collector{Source: ts.Engine, Store: ts.Store, Log: ts.handler.log, Every: 15 * time.Second}
	waitFor(b, 10*time.Minute, fmt.Sprintf("%d containers read on 3 nodes", containers), func() bool {
		if err := collector.CollectOnce(ctx); err != nil {
			b.Logf("collecting: %v", err)
			return false
		}
		l := collector.Latest()
		if len(l.NodeError) > 0 {
			b.Logf("nodes not read: %v", l.NodeError)
		}
		n := 0
		for _, t := range l.Tasks {
			if t.Service == name {
				n++
			}
		}
		if n != containers {
			b.Logf("%d of %d containers read", n, containers)
		}
		return n == containers && len(l.Hosts) == len(cluster.Nodes)
	})
	engines := make([]*dockerclient.Client, len(cluster.Nodes))
	for i, n := range cluster.Nodes {
		engines[i] = must(n.Client()).value(b)
		defer engines[i].Close()
	}
	raw := func() {
		var wg sync.WaitGroup
		for _, e := range engines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				list, err := e.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.task.id"))})
				if err != nil {
					b.Error(err)
					return
				}
				sem := make(chan struct{}, 16) // as many at once as Berth reads
				var each sync.WaitGroup
				for _, c := range list {
					each.Add(1)
					sem <- struct{}{}
					go func() {
						defer each.Done()
						defer func() { <-sem }()
						res, err := e.ContainerStatsOneShot(ctx, c.ID)
						if err != nil {
							return
						}
						var s container.StatsResponse
						json.NewDecoder(res.Body).Decode(&s)
						res.Body.Close()
					}()
				}
				each.Wait()
			}()
		}
		wg.Wait()
	}
	round := func(fn func()) (wall, cpu time.Duration) {
		w, c := time.Now(), processCPU()
		fn()
		return time.Since(w), processCPU() - c
	}
	var berthWall, berthCPU, rawWall, rawCPU time.Duration
	b.ResetTimer()
	for range b.N {
		w, c := round(func() {
			if err := collector.CollectOnce(ctx); err != nil {
				b.Fatal(err)
			}
		})
		berthWall, berthCPU = berthWall+w, berthCPU+c
		w, c = round(raw)
		rawWall, rawCPU = rawWall+w, rawCPU+c
	}
	b.StopTimer()
	n := time.Duration(b.N)
	share := 100 * float64(berthCPU/n) / float64(15*time.Second)
	fmt.Printf("%d containers on %d nodes, %d rounds: Berth's collection %s wall, %s CPU a round (%.2f %% of one core at 15 s); the raw reads %s wall, %s CPU (Berth/raw CPU %.2f)\n",
		containers, len(cluster.Nodes), b.N, (berthWall / n).Round(time.Millisecond), (berthCPU / n).Round(time.Millisecond), share,
		(rawWall / n).Round(time.Millisecond), (rawCPU / n).Round(time.Millisecond), float64(berthCPU)/float64(rawCPU))
	b.ReportMetric(share, "cpu-%-at-15s")
	b.ReportMetric(float64(berthCPU)/float64(rawCPU), "cpu-vs-raw")
}

// BenchmarkServicePageWithAWeeksGraph fills Berth's database with 30 days of samples for
// 50 services at the collector's resolutions (the bound each series keeps) and measures the
// service page with the 7-day graphs, the hour's page, and the raw read of the week's
// samples from SQLite, in the same run.
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench ServicePageWithAWeeksGraph ./handlers/
func BenchmarkServicePageWithAWeeksGraph(b *testing.B) {
	cluster := enginetest.Shared(b)
	ctx := context.Background()
	ts := newServer(b, cluster.Manager().Host())
	cli := must(cluster.Manager().Client()).value(b)
	defer cli.Close()
	names := createPendingServices(b, ts, cli, 50, 1)
	now := time.Now()
	var rows []store.ResourceSample
	for _, name := range names {
		for _, tier := range []struct{ from, to, step time.Duration }{{30 * 24 * time.Hour, 48 * time.Hour, 10 * time.Minute},
			{48 * time.Hour, 6 * time.Hour, time.Minute}, {6 * time.Hour, 0, 15 * time.Second}} {
			for t := now.Add(-tier.from).Truncate(tier.step); t.Before(now.Add(-tier.to)); t = t.Add(tier.step) {
				x := float64(t.Unix()%3600) / 3600
				rows = append(rows, store.ResourceSample{Kind: "service", Name: name, T: t, Step: tier.step, CPU: x, Memory: int64(64<<20 + x*(32<<20)),
					MemoryLimit: 128 << 20, NetRx: 1000 * x, NetTx: 500 * x})
			}
		}
	}
	if err := ts.Store.SaveResourceSamples(ctx, rows); err != nil {
		b.Fatal(err)
	}
	viewer := ts.signedIn(uniq("graphs"), store.RoleViewer)
	name := names[0]
	page := func(rg string) func() error {
		return func() error {
			p := viewer.get("/services/" + name + "?range=" + rg)
			if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="graph-memory"`) || strings.Contains(p.Body, "graph-empty") {
				return fmt.Errorf("the %s page: %d", rg, p.Status)
			}
			return nil
		}
	}
	read := func() error {
		s, err := ts.Store.ResourceSamples(ctx, "service", name, 30*time.Minute, now.Add(-7*24*time.Hour))
		if err == nil && len(s) < 330 {
			err = fmt.Errorf("the week has %d points", len(s))
		}
		return err
	}
	b.ResetTimer()
	week, hour, raw := measure(1, 0, page("7d")), measure(1, 0, page("1h")), measure(1, 0, read)
	b.StopTimer()
	for _, r := range []loadResult{week, hour, raw} {
		if r.errors > 0 {
			b.Fatal(r.firstErr)
		}
	}
	fmt.Printf("%d samples in the database: the service page with the 7-day graphs %s (median of 20), with the hour's %s; the raw read of the week's samples %s (page/raw %.1f)\n",
		len(rows), week.p50.Round(10*time.Microsecond), hour.p50.Round(10*time.Microsecond), raw.p50.Round(10*time.Microsecond), float64(week.p50)/float64(raw.p50))
	b.ReportMetric(float64(week.p50.Microseconds())/1000, "ms-week-page")
}
