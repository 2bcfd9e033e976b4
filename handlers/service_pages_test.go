package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/chromedp/chromedp"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

func TestServicePageActionsAndLogs(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	name := uniq("acts")
	spec := serviceSpec(name)
	spec.TaskTemplate.ContainerSpec.Command = []string{"sh", "-c", "echo to-stdout; echo to-stderr >&2; trap 'exit 0' TERM; while true; do sleep 1; done"}
	s.createService(t, spec)
	waitRunning(t, s, name, 1, enginetest.BusyboxImage)

	view := s.op.get("/services/" + name)
	if view.Status != http.StatusOK || !strings.Contains(view.Body, `sse-connect="/services/`+name+`/events"`) || !strings.Contains(view.Body, ">running<") {
		t.Fatalf("service page: %d", view.Status)
	}
	if p := s.op.post("/services/"+name+"/scale", url.Values{"replicas": {"many"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "whole number") {
		t.Errorf("bad replica count: %d", p.Status)
	}
	if p := s.op.post("/services/"+name+"/scale", url.Values{"replicas": {"2"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("scale: %d %s", p.Status, p.Body)
	}
	waitRunning(t, s, name, 2, enginetest.BusyboxImage)
	if p := s.op.get("/services/" + name); !strings.Contains(p.Body, "Scaling "+name+" to 2") {
		t.Error("no notice after scaling")
	}
	before := taskIDs(t, s, name)
	s.op.get("/services/" + name)
	if p := s.op.post("/services/"+name+"/redeploy", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("redeploy: %d %s", p.Status, p.Body)
	}
	waitFor(t, 60*time.Second, "new tasks after the redeploy", func() bool {
		after := taskIDs(t, s, name)
		return len(after) == 2 && after[0] != before[0] && after[1] != before[1] && after[0] != before[1]
	})
	s.op.get("/services/" + name)
	if p := s.op.post("/services/"+name+"/rollback", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("rollback: %d %s", p.Status, p.Body)
	}
	waitFor(t, 60*time.Second, "the rollback to one replica... of the previous spec", func() bool {
		svc := s.inspectService(t, name)
		return svc.UpdateStatus != nil && strings.HasPrefix(string(svc.UpdateStatus.State), "rollback_completed")
	})
	// The page says so in words, in the colour of good news, and keeps the replaced tasks behind a toggle.
	var after page
	waitFor(t, 10*time.Second, "the service page to show the roll back", func() bool {
		after = s.op.get("/services/" + name)
		return strings.Contains(after.Body, "Rolled back to the previous spec.")
	})
	if !strings.Contains(after.Body, `id="rollout" class="state-ok"`) || strings.Contains(after.Body, "rollback_completed") {
		t.Errorf("the roll back reads %q", between(after.Body, `id="rollout"`, "</p>"))
	}
	current := between(after.Body, `id="tasks"`, "</table>")
	if !strings.Contains(after.Body, `id="task-history"`) || strings.Count(current, "<tr>")-1 != strings.Count(current, "<td>running</td>") {
		t.Errorf("the current task table holds the replaced tasks, or there is no history toggle:\n%s", between(after.Body, `id="tasks"`, "</table>"))
	}

	logs := s.op.get("/services/" + name + "/logs?tail=50")
	if !strings.Contains(logs.Body, `class="log-stdout"`) || !strings.Contains(logs.Body, "to-stdout") ||
		!strings.Contains(logs.Body, `class="log-stderr"`) || !strings.Contains(logs.Body, "to-stderr") {
		t.Errorf("logs page does not show both streams apart:\n%s", between(logs.Body, `id="log-lines"`, "</pre>"))
	}
	// Following: a line written now arrives on the open stream.
	node, cid, err := s.cluster.RunningContainer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		enginetest.Exec(ctx, node, cid, "sh", "-c", "echo followed-line > /proc/1/fd/1")
	}()
	var followed page
	for i := 0; i < 10 && !strings.Contains(followed.Body, "followed-line"); i++ {
		followed = s.op.streamFor("/services/"+name+"/logs/follow", 2*time.Second)
	}
	if !strings.Contains(followed.Body, "event: line") || !strings.Contains(followed.Body, "followed-line") {
		t.Errorf("follow stream: %q", trim(followed.Body))
	}
	dl := s.op.get("/services/" + name + "/logs?tail=all&download=1")
	if !strings.Contains(dl.Header.Get("Content-Disposition"), name+".log") || !strings.Contains(dl.Body, " stderr to-stderr") {
		t.Errorf("download: %q %q", dl.Header.Get("Content-Disposition"), trim(dl.Body))
	}

	s.op.get("/services/" + name)
	if p := s.op.post("/services/"+name+"/delete", url.Values{"confirm": {"wrong"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "type the service") {
		t.Errorf("delete without the name: %d", p.Status)
	}
	if _, _, err := s.docker.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{}); err != nil {
		t.Fatal("a wrong confirmation deleted the service")
	}
	if p := s.op.post("/services/"+name+"/delete", url.Values{"confirm": {name}}); p.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.Status)
	}
	if _, _, err := s.docker.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{}); err == nil {
		t.Error("the service survived its deletion")
	}
	recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Object: "service:" + name})
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action+":"+r.Outcome)
	}
	if strings.Join(actions, ",") != "service.delete:ok,service.rollback:ok,service.redeploy:ok,service.scale:ok" {
		t.Errorf("audit trail %v", actions)
	}
}

