package handlers

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/alerts"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/chromedp/chromedp"
	units "github.com/docker/go-units"
)

// dockerStats reads `docker stats --no-stream` of a service's task on a node: cores and bytes in use.
func dockerStats(t *testing.T, node *enginetest.Node, service string) (float64, int64) {
	t.Helper()
	out, err := exec.Command("docker", "-H", node.Host(), "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+service).Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("the task of %s on %s: %v %q", service, node.Hostname, err, out)
	}
	id := strings.Fields(string(out))[0]
	out, err = exec.Command("docker", "-H", node.Host(), "stats", "--no-stream", "--format", "{{.CPUPerc}} {{.MemUsage}}", id).Output()
	if err != nil {
		t.Fatalf("docker stats: %v", err)
	}
	f := strings.Fields(string(out)) // "99.87% 63.5MiB / 1.9GiB"
	cpu, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
	if err != nil {
		t.Fatalf("docker stats' CPU %q: %v", out, err)
	}
	mem, err := units.RAMInBytes(f[1])
	if err != nil {
		t.Fatalf("docker stats' memory %q: %v", out, err)
	}
	return cpu / 100, mem
}

// near says whether a is within 10 % of b (or within floor of it, for small values).
func near(a, b, floor float64) bool { return math.Abs(a-b) <= math.Max(0.1*b, floor) }

