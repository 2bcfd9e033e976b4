package handlers

import (
	"context"
	"math"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
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
	burn, hold := uniq("burn"), uniq("hold")
	for name, script := range map[string]string{
		burn: "while :; do :; done",
		hold: "dd if=/dev/zero of=/dev/shm/blob bs=1048576 count=64 2>/dev/null; trap 'exit 0' TERM; while true; do sleep 1; done",
	} {
		s.mustAPI(t, s.token, http.MethodPost, "/api/v1/services", swarm.ServiceSpec{Name: name, Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
			Command: []string{"sh", "-c", script}, Constraints: []string{"node.hostname==" + worker.Hostname}}, http.StatusCreated)
		t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), name) })
		waitRunning(t, s, name, 1, enginetest.BusyboxImage)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go s.Resources.Run(ctx)

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
	})
}
