package handlers

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
)

// readsThatCallTheEngine are the GET routes that ask the engine by design, each with
// why; every other page, live fragment and API read answers from the live model and
// Berth's caches, so many open tabs cost the engine nothing.
var readsThatCallTheEngine = map[string]string{
	"GET /services/:name/logs":        "logs are the engine's: read when asked, never kept",
	"GET /services/:name/logs/follow": "following logs streams them from the engine",
	"GET /terminal/:container/ws":     "a terminal is an action: it execs in the container",
	"GET /terminal/:container":        "opening a terminal inspects its container for the boundary's check before offering a shell",
	"GET /api/v1/swarm/join":          "the join tokens are read when an admin asks (audited), so one rotated elsewhere is never shown stale",
	"GET /nodes/:id/images":           "a node's images and disk use are read from that node when asked (sizing them is costly; the page says when it read them)",
	"GET /api/v1/nodes/:id/images":    "a node's images are read from that node when asked",
	"GET /api/v1/nodes/:id/disk":      "Docker's disk use is read from the node when asked",
}

// TestPagesAndLiveFragmentsAskTheEngineNothing opens every GET route of the route
// table as an admin, with real objects behind each path, and counts the engine API
// calls each one made (every call names its route, swarm/origin.go): none but the
// routes listed above may make any.
func TestPagesAndLiveFragmentsAskTheEngineNothing(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	ctx := context.Background()
	admin := s.addUser(uniq("walker"), store.RoleAdmin)
	token, _, err := s.Store.CreateAPIToken(ctx, admin.ID, "walk")
	if err != nil {
		t.Fatal(err)
	}
	web := s.client()
	web.login(admin.Username, testPassword, "")

	name, object := uniq("walk"), uniq("walk")
	s.mustAPI(t, s.token, http.MethodPost, "/api/v1/configs", map[string]string{"name": object, "data": "x"}, http.StatusCreated)
	s.mustAPI(t, s.token, http.MethodPost, "/api/v1/secrets", map[string]string{"name": object, "data": "x"}, http.StatusCreated)
	t.Cleanup(func() {
		s.docker.ConfigRemove(ctx, object)
		s.docker.SecretRemove(ctx, object)
	})
	spec := swarm.ServiceSpec{Name: name, Image: enginetest.BusyboxImage, EndpointMode: "dnsrr", Constraints: []string{"node.role==manager"},
		Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"}}
	s.mustAPI(t, s.token, http.MethodPost, "/api/v1/services", spec, http.StatusCreated)
	t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), name) })
	var container, node string
	waitFor(t, 60*time.Second, "the walk service's task to run", func() bool {
		svc, ok := s.Model.Service(name)
		for _, task := range svc.Tasks {
			if ok && task.State == "running" && task.ContainerID != "" {
				container, node = task.ContainerID, task.Node
			}
		}
		return container != ""
	})
	nodeID := ""
	for _, n := range must(s.Engine.Nodes(ctx)).value(t) {
		if n.Hostname == node {
			nodeID = n.ID
		}
	}
	stackName := strings.ReplaceAll(uniq("walk"), "-", "")
	s.mustAPI(t, s.token, http.MethodPost, "/api/v1/stacks", map[string]string{"name": stackName, "compose": "services:\n  one:\n    image: " + enginetest.BusyboxImage +
		"\n    command: [sleep, \"3600\"]\n    deploy: {endpoint_mode: dnsrr, replicas: 0}\n"}, http.StatusCreated)
	t.Cleanup(func() { s.api(t, s.token, http.MethodDelete, "/api/v1/stacks/"+stackName, nil) })
	fill := routeFiller(map[string]string{"services": name, "configs": object, "secrets": object, "nodes": nodeID, "stacks": stackName,
		"backups": "20260101T000000Z", "jobs": "no-such-job", "recordings": "1", "terminal": container})

	before := s.Engine.EngineCalls()
	var walked []string
	for _, r := range s.handler.Routes() {
		route := r.Method + " " + r.Path
		if r.Method != http.MethodGet || r.Hook || readsThatCallTheEngine[route] != "" {
			continue
		}
		path := fill(r.Path)
		if strings.Contains(path, ":") {
			t.Errorf("%s: the walk has no value for its parameter; add one to params", route)
			continue
		}
		switch {
		case r.API:
			s.api(t, token, http.MethodGet, path, nil)
		case r.Stream:
			web.stream(path)
		default:
			web.get(path)
		}
		walked = append(walked, route)
	}
	after := s.Engine.EngineCalls()
	var callers []string
	for _, route := range walked {
		if n := after[route] - before[route]; n > 0 {
			callers = append(callers, route)
			t.Errorf("%s made %d engine calls; pages read the live model", route, n)
		}
	}
	sort.Strings(callers)
	if len(walked) < 50 {
		t.Errorf("walked only %d GET routes: %v", len(walked), walked)
	}
	t.Logf("walked %d GET routes; engine calls from %d of them", len(walked), len(callers))
}

// routeFiller fills a route's parameters by the kind of thing the segment before each
// names ("/services/:name" takes values["services"]).
func routeFiller(values map[string]string) func(string) string {
	return func(path string) string {
		parts := strings.Split(path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") && i > 0 {
				if v, ok := values[parts[i-1]]; ok {
					parts[i] = v
				}
			}
		}
		return strings.Join(parts, "/")
	}
}