func TestResourceUseOfABusyServiceShowsOnItsServiceAndNode(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	admin := s.signedIn("resadmin", store.RoleAdmin)
	deployAgents(t, s, admin, agentImage(t, s.cluster, 1))
	worker := s.cluster.Nodes[1]
	// The memory alert after one minute (the setting's least), not five.
	form := url.Values{"degraded_minutes": {"5"}, "restart_failures": {"5"}, "cert_days": {"14"}, "disk_percent": {"99"}, "repeat_hours": {"4"},
		"memory_percent": {"90"}, "memory_minutes": {"1"}}
	for kind := range alerts.Kinds {
		form.Set("on_"+kind, "on")
	}
	if p := admin.post("/alerts/settings", form); p.Status != http.StatusSeeOther {
		t.Fatalf("alert settings: %d %s", p.Status, p.Body)
	}
	holdMiB := "dd if=/dev/zero of=/dev/shm/blob bs=1048576 count=64 2>/dev/null; trap 'exit 0' TERM; while true; do sleep 1; done"
	burn, hold, full := uniq("burn"), uniq("hold"), uniq("full")
	for name, script := range map[string]string{burn: "while :; do :; done", hold: holdMiB, full: holdMiB} {
		spec := swarm.ServiceSpec{Name: name, Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
			Command: []string{"sh", "-c", script}, Constraints: []string{"node.hostname==" + worker.Hostname}}
		if name == full {
			spec.Resources = &swarm.Resources{LimitMemory: "70M"} // 64 MiB held is over 90 % of it
		}
		s.mustAPI(t, s.token, http.MethodPost, "/api/v1/services", spec, http.StatusCreated)
		t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), name) })
		waitRunning(t, s, name, 1, enginetest.BusyboxImage)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go s.Resources.Run(ctx)
	go s.Alerts.Run(ctx, time.Second)
	started := time.Now()

	var svc APIService
	step(t, "the busy service shows about one core, as docker stats does", func(t *testing.T) {
		waitFor(t, 30*time.Second, "one core on "+burn, func() bool {
			s.mustAPI(t, s.token, http.MethodGet, "/api/v1/services/"+burn, nil, http.StatusOK).decode(t, &svc)
			if svc.State.CPU == nil || *svc.State.CPU < 0.5 {
				return false
			}
			cpu, _ := dockerStats(t, worker, burn)
			return near(*svc.State.CPU, cpu, 0.1)
		})
		row := regexp.MustCompile(`(?s)<tr id="service-` + burn + `">.*?</tr>`).FindString(admin.get("/services?q=" + burn).Body)
		if !regexp.MustCompile(`class="nowrap cpu">[01]\.[0-9]{2} cores?<`).MatchString(row) || !strings.Contains(row, `class="nowrap memory">`) {
			t.Errorf("the Services list's row of %s lacks its CPU and memory: %s", burn, row)
		}
	})
	step(t, "the service holding 64 MiB shows about 64 MiB, as docker stats does", func(t *testing.T) {
		waitFor(t, 30*time.Second, "64 MiB on "+hold, func() bool {
			s.mustAPI(t, s.token, http.MethodGet, "/api/v1/services/"+hold, nil, http.StatusOK).decode(t, &svc)
			if svc.State.MemoryBytes == nil || !near(float64(*svc.State.MemoryBytes), 64<<20, 0) {
				return false
			}
			_, mem := dockerStats(t, worker, hold)
			return near(float64(*svc.State.MemoryBytes), float64(mem), 0)
		})
	})
	step(t, "the node carries it, in its history and in /metrics", func(t *testing.T) {
		var history struct {
			Samples []apiSample `json:"samples"`
			Step    int         `json:"step_s"`
		}
		waitFor(t, 30*time.Second, "the worker's history", func() bool {
			s.mustAPI(t, s.token, http.MethodGet, "/api/v1/nodes/"+worker.Hostname+"/metrics?range=1h", nil, http.StatusOK).decode(t, &history)
			n := len(history.Samples)
			return n > 0 && history.Samples[n-1].CPU > 0.5 && history.Samples[n-1].Memory > 60<<20
		})
		if history.Step != 15 {
			t.Errorf("the hour's step: %d s", history.Step)
		}
		s.mustAPI(t, s.token, http.MethodGet, "/api/v1/services/"+burn+"/metrics?range=7d", nil, http.StatusOK).decode(t, &history)
		if len(history.Samples) == 0 || history.Step != 1800 {
			t.Errorf("the week's graph of %s: %d samples, step %d s", burn, len(history.Samples), history.Step)
		}
		if r := s.api(t, s.token, http.MethodGet, "/api/v1/services/"+burn+"/metrics?range=1y", nil); r.Status != http.StatusBadRequest {
			t.Errorf("an unknown range: %d", r.Status)
		}
		token := must(createToken(s.testServer, "resadmin")).value(t)
		families := scrape(t, s.testServer, token)
		if cpu, ok := series(families["berth_service_cpu_cores"], map[string]string{"service": burn, "node": worker.Hostname}); !ok || cpu < 0.5 {
			t.Errorf("/metrics: %s's CPU on %s: %v %v", burn, worker.Hostname, cpu, ok)
		}
		if mem, ok := series(families["berth_node_memory_bytes"], map[string]string{"node": worker.Hostname}); !ok || mem < 60<<20 {
			t.Errorf("/metrics: %s's memory: %v %v", worker.Hostname, mem, ok)
		}
		used, ok1 := series(families["berth_node_disk_used_bytes"], map[string]string{"node": worker.Hostname})
		total, ok2 := series(families["berth_node_disk_total_bytes"], map[string]string{"node": worker.Hostname})
		if !ok1 || !ok2 || used <= 0 || used > total {
			t.Errorf("/metrics: %s's disk: %v of %v", worker.Hostname, used, total)
		}
	})
	step(t, "Top ranks the busy service first by CPU and the holding one above it by memory", func(t *testing.T) {
		cpu, mem := admin.get("/top?by=cpu").Body, admin.get("/top?by=memory").Body
		if i, j := strings.Index(cpu, ">"+burn+"<"), strings.Index(cpu, ">"+hold+"<"); i < 0 || j < 0 || i > j {
			t.Errorf("by CPU: %s at %d, %s at %d", burn, i, hold, j)
		}
		if i, j := strings.Index(mem, ">"+hold+"<"), strings.Index(mem, ">"+burn+"<"); i < 0 || j < 0 || i > j {
			t.Errorf("by memory: %s at %d, %s at %d", hold, i, burn, j)
		}
		if !strings.Contains(mem, "% of 70.0 MiB") {
			t.Errorf("by memory: %s's share of its limit is not shown", full)
		}
	})
	step(t, "the Nodes page shows the worker's cores, memory and data-root disk in use", func(t *testing.T) {
		row := regexp.MustCompile(`(?s)<tr id="node-` + worker.Hostname + `">.*?</tr>`).FindString(admin.get("/nodes").Body)
		cpu := regexp.MustCompile(`class="node-cpu">\s*([0-9.]+) of ([0-9.]+)`).FindStringSubmatch(row)
		if cpu == nil || must(strconv.ParseFloat(cpu[1], 64)).value(t) < 0.5 {
			t.Errorf("the worker's CPU: %v in %s", cpu, row)
		}
		tasks := regexp.MustCompile(`tasks ([0-9.]+) MiB`).FindStringSubmatch(row)
		if !regexp.MustCompile(`class="node-memory">\s*[0-9.]+ [KMG]iB of [0-9.]+ GiB`).MatchString(row) || tasks == nil || must(strconv.ParseFloat(tasks[1], 64)).value(t) < 120 {
			t.Errorf("the worker's memory (the host's, and its tasks' over 128 MiB): %s", row)
		}
		if !regexp.MustCompile(`class="node-disk[^"]*">\s*[0-9]+ % of [0-9.]+ [MGT]iB`).MatchString(row) {
			t.Errorf("the worker's disk: %s", row)
		}
	})
	b := newBrowser(t)
	b.signIn(t, s.URL, "resadmin")
	step(t, "in a browser, the service page draws its graphs and they follow new figures live", func(t *testing.T) {
		b.do(t, "open the service page", chromedp.Navigate(s.URL+"/services/"+burn), chromedp.WaitVisible(chromedp.CSS("#service-usage")))
		b.poll(t, "a CPU line through the samples", `(document.querySelector("#graph-cpu path.graph-line")?.getAttribute("d") || "").includes("L")`, 30*time.Second)
		eval[bool](t, b, `window.berthMarker = true`)
		first := eval[int](t, b, `document.querySelectorAll("#graph-cpu rect.graph-hover").length`)
		b.poll(t, "a new sample pushed into the open page", `document.querySelectorAll("#graph-cpu rect.graph-hover").length > `+strconv.Itoa(first), 40*time.Second)
		if !eval[bool](t, b, `window.berthMarker === true`) {
			t.Error("the page reloaded instead of updating")
		}
		hover := eval[string](t, b, `[...document.querySelectorAll("#graph-cpu rect.graph-hover title")].pop().textContent`)
		if !strings.Contains(hover, "CPU: ") || !strings.Contains(hover, " on "+worker.Hostname+": ") {
			t.Errorf("the last hover of the CPU graph names no task: %q", hover)
		}
		b.screenshot(t, "service-graphs")
		b.do(t, "the week's graph", chromedp.Navigate(s.URL+"/services/"+burn+"?range=7d"), chromedp.WaitVisible(chromedp.CSS("#graph-memory")))
		if got := eval[string](t, b, `document.querySelector(".range-links a[aria-current]").textContent`); got != "7d" {
			t.Errorf("the chosen range reads %q", got)
		}
		b.requireCleanConsole(t)
	})
	step(t, "the service holding over 90 % of its memory limit raises an alert after the minute set, not before", func(t *testing.T) {
		var list []map[string]any
		waitFor(t, 150*time.Second, "the memory alert of "+full, func() bool {
			s.mustAPI(t, s.token, http.MethodGet, "/api/v1/alerts?kind=memory_limit", nil, http.StatusOK).decode(t, &list)
			return len(list) == 1 && list[0]["object"] == "service:"+full && list[0]["state"] == "open"
		})
		if took := time.Since(started); took < time.Minute {
			t.Errorf("the alert opened %s after the figures began, before the minute held", took)
		}
		if title, _ := list[0]["title"].(string); !strings.Contains(title, full+" uses 9") {
			t.Errorf("the alert's title: %q", title)
		}
	})
	step(t, "after a minute and more, the worker's row has its trends and its page its graphs", func(t *testing.T) {
		row := regexp.MustCompile(`(?s)<tr id="node-` + worker.Hostname + `">.*?</tr>`).FindString(admin.get("/nodes").Body)
		if n := strings.Count(row, `class="sparkline"`); n != 3 {
			t.Errorf("the worker's row has %d trends, want CPU, memory and disk: %s", n, row)
		}
		page := admin.get("/nodes/" + worker.Hostname + "?range=6h").Body
		for _, want := range []string{`id="graph-cpu"`, `id="graph-memory"`, `id="graph-disk"`, "<td>" + hold + "</td>", `aria-current="true">6h<`} {
			if !strings.Contains(page, want) {
				t.Errorf("the worker's page lacks %s", want)
			}
		}
		if strings.Contains(page, "graph-empty") {
			t.Error("a graph of the worker's page has no samples")
		}
	})
}