func TestBrowserServicesListAndTasksFollowTheSwarmLive(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	b := newBrowser(t)
	b.signIn(t, s.URL, "op")
	b.do(t, "open the services page",
		chromedp.Navigate(s.URL+"/services"),
		chromedp.WaitVisible(chromedp.CSS("#services")),
	)
	eval[bool](t, b, `window.berthMarker = true`)
	name := uniq("live")
	id := s.createService(t, serviceSpec(name)) // behind Berth's back
	b.do(t, "the new service appears without a reload", chromedp.WaitVisible(chromedp.CSS("#service-"+name)))
	if !eval[bool](t, b, `window.berthMarker === true`) {
		t.Error("the page reloaded")
	}
	b.poll(t, "its task runs", `document.querySelector("#service-`+name+` .replicas").textContent.trim() === "1/1"`, 60*time.Second)
	b.do(t, "open the service", chromedp.Click(chromedp.CSS(`#service-`+name+` a`)), chromedp.WaitVisible(chromedp.CSS("#tasks")))
	svc := s.inspectService(t, id)
	three := uint64(3)
	svc.Spec.Mode.Replicated.Replicas = &three
	if _, err := s.docker.ServiceUpdate(ctx, id, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	b.poll(t, "the tasks table follows the scale-up", `document.querySelector("#service-live .replicas").textContent.trim() === "3/3"`, 60*time.Second)
	if n := eval[int](t, b, `document.querySelectorAll("#tasks tbody tr").length`); n < 3 {
		t.Errorf("%d task rows, want 3", n)
	}
	b.screenshot(t, "service")
	b.requireCleanConsole(t)
}

func TestServicesBerthDidNotCreateShowTheirUnsafeSettings(t *testing.T) {
	s := newSwarmServer(t)
	name := uniq("foreign")
	spec := serviceSpec(name)
	spec.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}}
	spec.TaskTemplate.ContainerSpec.CapabilityAdd = []string{"NET_ADMIN"}
	s.createService(t, spec) // behind Berth's back, as another tool would
	page := s.op.get("/services/" + name)
	for _, want := range []string{"Berth would refuse this setting: It mounts the Docker socket", "It adds capabilities: NET_ADMIN."} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("service page lacks %q", want)
		}
	}
	if list := s.op.get("/services?q=" + name); !strings.Contains(list.Body, "Has settings Berth would refuse") || !strings.Contains(list.Body, "not deployed by Berth") {
		t.Error("the list does not mark the service")
	}
	var got APIService
	s.api(t, s.token, http.MethodGet, "/api/v1/services/"+name, nil).decode(t, &got)
	if len(got.State.Warnings) != 2 || got.State.Managed {
		t.Errorf("API warnings %v managed %v", got.State.Warnings, got.State.Managed)
	}
	// Shown, not silently rewritten.
	svc := s.inspectService(t, name)
	if len(svc.Spec.TaskTemplate.ContainerSpec.Mounts) != 1 {
		t.Error("the service's mounts changed")
	}
}

func TestServicePageSaysWhyARolloutFailed(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	name := uniq("failing")
	spec := map[string]any{"name": name, "image": "berth-test/busybox", "tag": "latest", "endpoint_mode": "dnsrr",
		"command":       []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
		"update_policy": map[string]any{"parallelism": 1, "failure_action": "pause", "monitor": "2s"}}
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/services", spec); r.Status != http.StatusCreated {
		t.Fatalf("deploy: %d %s", r.Status, r.Body)
	}
	t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), name) })
	waitRunning(t, s, name, 1, enginetest.BusyboxImage)
	// An update to an image no node has: its tasks cannot start and the rollout pauses.
	if r := s.api(t, s.token, http.MethodPatch, "/api/v1/services/"+name, map[string]any{"image": "berth-test/missing", "tag": "1"}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	var view page
	waitFor(t, 90*time.Second, "the paused rollout on the service page", func() bool {
		view = s.op.get("/services/" + name)
		return strings.Contains(view.Body, `id="rollout"`) && strings.Contains(view.Body, "The rollout is paused")
	})
	if !strings.Contains(between(view.Body, `id="rollout"`, "</p>"), "update paused") {
		t.Errorf("the rollout line does not say why: %q", between(view.Body, `id="rollout"`, "</p>"))
	}
	if !strings.Contains(view.Body, "No such image") && !strings.Contains(view.Body, "berth-test/missing") {
		t.Error("the task table does not show the failing tasks")
	}
	if list := s.op.get("/services?q=" + name); !strings.Contains(list.Body, "rollout paused") {
		t.Error("the list does not mark the paused rollout")
	}
}
