package handlers

import (
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/image"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// runJoin runs a join command exactly as shown, against the new machine's engine.
func runJoin(node *enginetest.Node, command string) (string, error) {
	args := strings.Fields(command)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(cmd.Environ(), "DOCKER_HOST="+node.Host())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestAdminAddsANodeWithTheShownCommandRotatesTheTokenAndRemovesTheNodeOnceItLeft(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	admin := s.signedIn("joinadmin", store.RoleAdmin)
	token := must(createToken(s.testServer, "joinadmin")).value(t)
	hostname := uniq("node4")
	fresh, err := enginetest.StartNode(ctx, hostname)
	if err != nil {
		t.Fatal(err)
	}
	// A failed run must not leave a fourth node in the shared swarm: the engine goes first, then its node entry.
	t.Cleanup(func() { s.docker.NodeRemove(context.Background(), hostname, dswarm.NodeRemoveOptions{Force: true}) })
	t.Cleanup(fresh.Destroy)

	var old string
	step(t, "the page shows the worker command only when asked, and each view is audited", func(t *testing.T) {
		if strings.Contains(admin.get("/nodes").Body, "docker swarm join --token") {
			t.Error("the Nodes page shows a token before it is asked for")
		}
		p := admin.post("/nodes/join", url.Values{"role": {"worker"}})
		cmd := strings.TrimSpace(between(p.Body, `<pre id="join-command"><code>`, `</code>`))
		if p.Status != http.StatusOK || !strings.HasPrefix(cmd, "docker swarm join --token SWMTKN-1-") || !strings.HasSuffix(cmd, s.cluster.Manager().Addr+":2377") {
			t.Fatalf("the worker command: %d %q", p.Status, cmd)
		}
		old = cmd
		recs := must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "swarm.join-token.view"})).value(t)
		if len(recs) == 0 || recs[0].Actor != "joinadmin" || recs[0].Detail != "worker" || strings.Contains(recs[0].Detail, "SWMTKN") {
			t.Errorf("audit of the view: %+v", recs)
		}
		if r := s.api(t, s.token, http.MethodGet, "/api/v1/swarm/join", nil); r.Status != http.StatusForbidden {
			t.Errorf("an operator's token read the join tokens: %d", r.Status)
		}
	})
	var fresher string
	step(t, "after rotation the old worker token is refused and the new one joins, ready", func(t *testing.T) {
		if p := admin.post("/nodes/join/rotate", url.Values{"role": {"worker"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("rotate: %d %s", p.Status, truncate(p.Body, 300))
		}
		var join struct {
			Worker, Manager struct{ Token, Command string }
		}
		s.mustAPI(t, token, http.MethodGet, "/api/v1/swarm/join", nil, http.StatusOK).decode(t, &join)
		fresher = join.Worker.Command
		if fresher == old || !strings.Contains(join.Manager.Command, "SWMTKN-1-") || join.Worker.Token == "" {
			t.Fatalf("after rotation: %+v", join)
		}
		if out, err := runJoin(fresh, old); err == nil || !strings.Contains(strings.ToLower(out), "token") {
			t.Fatalf("the old token joined (or failed for another reason): %v %s", err, out)
		}
		if out, err := runJoin(fresh, fresher); err != nil {
			t.Fatalf("the new token: %v %s", err, out)
		}
		waitFor(t, 60*time.Second, hostname+" ready on the Nodes page", func() bool {
			row := between(admin.get("/nodes").Body, `<tr id="node-`+hostname+`">`, `</tr>`)
			return strings.Contains(row, ">ready<")
		})
	})
	step(t, "removing it while it is up drains it first, once confirmed, and marks it to be removed; once it left, it is removed", func(t *testing.T) {
		p := admin.post("/nodes/"+hostname+"/remove", nil)
		confirm := between(p.Body, `id="node-confirm"`, `</article>`)
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(confirm, "docker swarm leave") || !strings.Contains(confirm, "then remove it once it is down") {
			t.Errorf("remove while up: %d %s", p.Status, truncate(confirm, 500))
		}
		if n := s.inspectNode(t, hostname); n.Spec.Availability != dswarm.NodeAvailabilityActive {
			t.Errorf("asking drained %s before the confirmation", hostname)
		}
		if p := admin.post("/nodes/"+hostname+"/remove", url.Values{"remove": {"drain"}, "confirm": {"yes"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("confirm drain to remove: %d %s", p.Status, truncate(p.Body, 300))
		}
		if n := s.inspectNode(t, hostname); n.Spec.Availability != dswarm.NodeAvailabilityDrain {
			t.Errorf("%s is %s, want drained", hostname, n.Spec.Availability)
		}
		if row := between(admin.get("/nodes").Body, `<tr id="node-`+hostname+`">`, `</tr>`); !strings.Contains(row, "removed by Berth once down (asked by joinadmin") {
			t.Errorf("the Nodes list does not say the node goes once down: %s", row)
		}
		if out, err := runJoin(fresh, "docker swarm leave"); err != nil {
			t.Fatalf("leave: %v %s", err, out)
		}
		waitFor(t, 60*time.Second, hostname+" down", func() bool {
			return strings.Contains(between(admin.get("/nodes").Body, `<tr id="node-`+hostname+`">`, `</tr>`), ">down<")
		})
		// Pruning a node that is down: refused with the reason, its images untouched.
		if err := enginetest.BuildImage(ctx, fresh, "berth-test/"+hostname+"-unused:1", map[string][]byte{"Dockerfile": []byte("FROM scratch\nCOPY blob /blob\n"), "blob": randomBytes(1 << 20)}); err != nil {
			t.Fatal(err)
		}
		fcli := must(fresh.Client()).value(t)
		defer fcli.Close()
		before := must(fcli.ImageList(ctx, image.ListOptions{})).value(t)
		if r := s.api(t, token, http.MethodPost, "/api/v1/nodes/"+hostname+"/images/prune", nil); r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "is down") {
			t.Errorf("pruning a node that is down: %d %s", r.Status, r.Body)
		}
		page := admin.post("/nodes/"+hostname+"/images/prune", url.Values{"dry_run": {"true"}})
		if msg := between(page.Body, `id="images-error"`, `</div>`); page.Status != http.StatusServiceUnavailable || !strings.Contains(msg, "is down") {
			t.Errorf("the page's preview on a node that is down: %d %s", page.Status, truncate(msg, 300))
		}
		if after := must(fcli.ImageList(ctx, image.ListOptions{})).value(t); len(after) != len(before) {
			t.Errorf("the node's images changed: %d before, %d after", len(before), len(after))
		}
		if row := between(admin.get("/nodes").Body, `<tr id="node-`+hostname+`">`, `</tr>`); !strings.Contains(row, `class="remove-node-link"`) {
			t.Errorf("the Nodes list offers no removal of the node that left: %s", row)
		}
		// Called off, the node stays though it is down; removed from its page, it goes at once.
		if p := admin.post("/nodes/"+hostname+"/remove/cancel", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("call the removal off: %d %s", p.Status, truncate(p.Body, 300))
		}
		s.handler.removeDownNodes(ctx)
		if n := s.inspectNode(t, hostname); n.Status.State != dswarm.NodeStateDown {
			t.Fatalf("%s after calling off its removal: %s", hostname, n.Status.State)
		}
		if p := admin.post("/nodes/"+hostname+"/remove", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("remove once down: %d %s", p.Status, truncate(p.Body, 300))
		}
		nodes, err := s.docker.NodeList(ctx, dswarm.NodeListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if n.Description.Hostname == hostname {
				t.Errorf("the swarm still lists %s", hostname)
			}
		}
		recs := must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "node.remove"})).value(t)
		if len(recs) == 0 || recs[0].Outcome != "ok" {
			t.Errorf("audit of the removal: %+v", recs)
		}
	})
}
