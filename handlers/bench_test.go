package handlers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	berthswarm "github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/swarm"
)

// BenchmarkServicesAt500 measures, in one run, the median time of one raw Docker
// listing of services plus tasks, of Berth's services page and of GET /api/v1/services,
// with 500 services and 1000 tasks on a swarm of its own. Run it with:
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench ServicesAt500 -benchtime 200x ./handlers/
//
// The tasks stay pending (their services ask for a node label no node has), so
// the engine holds 1000 tasks without this machine running 1000 containers.
func BenchmarkServicesAt500(b *testing.B) {
	node := enginetest.Dedicated(b)
	ctx := context.Background()
	cli, err := node.Client()
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	ts := newServer(b, node.Host())
	if err := ts.Engine.Initialize(ctx, node.Addr); err != nil {
		b.Fatal(err)
	}
	two := uint64(2)
	for i := 0; i < 500; i++ {
		spec := serviceSpec(fmt.Sprintf("bench-%03d", i))
		spec.Mode.Replicated.Replicas = &two
		spec.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.labels.bench==nowhere"}}
		if _, err := cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, 2*time.Minute, "1000 tasks", func() bool {
		tasks, _ := cli.TaskList(ctx, swarm.TaskListOptions{})
		services, _ := ts.Engine.Services(ctx)
		return len(tasks) == 1000 && len(services) == 500 && countTasks(services) == 1000
	})
	u, _ := ts.Store.CreateUser(ctx, "bench", testPassword, store.RoleViewer)
	token, _, _ := ts.Store.CreateAPIToken(ctx, u.ID, "bench")
	c := ts.client()
	c.login("bench", testPassword, "")

	get := func(path string, bearer bool) {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if bearer {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := c.http.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || n < 10000 {
			b.Fatalf("%s: status %d, %d bytes", path, res.StatusCode, n)
		}
	}
	var raw, page, api []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := cli.ServiceList(ctx, swarm.ServiceListOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := cli.TaskList(ctx, swarm.TaskListOptions{}); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, time.Since(start))
		start = time.Now()
		get("/services", false)
		page = append(page, time.Since(start))
		start = time.Now()
		get("/api/v1/services", true)
		api = append(api, time.Since(start))
	}
	b.StopTimer()
	r, p, a := median(raw), median(page), median(api)
	b.ReportMetric(float64(r.Microseconds())/1000, "raw-ms")
	b.ReportMetric(float64(p.Microseconds())/1000, "page-ms")
	b.ReportMetric(float64(a.Microseconds())/1000, "api-ms")
	b.ReportMetric(float64(p)/float64(r), "page/raw")
	b.ReportMetric(float64(a)/float64(r), "api/raw")
}

func countTasks(services []berthswarm.Service) int {
	n := 0
	for _, s := range services {
		n += len(s.Tasks)
	}
	return n
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
