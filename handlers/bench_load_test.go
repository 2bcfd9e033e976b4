package handlers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// BenchmarkPagesUnderLoad holds many clients on every page, fragment and API list a
// viewer can open, one route at a time, against the 3-node test swarm holding many
// services with pending tasks, and prints each route's p50/p99 next to a raw engine
// listing (services plus tasks) measured in the same run, with the engine calls each
// route made as a counting proxy in front of the engine saw them. Run it with:
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench PagesUnderLoad -benchtime 1x ./handlers/
//
// BERTH_BENCH_SERVICES (300), BERTH_BENCH_TASKS (2 per service), BERTH_BENCH_CLIENTS (50)
// and BERTH_BENCH_SECONDS (30 per route) change the scale; 2000 and 5 give 10,000 tasks.
// BERTH_BENCH_ROUTES, a regular expression on "GET /path", measures only the routes it matches.
func BenchmarkPagesUnderLoad(b *testing.B) {
	services, perService := benchEnv("BERTH_BENCH_SERVICES", 300), benchEnv("BERTH_BENCH_TASKS", 2)
	clients, seconds := benchEnv("BERTH_BENCH_CLIENTS", 50), benchEnv("BERTH_BENCH_SECONDS", 30)
	report := func(format string, args ...any) { fmt.Printf(format+"\n", args...) } // the whole table: b.Logf truncates it
	cluster := enginetest.Shared(b)
	proxy := enginetest.NewCountingProxy(b, cluster.Manager())
	ts := newServer(b, proxy.Host())
	ctx := context.Background()
	cli := must(cluster.Manager().Client()).value(b)
	defer cli.Close()
	names := createPendingServices(b, ts, cli, services, perService)

	users := make([]*client, 10)
	keepAlive := &http.Transport{MaxIdleConnsPerHost: clients} // as browsers do, connections stay open
	for i := range users {
		users[i] = ts.signedIn(fmt.Sprintf("loadviewer%d", i), store.RoleViewer)
		users[i].http.Transport = keepAlive
		users[i].get("/account/2fa") // an enrolment in progress, so its QR image has something to draw
	}
	token := must(createToken(ts, "loadviewer0")).value(b)
	nodes := must(ts.Engine.Nodes(ctx)).value(b)
	fill := routeFiller(map[string]string{"services": names[len(names)/2], "nodes": nodes[0].ID})

	raw := measure(1, time.Duration(seconds)*time.Second/3, func() error {
		if _, err := cli.ServiceList(ctx, dswarm.ServiceListOptions{}); err != nil {
			return err
		}
		_, err := cli.TaskList(ctx, dswarm.TaskListOptions{})
		return err
	})
	report("raw engine listing (services + tasks), 1 client: p50 %s p99 %s", ms(raw.p50), ms(raw.p99))
	report("%-34s %9s %9s %9s %9s %7s %7s", "route", "single", "p50", "p99", "req/s", "errors", "engine")
	worst := time.Duration(0)
	only := regexp.MustCompile(os.Getenv("BERTH_BENCH_ROUTES")) // empty: every route
	for _, r := range ts.handler.Routes() {
		route := r.Method + " " + r.Path
		if !only.MatchString(route) || r.Method != http.MethodGet || r.Stream || r.Hook || r.MinRole != store.RoleViewer || readsThatCallTheEngine[route] != "" || strings.Contains(fill(r.Path), ":") {
			continue
		}
		path := fill(r.Path)
		if strings.HasSuffix(path, "/export") {
			path += "?format=json" // the API's export names its format
		}
		get := func(c *client) error {
			req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
			if err != nil {
				return err
			}
			if r.API {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := c.http.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", res.StatusCode)
			}
			return nil
		}
		single := measure(1, 0, func() error { return get(users[0]) })
		before, _ := proxy.Counts()
		var next int
		var mu sync.Mutex
		load := measure(clients, time.Duration(seconds)*time.Second, func() error {
			mu.Lock()
			c := users[next%len(users)]
			next++
			mu.Unlock()
			return get(c)
		})
		after, _ := proxy.Counts()
		ts.Log.Reset() // the request log is written as in production, but not kept in memory across routes
		calls := after[route] - before[route]
		report("%-34s %9s %9s %9s %9.0f %7d %7d", route, ms(single.p50), ms(load.p50), ms(load.p99), load.perSecond, load.errors, calls)
		worst = max(worst, load.p99)
		if load.errors > 0 || calls > 0 {
			b.Errorf("%s: %d errors (%v), %d engine calls", route, load.errors, load.firstErr, calls)
		}
	}
	var mem runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&mem)
	report("%d services, %d tasks, %d clients: worst p99 %s (goal: under 100 ms); raw listing p50 %s; live Go heap after a collection %d MiB, process resident %s (Berth, the proxy and the load generator together)",
		services, services*perService, clients, ms(worst), ms(raw.p50), mem.HeapAlloc>>20, residentSize())
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-p99-ms")
	b.ReportMetric(float64(raw.p50.Microseconds())/1000, "raw-p50-ms")
}

// createPendingServices creates n services of perService replicas that stay pending
// (they ask for a node label no node has), so the engine holds n*perService tasks
// without this machine running them, and waits until the live model holds them all.
func createPendingServices(b *testing.B, ts *testServer, cli interface {
	ServiceCreate(context.Context, dswarm.ServiceSpec, dswarm.ServiceCreateOptions) (dswarm.ServiceCreateResponse, error)
	ServiceRemove(context.Context, string) error
}, n, perService int) []string {
	ctx := context.Background()
	replicas := uint64(perService)
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("load-%04d", i)
		spec := serviceSpec(names[i])
		spec.Mode.Replicated.Replicas = &replicas
		spec.TaskTemplate.Placement = &dswarm.Placement{Constraints: []string{"node.labels.bench==nowhere"}}
		if _, err := cli.ServiceCreate(ctx, spec, dswarm.ServiceCreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		for _, name := range names {
			cli.ServiceRemove(context.Background(), name)
		}
	})
	waitFor(b, 10*time.Minute, fmt.Sprintf("%d tasks in the live model", n*perService), func() bool {
		list, err := ts.Engine.Services(ctx)
		return err == nil && countTasks(list) >= n*perService
	})
	return names
}

// loadResult is what one route did under load.
type loadResult struct {
	p50, p99  time.Duration
	perSecond float64
	errors    int
	firstErr  error
}

// measure calls fn from n clients until d has passed (or 20 times from one client when
// d is 0) and reports the latencies' median and 99th percentile.
func measure(n int, d time.Duration, fn func() error) loadResult {
	var mu sync.Mutex
	var all []time.Duration
	var res loadResult
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; d > 0 && time.Since(start) < d || d == 0 && i < 20; i++ {
				t0 := time.Now()
				err := fn()
				took := time.Since(t0)
				mu.Lock()
				all = append(all, took)
				if err != nil {
					res.errors++
					if res.firstErr == nil {
						res.firstErr = err
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) > 0 {
		res.p50, res.p99 = all[len(all)/2], all[len(all)*99/100]
		res.perSecond = float64(len(all)) / time.Since(start).Seconds()
	}
	return res
}

func benchEnv(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// residentSize is this process's resident memory as the kernel counts it.
func residentSize() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// createToken makes an API token for the named user.
func createToken(ts *testServer, name string) (string, error) {
	u, err := ts.Store.UserByName(context.Background(), name)
	if err != nil {
		return "", err
	}
	token, _, err := ts.Store.CreateAPIToken(context.Background(), u.ID, "load")
	return token, err
}
