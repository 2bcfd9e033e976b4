package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/swarm"
)

// serviceVisible reports what Berth's service list (served from the live model) says of a
// service: whether it is listed, and its running and desired counts.
func serviceVisible(t *testing.T, ts *testServer, token, name string) (bool, int, int) {
	var list []APIService
	ts.api(t, token, http.MethodGet, "/api/v1/services", nil).decode(t, &list)
	for _, s := range list {
		if s.Name == name {
			return true, s.State.Running, s.State.Desired
		}
	}
	return false, 0, 0
}

// within polls cond for up to d and reports how long it took, failing the test past d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s", what, d)
	return 0
}

func TestLiveModelFollowsChangesMadeBehindBerthsBack(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	waitFor(t, 10*time.Second, "the live model", func() bool { ok, _, _ := s.Model.Ready(); return ok })
	name := uniq("behind")
	spec := serviceSpec(name)
	id := s.createService(t, spec) // with the Docker client, not Berth
	took := within(t, time.Second, "a service created behind Berth's back", func() bool {
		ok, _, _ := serviceVisible(t, s.testServer, s.token, name)
		return ok
	})
	t.Logf("created: seen after %s", took)
	within(t, 60*time.Second, "its task running", func() bool { _, n, _ := serviceVisible(t, s.testServer, s.token, name); return n == 1 })

	svc := s.inspectService(t, id)
	three := uint64(3)
	svc.Spec.Mode.Replicated.Replicas = &three
	if _, err := s.docker.ServiceUpdate(ctx, id, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	took = within(t, time.Second, "the new desired count", func() bool {
		_, _, desired := serviceVisible(t, s.testServer, s.token, name)
		return desired == 3
	})
	t.Logf("scaled: seen after %s", took)
	within(t, 60*time.Second, "three tasks running", func() bool { _, n, _ := serviceVisible(t, s.testServer, s.token, name); return n == 3 })

	if err := s.docker.ServiceRemove(ctx, id); err != nil {
		t.Fatal(err)
	}
	took = within(t, time.Second, "the service gone", func() bool { ok, _, _ := serviceVisible(t, s.testServer, s.token, name); return !ok })
	t.Logf("removed: seen after %s", took)
}

func TestLiveModelRecoversWhenTheEventsStreamDrops(t *testing.T) {
	cluster := enginetest.Shared(t)
	proxy := enginetest.NewProxy(t, cluster.Manager())
	ts := newServer(t, proxy.Host())
	u := ts.addUser("op", store.RoleOperator)
	token, _, _ := ts.Store.CreateAPIToken(context.Background(), u.ID, "t")
	waitFor(t, 10*time.Second, "the live model", func() bool { ok, _, _ := ts.Model.Ready(); return ok })
	streams := ts.Model.Streams()

	proxy.CutAll() // the events stream (and every other open connection) drops
	waitFor(t, 10*time.Second, "a new events stream", func() bool { return ts.Model.Streams() > streams })
	waitFor(t, 10*time.Second, "the model ready again", func() bool { ok, _, _ := ts.Model.Ready(); return ok })

	// Changes after the drop still reach the model, through the new stream.
	cli, _ := cluster.Manager().Client()
	defer cli.Close()
	name := uniq("after-drop")
	res, err := cli.ServiceCreate(context.Background(), serviceSpec(name), swarm.ServiceCreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.ServiceRemove(context.Background(), res.ID) })
	within(t, time.Second, "a service created after the drop", func() bool {
		ok, _, _ := serviceVisible(t, ts, token, name)
		return ok
	})
	if !strings.Contains(ts.Log.String(), "events stream ended") {
		t.Error("the drop was not logged")
	}
}
