package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	bswarm "github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/network"
)

// engineNetworks names the engine's swarm networks, read from the engine itself.
func engineNetworks(t *testing.T, s *swarmServer) []string {
	t.Helper()
	list, err := s.docker.NetworkList(context.Background(), network.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range list {
		if n.Scope == "swarm" {
			names = append(names, n.Name)
		}
	}
	slices.Sort(names)
	return names
}

func TestOperatorCreatesAnEncryptedNetworkServicesMeetOnItAndItIsRemovedOnlyWhenUnused(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	ctx := context.Background()
	op := s.signedIn("netop", store.RoleOperator)
	name, a, b := uniq("shopnet"), uniq("api"), uniq("client")
	outer := t // the services outlive the step that starts them
	t.Cleanup(func() { s.docker.NetworkRemove(context.Background(), name) })

	step(t, "the page creates an encrypted overlay network, audited", func(t *testing.T) {
		if page := op.get("/networks"); !strings.Contains(page.Body, `id="network-form"`) || !strings.Contains(page.Body, `id="encrypted" name="encrypted" value="true" checked`) {
			t.Fatalf("the Networks page offers no form, or one not encrypting by default: %d", page.Status)
		}
		p := op.post("/networks", url.Values{"name": {name}, "encrypted": {"true"}, "subnet": {"10.231.0.0/24"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("create: %d %s", p.Status, truncate(p.Body, 400))
		}
		n, err := s.docker.NetworkInspect(ctx, name, network.InspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, enc := n.Options["encrypted"]; !enc || n.Driver != "overlay" || n.Scope != "swarm" || n.IPAM.Config[0].Subnet != "10.231.0.0/24" {
			t.Errorf("the engine's network: driver %s scope %s options %v ipam %+v", n.Driver, n.Scope, n.Options, n.IPAM.Config)
		}
		waitFor(t, 10*time.Second, "the list to show it", func() bool {
			return strings.Contains(op.get("/networks").Body, `id="network-`+name+`"`)
		})
		recs := must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "network.create"})).value(t)
		if len(recs) == 0 || recs[0].Object != "network:"+name || recs[0].Actor != "netop" || !strings.Contains(recs[0].Detail, "encrypted yes") {
			t.Errorf("audit: %+v", recs)
		}
	})
	step(t, "bad input is refused next to its field and changes nothing", func(t *testing.T) {
		before := engineNetworks(t, s)
		for _, tc := range []struct{ name, subnet, field, says string }{
			{uniq("other"), "10.231.0.128/25", "subnet", "overlaps 10.231.0.0/24 of the network " + name},
			{name, "", "name", "exists already"},
			{uniq("bad"), "10.231.0", "subnet", "CIDR form"},
			{"ingress", "", "name", "is taken"},
		} {
			p := op.post("/networks", url.Values{"name": {tc.name}, "subnet": {tc.subnet}, "encrypted": {"true"}})
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="`+tc.field+`-error"`) || !strings.Contains(p.Body, tc.says) {
				t.Errorf("%s %s: %d, want the %s field to say %q", tc.name, tc.subnet, p.Status, tc.field, tc.says)
			}
		}
		r := s.api(t, s.token, http.MethodPost, "/api/v1/networks", map[string]any{"name": uniq("api"), "subnet": "10.231.0.0/16"})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "overlaps") {
			t.Errorf("API overlap: %d %s", r.Status, r.Body)
		}
		if after := engineNetworks(t, s); !slices.Equal(before, after) {
			t.Errorf("the refusals changed the networks: %v, then %v", before, after)
		}
	})
	step(t, "two services attached to it reach each other by name", func(t *testing.T) {
		for _, svc := range []string{a, b} {
			s.mustAPI(t, s.token, http.MethodPost, "/api/v1/services", bswarm.ServiceSpec{Name: svc, Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
				Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"}, Networks: []string{name},
				Constraints: []string{"node.role==manager"}}, http.StatusCreated) // one node: encrypted overlays carry no traffic between the test engines
			outer.Cleanup(func() { s.docker.ServiceRemove(context.Background(), svc) })
			waitRunning(t, s, svc, 1, enginetest.BusyboxImage)
		}
		out := execInService(t, s.cluster, b, "sh", "-c", "ping -c 1 -W 3 "+a+" && echo reached")
		if !strings.Contains(out, "reached") {
			t.Errorf("%s did not reach %s on %s: %s", b, a, name, out)
		}
		var list []map[string]any
		s.mustAPI(t, s.token, http.MethodGet, "/api/v1/networks", nil, http.StatusOK).decode(t, &list)
		for _, n := range list {
			if n["name"] == name {
				if got := n["services"].([]any); len(got) != 2 || n["encrypted"] != true {
					t.Errorf("the API's network: %v", n)
				}
			}
		}
	})
	step(t, "removing it while services use it is refused naming them; unused, it goes", func(t *testing.T) {
		p := op.post("/networks/"+name+"/delete", nil)
		if p.Status != http.StatusConflict || !strings.Contains(p.Body, a) || !strings.Contains(p.Body, b) {
			t.Errorf("remove in use: %d %s", p.Status, truncate(p.Body, 300))
		}
		r := s.api(t, s.token, http.MethodDelete, "/api/v1/networks/"+name, nil)
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, a) {
			t.Errorf("API remove in use: %d %s", r.Status, r.Body)
		}
		if _, err := s.docker.NetworkInspect(ctx, name, network.InspectOptions{}); err != nil {
			t.Fatalf("the refused removal removed it: %v", err)
		}
		for _, svc := range []string{a, b} {
			s.mustAPI(t, s.token, http.MethodDelete, "/api/v1/services/"+svc, nil, http.StatusNoContent)
		}
		// Berth waits while the removed services' tasks still leave the network.
		s.mustAPI(t, s.token, http.MethodDelete, "/api/v1/networks/"+name, nil, http.StatusNoContent)
		recs := must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "network.delete"})).value(t)
		if len(recs) == 0 || recs[0].Object != "network:"+name || recs[0].Outcome != "ok" {
			t.Errorf("audit: %+v", recs)
		}
		// The manager drops its own copy a moment after the swarm's network is gone.
		waitFor(t, 30*time.Second, name+" gone from the engine", func() bool { return !slices.Contains(engineNetworks(t, s), name) })
	})
}
