package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

func TestNodesPromoteDemoteDrainAndLabelSafely(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	admin := s.signedIn("nodeadmin", store.RoleAdmin)
	manager, worker, other := s.cluster.Nodes[0], s.cluster.Nodes[1], s.cluster.Nodes[2]
	idOf := func(hostname string) string {
		nodes, err := s.docker.NodeList(ctx, dswarm.NodeListOptions{Filters: filters.NewArgs(filters.Arg("name", hostname))})
		if err != nil || len(nodes) != 1 {
			t.Fatalf("node %s: %v %d", hostname, err, len(nodes))
		}
		return nodes[0].ID
	}
	stampIn := regexp.MustCompile(`name="version" value="([^"]+)"`)
	// nodeID answers a node's id and the stamp its page bases actions on, as a browser would send it.
	nodeID := func(hostname string) (string, string) {
		id := idOf(hostname)
		m := stampIn.FindStringSubmatch(admin.get("/nodes/" + id).Body)
		if m == nil {
			t.Fatalf("no stamp on the page of %s", hostname)
		}
		return id, m[1]
	}
	mgrID, mgrVersion := nodeID(manager.Hostname)
	wID, wVersion := nodeID(worker.Hostname)
	t.Cleanup(func() { // never leave the shared swarm with a second manager
		n, _, err := s.docker.NodeInspectWithRaw(ctx, wID)
		if err == nil && (n.Spec.Role != dswarm.NodeRoleWorker || n.Spec.Availability != dswarm.NodeAvailabilityActive || len(n.Spec.Labels) > 0) {
			n.Spec.Role, n.Spec.Availability, n.Spec.Labels = dswarm.NodeRoleWorker, dswarm.NodeAvailabilityActive, nil
			s.docker.NodeUpdate(ctx, wID, n.Version, n.Spec)
		}
	})
	if r := admin.get("/nodes"); !strings.Contains(r.Body, manager.Hostname) || !strings.Contains(r.Body, worker.Hostname) || !strings.Contains(r.Body, "(leader)") {
		t.Fatalf("nodes page: %s", r.Body)
	}
	post := func(path string, form url.Values) page {
		admin.get(path[:strings.LastIndex(path, "/")])
		return admin.post(path, form)
	}

	// The last manager cannot be demoted; the page that says so still lists the node's volumes.
	vol := uniq("nodevol")
	if _, err := s.docker.VolumeCreate(ctx, volume.CreateOptions{Name: vol}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.docker.VolumeRemove(context.Background(), vol, true) })
	eventually(t, 15*time.Second, "the node page to list "+vol+" (volumes are read in the background)", func() string {
		if body := admin.get("/nodes/" + mgrID).Body; !strings.Contains(body, vol) {
			return "not listed"
		}
		return ""
	})
	if r := post("/nodes/"+mgrID+"/role", url.Values{"role": {"worker"}, "version": {fmt.Sprint(mgrVersion)}, "confirm": {"yes"}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "last manager") {
		t.Errorf("demote the last manager: %d", r.Status)
	} else if !strings.Contains(r.Body, vol) {
		t.Errorf("the refusal's page does not list the manager's volume %s", vol)
	}
	// Promotion asks first, with the quorum warnings, then is followed to a reachable manager.
	r := post("/nodes/"+wID+"/role", url.Values{"role": {"manager"}, "version": {fmt.Sprint(wVersion)}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "2 managers, an even number") || !strings.Contains(r.Body, "losing one more would lose the quorum") || !strings.Contains(r.Body, "confirm-change") {
		t.Fatalf("promotion's confirmation: %d %s", r.Status, r.Body)
	}
	if n := s.inspectNode(t, wID); n.Spec.Role != dswarm.NodeRoleWorker {
		t.Fatal("asking for confirmation promoted the node")
	}
	if r := admin.post("/nodes/"+wID+"/role", url.Values{"role": {"manager"}, "version": {fmt.Sprint(wVersion)}, "confirm": {"yes"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("confirm promotion: %d %s", r.Status, r.Body)
	}
	eventually(t, 60*time.Second, "the promoted node becomes a reachable manager", func() string {
		live := admin.get("/nodes/" + wID + "/live").Body
		if !strings.Contains(live, `class="role">manager`) || !strings.Contains(live, ">reachable<") {
			return live
		}
		return ""
	})
	// A stale page (the version before the promotion) is refused and shows the node as it is.
	if r := admin.post("/nodes/"+wID+"/role", url.Values{"role": {"worker"}, "version": {fmt.Sprint(wVersion)}, "confirm": {"yes"}}); r.Status != http.StatusConflict || !strings.Contains(r.Body, "Someone changed") {
		t.Errorf("a stale demotion: %d", r.Status)
	}
	_, v := nodeID(worker.Hostname)
	if r := admin.post("/nodes/"+wID+"/role", url.Values{"role": {"worker"}, "version": {fmt.Sprint(v)}, "confirm": {"yes"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("demote back: %d %s", r.Status, r.Body)
	}
	eventually(t, 60*time.Second, "the node is a worker again", func() string {
		if n := s.inspectNode(t, wID); n.ManagerStatus != nil || n.Spec.Role != dswarm.NodeRoleWorker {
			return fmt.Sprintf("%s %+v", n.Spec.Role, n.ManagerStatus)
		}
		return ""
	})

	// Draining moves the node's tasks; the page lists them first and follows the move.
	svc := uniq("spread")
	spec := serviceSpec(svc)
	two := uint64(2)
	spec.Mode.Replicated.Replicas = &two
	spec.TaskTemplate.Placement = &dswarm.Placement{Constraints: []string{"node.role==worker"}, MaxReplicas: 1}
	s.createService(t, spec)
	onWorker := func(hostname string) int { // as Berth's pages see it: in the live model
		n := 0
		got, _ := s.Model.Service(svc)
		for _, task := range got.Tasks {
			if task.Node == hostname && task.DesiredState == "running" {
				n++
			}
		}
		return n
	}
	eventually(t, 60*time.Second, "one task on each worker", func() string {
		if onWorker(worker.Hostname) != 1 || onWorker(other.Hostname) != 1 {
			return fmt.Sprintf("%d and %d", onWorker(worker.Hostname), onWorker(other.Hostname))
		}
		return ""
	})
	_, v = nodeID(worker.Hostname)
	r = post("/nodes/"+wID+"/availability", url.Values{"availability": {"drain"}, "version": {fmt.Sprint(v)}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "Draining moves these tasks to other nodes: "+svc) {
		t.Fatalf("drain's confirmation: %d %s", r.Status, r.Body)
	}
	spec.TaskTemplate.Placement.MaxReplicas = 0 // let both run on the other worker
	cur := s.inspectService(t, svc)
	cur.Spec.TaskTemplate.Placement.MaxReplicas = 0
	s.docker.ServiceUpdate(ctx, cur.ID, cur.Version, cur.Spec, dswarm.ServiceUpdateOptions{})
	if r := admin.post("/nodes/"+wID+"/availability", url.Values{"availability": {"drain"}, "version": {fmt.Sprint(v)}, "confirm": {"yes"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("confirm drain: %d %s", r.Status, r.Body)
	}
	eventually(t, 60*time.Second, "the drained node's tasks move", func() string {
		live := admin.get("/nodes/" + wID + "/live").Body
		if onWorker(worker.Hostname) != 0 || onWorker(other.Hostname) != 2 || !strings.Contains(live, "Drained: no task runs here") {
			return fmt.Sprintf("%d on the drained node, %d on the other: %s", onWorker(worker.Hostname), onWorker(other.Hostname), live)
		}
		return ""
	})

	// Labels follow Docker's rules and are audited.
	_, v = nodeID(worker.Hostname)
	if r := post("/nodes/"+wID+"/labels", url.Values{"key": {"Bad Key"}, "value": {"x"}, "version": {fmt.Sprint(v)}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "lower-case letters") {
		t.Errorf("a bad label key: %d", r.Status)
	}
	if r := admin.post("/nodes/"+wID+"/labels", url.Values{"key": {"zone"}, "value": {"eu-1"}, "version": {fmt.Sprint(v)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("set a label: %d %s", r.Status, r.Body)
	}
	if n := s.inspectNode(t, wID); n.Spec.Labels["zone"] != "eu-1" || n.Spec.Availability != dswarm.NodeAvailabilityDrain {
		t.Errorf("after the label: %v %s", n.Spec.Labels, n.Spec.Availability)
	}
	_, v = nodeID(worker.Hostname)
	if r := admin.post("/nodes/"+wID+"/labels/delete", url.Values{"key": {"zone"}, "version": {v}}); r.Status != http.StatusSeeOther {
		t.Fatalf("remove the label: %d", r.Status)
	}
	_, v = nodeID(worker.Hostname)
	admin.post("/nodes/"+wID+"/availability", url.Values{"availability": {"active"}, "version": {fmt.Sprint(v)}})
	recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Actor: "nodeadmin"})
	var actions []string
	for _, rec := range recs {
		actions = append(actions, rec.Action+" "+rec.Outcome)
	}
	for _, want := range []string{"node.role ok", "node.role denied: ", "node.availability ok", "node.label ok", "node.label-remove ok"} {
		if !strings.Contains(strings.Join(actions, "\n"), want) {
			t.Errorf("audit lacks %q: %v", want, actions)
		}
	}
}

func TestAutolockKeyShownOnceAndLockedManagerUnlocks(t *testing.T) {
	node := enginetest.Dedicated(t)
	ctx := context.Background()
	ts := newServer(t, node.Host())
	if err := ts.Engine.Initialize(ctx, node.Addr); err != nil {
		t.Fatal(err)
	}
	admin := ts.signedIn("lockadmin", store.RoleAdmin)
	keyIn := regexp.MustCompile(`SWMKEY-1-[A-Za-z0-9+/=]+`)
	admin.get("/nodes")
	r := admin.post("/nodes/autolock", url.Values{"action": {"on"}})
	key := keyIn.FindString(r.Body)
	if r.Status != http.StatusOK || key == "" || !strings.Contains(r.Body, "shown this once") {
		t.Fatalf("turning autolock on: %d %s", r.Status, r.Body)
	}
	if again := admin.get("/nodes").Body; keyIn.MatchString(again) || !strings.Contains(again, "On: managers encrypt") {
		t.Error("the key is shown again, or autolock is not on")
	}
	// The manager restarts locked: every page says so, and the nodes page offers the unlock form.
	node.Stop()
	if err := node.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the locked banner", func() string {
		if b := admin.get("/").Body; !strings.Contains(b, "The swarm is locked on this manager") {
			return "no banner"
		}
		return ""
	})
	admin.get("/nodes")
	if r := admin.post("/nodes/unlock", url.Values{"unlock_key": {"SWMKEY-1-wrongwrongwrongwrongwrongwrongwrongwrongwrong"}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "does not unlock this manager") {
		t.Errorf("a wrong key: %d %s", r.Status, r.Body)
	}
	if r := admin.post("/nodes/unlock", url.Values{"unlock_key": {key}}); r.Status != http.StatusSeeOther {
		t.Fatalf("unlock: %d %s", r.Status, r.Body)
	}
	eventually(t, 30*time.Second, "the unlocked nodes list", func() string {
		if b := admin.get("/nodes").Body; !strings.Contains(b, `id="nodes"`) || strings.Contains(b, "The swarm is locked") {
			return "still locked"
		}
		return ""
	})
	// Rotating gives a new key; turning it off leaves none.
	admin.get("/nodes")
	rotated := keyIn.FindString(admin.post("/nodes/autolock", url.Values{"action": {"rotate"}}).Body)
	if rotated == "" || rotated == key {
		t.Errorf("rotation gave %q", rotated)
	}
	admin.get("/nodes")
	if r := admin.post("/nodes/autolock", url.Values{"action": {"off"}}); !strings.Contains(r.Body, "Off: a manager") {
		t.Errorf("turning autolock off: %d", r.Status)
	}
	if strings.Contains(ts.Log.String(), key) || strings.Contains(ts.Log.String(), rotated) || dbFilesContain(t, ts.Data, []byte(key)) || dbFilesContain(t, ts.Data, []byte(rotated)) {
		t.Error("an unlock key was logged or stored")
	}
	recs, _ := ts.Store.AuditRecords(ctx, store.AuditFilter{Action: "swarm.unlock"})
	if len(recs) != 2 || recs[0].Outcome != "ok" && recs[1].Outcome != "ok" {
		t.Errorf("unlock audit: %+v", recs)
	}
}

func TestAStoppedWorkerShowsDownAndComesBack(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	admin := s.signedIn("adm", store.RoleAdmin)
	deployAgents(t, s, admin, agentImage(t, s.cluster, 1))
	worker := s.cluster.Nodes[2]
	mapping := uniq("downdata")
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": mapping}); r.Status != http.StatusCreated {
		t.Fatalf("create the mapping: %d %s", r.Status, r.Body)
	}
	put := func(name string) apiResult {
		return upload(t, s, mapping, url.Values{"node": {worker.Hostname}, "name": {name}}, []byte("payload "+name))
	}
	if r := put("before.txt"); r.Status != http.StatusCreated {
		t.Fatalf("upload to %s before it stops: %d %s", worker.Hostname, r.Status, r.Body)
	}
	t.Cleanup(func() { worker.Start(context.Background()) }) // whatever happens, the shared swarm gets its node back
	stopped := time.Now()
	worker.Stop()
	eventually(t, 60*time.Second, worker.Hostname+" shown as down", func() string {
		if row := rowOf(s.op.get("/nodes/live").Body, worker.Hostname); !strings.Contains(row, `status state-warn"><span class="node-status">down<`) {
			return row
		}
		return ""
	})
	t.Logf("%s shown as down %s after its engine stopped", worker.Hostname, time.Since(stopped).Round(100*time.Millisecond))
	for _, path := range []string{"/", "/services", "/nodes", "/nodes/" + worker.Hostname, "/volumes", "/containers", "/domains", "/backups", "/audit"} {
		if r := s.op.get(path); r.Status != http.StatusOK {
			t.Errorf("%s with a node down: %d", path, r.Status)
		}
	}
	if page := s.op.get("/nodes/" + worker.Hostname); !strings.Contains(page.Body, "Node "+worker.Hostname+" is down") {
		t.Error("the node page does not say why its volumes cannot be listed")
	}
	if r := put("while-down.txt"); r.Status != http.StatusConflict || !strings.Contains(r.Body, "is down") {
		t.Errorf("upload to a down node: %d %s", r.Status, r.Body)
	}
	if err := worker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, worker.Hostname+" ready again", func() string {
		if row := rowOf(s.op.get("/nodes/live").Body, worker.Hostname); !strings.Contains(row, `status state-ok"><span class="node-status">ready<`) {
			return row
		}
		return ""
	})
	// Its features come back with it: the agent restarts there, the volume is listed and takes uploads again.
	eventually(t, 90*time.Second, "uploads to "+worker.Hostname+" again", func() string {
		if r := put("after.txt"); r.Status != http.StatusCreated {
			return r.Body
		}
		return ""
	})
	eventually(t, 60*time.Second, "the node page to list "+mapping+" again", func() string {
		if page := s.op.get("/nodes/" + worker.Hostname); !strings.Contains(page.Body, "<code>"+mapping+"</code>") {
			return "not listed"
		}
		return ""
	})
}

// rowOf returns the nodes table's row of a host.
func rowOf(table, hostname string) string {
	i := strings.Index(table, `id="node-`+hostname+`"`)
	if i < 0 {
		return "no row for " + hostname
	}
	end := strings.Index(table[i:], "</tr>")
	if end < 0 {
		return table[i:]
	}
	return table[i : i+end]
}
