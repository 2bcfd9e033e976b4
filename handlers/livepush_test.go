package handlers

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// liveTab is one open page's server-sent events stream, read into memory.
type liveTab struct {
	mu   sync.Mutex
	seen strings.Builder
	open chan struct{}
}

func (tab *liveTab) has(s string) bool {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return strings.Contains(tab.seen.String(), s)
}

// openTab opens path as the client's browser would and reads it until ctx ends.
func openTab(ctx context.Context, t *testing.T, c *client, path string) *liveTab {
	tab := &liveTab{open: make(chan struct{})}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		res, err := c.http.Do(req)
		if err != nil {
			return
		}
		defer res.Body.Close()
		close(tab.open)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			tab.mu.Lock()
			tab.seen.WriteString(sc.Text() + "\n")
			tab.mu.Unlock()
		}
	}()
	return tab
}

// TestFiftyOpenTabsEachGetTheChangeWithoutAskingTheEngine opens 50 Nodes pages' and 50
// Services pages' live streams, changes a node's label and adds a service behind
// Berth's back, and checks that every tab received its change while the engine (seen
// through a counting proxy) answered no call for the tabs and no more listings than one tab costs.
func TestFiftyOpenTabsEachGetTheChangeWithoutAskingTheEngine(t *testing.T) {
	cluster := enginetest.Shared(t)
	proxy := enginetest.NewCountingProxy(t, cluster.Manager())
	ts := newServer(t, proxy.Host())
	viewer := ts.signedIn(uniq("tabs"), store.RoleViewer)
	cli := must(cluster.Manager().Client()).value(t)
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waitFor(t, 30*time.Second, "the live model", func() bool { ready, _, _ := ts.Engine.ModelState(); return ready })

	var nodeTabs, serviceTabs []*liveTab
	for range 50 {
		nodeTabs = append(nodeTabs, openTab(ctx, t, viewer, "/nodes/events"))
		serviceTabs = append(serviceTabs, openTab(ctx, t, viewer, "/services/events"))
	}
	for _, tab := range append(append([]*liveTab{}, nodeTabs...), serviceTabs...) {
		select {
		case <-tab.open:
		case <-time.After(10 * time.Second):
			t.Fatal("a tab's stream did not open")
		}
	}
	beforeOrigin, beforeEndpoint := proxy.Counts()

	worker := cluster.Nodes[1]
	node := must(ts.Engine.Nodes(ctx)).value(t)
	var id string
	for _, n := range node {
		if n.Hostname == worker.Hostname {
			id = n.ID
		}
	}
	label := uniq("tab")
	n, _, err := cli.NodeInspectWithRaw(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Labels[label] = "yes"
	if err := cli.NodeUpdate(ctx, id, n.Version, n.Spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n, _, err := cli.NodeInspectWithRaw(context.Background(), id); err == nil {
			delete(n.Spec.Labels, label)
			cli.NodeUpdate(context.Background(), id, n.Version, n.Spec)
		}
	})
	name := uniq("tabs")
	spec := serviceSpec(name)
	spec.TaskTemplate.Placement = &dswarm.Placement{Constraints: []string{"node.labels.tabs==nowhere"}} // stays pending: no container needed
	if _, err := cli.ServiceCreate(ctx, spec, dswarm.ServiceCreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.ServiceRemove(context.Background(), name) })

	waitFor(t, 15*time.Second, "every tab to receive its change", func() bool {
		for _, tab := range nodeTabs {
			if !tab.has(label) {
				return false
			}
		}
		for _, tab := range serviceTabs {
			if !tab.has(`id="service-` + name + `"`) {
				return false
			}
		}
		return true
	})
	afterOrigin, afterEndpoint := proxy.Counts()
	for _, route := range []string{"GET /nodes/events", "GET /services/events"} {
		if n := afterOrigin[route] - beforeOrigin[route]; n != 0 {
			t.Errorf("%s: the tabs made %d engine calls", route, n)
		}
	}
	// The model reads the changed node once and lists tasks on its own clock; 100 tabs add nothing.
	if n := afterEndpoint["GET /nodes/"+id] - beforeEndpoint["GET /nodes/"+id]; n < 1 || n > 3 {
		t.Errorf("the changed node was read %d times for 50 tabs, want once or twice", n)
	}
	if n := afterEndpoint["GET /nodes"] - beforeEndpoint["GET /nodes"]; n > 1 {
		t.Errorf("the nodes were listed %d times while the tabs were open", n)
	}
	t.Logf("engine calls while 100 tabs followed the change: %v", diffCounts(beforeEndpoint, afterEndpoint))
}

// diffCounts is what each endpoint was called between two readings.
func diffCounts(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}
