package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/network"
)

func TestDashboardShowsTheRealSwarm(t *testing.T) {
	cluster := enginetest.Shared(t)
	ts := newServer(t, cluster.Manager().Host())
	c := ts.signedIn("viewer1", store.RoleViewer)

	cli, err := cluster.Manager().Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	info, err := cli.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := c.get("/")
	for _, want := range []string{
		`id="engine-version">Docker ` + info.ServerVersion,
		`id="node-name">` + info.Name + `<`,
		`active, manager`,
		`id="count-nodes">` + strconv.Itoa(info.Swarm.Nodes) + `<`,
	} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(p.Body, "Docker engine unreachable") {
		t.Error("the banner shows while the engine is up")
	}
	if strings.Contains(p.Body, "initialize-button") {
		t.Error("a viewer is offered to initialize")
	}
}

func TestEngineDownShowsBannerAndRecovers(t *testing.T) {
	node := enginetest.Dedicated(t)
	ts := newServer(t, node.Host())
	c := ts.signedIn("admin1", store.RoleAdmin)
	if p := c.get("/"); strings.Contains(p.Body, "Docker engine unreachable") || !strings.Contains(p.Body, "inactive") {
		t.Fatalf("with the engine up: banner shown or swarm state missing")
	}
	node.Stop()
	waitFor(t, 10*time.Second, "the banner after the engine stopped", func() bool {
		return strings.Contains(c.get("/engine/banner").Body, "Docker engine unreachable")
	})
	for _, path := range []string{"/", "/audit", "/account", "/team", "/settings"} {
		p := c.get(path)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Docker engine unreachable") {
			t.Errorf("%s with the engine down: status %d, banner shown %v", path, p.Status, strings.Contains(p.Body, "Docker engine unreachable"))
		}
	}
	if hz := c.get("/healthz"); hz.Status != http.StatusOK || !strings.Contains(hz.Body, `"docker":"unreachable`) || !strings.Contains(hz.Body, `"database":"ok"`) {
		t.Errorf("healthz with the engine down: %d %s", hz.Status, hz.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := node.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Nobody asks Berth to reconnect: its own status loop must notice.
	waitFor(t, 10*time.Second, "the banner to clear", func() bool {
		return !strings.Contains(c.get("/engine/banner").Body, "unreachable")
	})
	if p := c.get("/"); strings.Contains(p.Body, "Docker engine unreachable") || !strings.Contains(p.Body, "Initialize Docker environment") {
		t.Error("the dashboard did not recover")
	}
}

func TestInitializeDockerEnvironment(t *testing.T) {
	node := enginetest.Dedicated(t)
	ts := newServer(t, node.Host())
	ts.addUser("admin1", store.RoleAdmin)
	op := ts.signedIn("op1", store.RoleOperator)
	if p := op.get("/"); strings.Contains(p.Body, "initialize-button") || !strings.Contains(p.Body, "An admin can initialize it") {
		t.Error("an operator is offered the initialize action")
	}
	c := ts.client()
	c.login("admin1", testPassword, "")
	c.get("/")
	bad := c.post("/environment/initialize", url.Values{"advertise_addr": {"not an address"}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `id="advertise_addr-error"`) {
		t.Errorf("bad advertise address: status %d", bad.Status)
	}
	cli, _ := node.Client()
	defer cli.Close()
	if info, _ := cli.Info(context.Background()); info.Swarm.LocalNodeState != "inactive" {
		t.Fatalf("a refused form changed the engine: swarm %s", info.Swarm.LocalNodeState)
	}
	// As htmx sends it: the answer is the refreshed status section.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/environment/initialize", strings.NewReader(url.Values{"advertise_addr": {node.Addr}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", c.csrf)
	p := c.do(req)
	if p.Status != http.StatusOK || !strings.HasPrefix(p.Body, `<section id="environment"`) || !strings.Contains(p.Body, "active, manager") {
		t.Fatalf("initialize: status %d\n%s", p.Status, p.Body)
	}
	info, _ := cli.Info(context.Background())
	if info.Swarm.LocalNodeState != "active" || !info.Swarm.ControlAvailable || info.Swarm.NodeAddr != node.Addr {
		t.Errorf("engine after initialize: %+v", info.Swarm)
	}
	net, err := cli.NetworkInspect(context.Background(), swarm.DefaultNetwork, network.InspectOptions{})
	if err != nil {
		t.Fatalf("no %s network: %v", swarm.DefaultNetwork, err)
	}
	if _, encrypted := net.Options["encrypted"]; !encrypted || net.Driver != "overlay" || net.Labels[swarm.ManagedLabel] != "true" {
		t.Errorf("network %s: driver %s, options %v, labels %v", net.Name, net.Driver, net.Options, net.Labels)
	}
	if strings.Contains(c.get("/").Body, "initialize-button") {
		t.Error("the dashboard still offers to initialize")
	}
	recs, _ := ts.Store.AuditRecords(context.Background(), store.AuditFilter{Action: "environment.initialize"})
	if len(recs) != 1 || recs[0].Outcome != "ok" || recs[0].Actor != "admin1" {
		t.Errorf("audit: %+v", recs)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}
