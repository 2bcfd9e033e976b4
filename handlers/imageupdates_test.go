package handlers

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// pushVersion builds an image that prints version on the manager and pushes it to the registry under ref, returning its digest there.
func pushVersion(t *testing.T, s *swarmServer, ref, version, auth string) string {
	t.Helper()
	ctx := context.Background()
	files := map[string][]byte{"Dockerfile": []byte("FROM " + enginetest.BusyboxImage + "\nCOPY version /version\nCMD [\"sleep\", \"3600\"]\n"), "version": []byte(version)}
	if err := enginetest.BuildImage(ctx, s.cluster.Manager(), ref, files); err != nil {
		t.Fatal(err)
	}
	rc, err := s.docker.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := swarm.StreamError(rc); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := s.docker.DistributionInspect(ctx, ref, auth)
	if err != nil {
		t.Fatal(err)
	}
	return d.Descriptor.Digest.String()
}

// digestsRunOn are the registry digests of the images the service's containers on the node run.
func digestsRunOn(t *testing.T, node *enginetest.Node, service string) []string {
	t.Helper()
	cli := must(node.Client()).value(t)
	defer cli.Close()
	ctx := context.Background()
	list := must(cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.name="+service))})).value(t)
	var out []string
	for _, c := range list {
		for _, rd := range must(cli.ImageInspect(ctx, c.ImageID)).value(t).RepoDigests {
			_, d, _ := strings.Cut(rd, "@")
			out = append(out, d)
		}
	}
	return out
}

func TestAPushedTagShowsAnUpdateWithinOneCheckAndTheUpdateRunsTheNewDigest(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	admin := s.signedIn("updadmin", store.RoleAdmin)
	deployAgents(t, s, admin, agentImage(t, s.cluster, 1)) // the tasks' images are read on the worker through its agent
	const user, password = "ci-bot", "reg-pass-7d21c4"
	reg := enginetest.StartImageRegistry(t, map[string]string{user: password})
	auth := must(registry.EncodeAuthConfig(registry.AuthConfig{Username: user, Password: password, ServerAddress: reg.Host})).value(t)
	name := uniq("updapp")
	repo := reg.Host + "/team/" + name
	v1 := pushVersion(t, s, repo+":1", "one", auth)

	// The operator's credential for the registry, then the service through the API: the worker pulls with it.
	s.op.get("/registries")
	if p := s.op.post("/registries", url.Values{"url": {reg.Host + "/team"}, "username": {user}, "password": {password}}); p.Status != http.StatusSeeOther {
		t.Fatalf("add credential: %d %s", p.Status, p.Body)
	}
	// A worker that pulls its tasks' images, as production engines do (the suite's engines run local images only).
	worker := must(enginetest.StartPullingNode(ctx, uniq("puller"))).value(t)
	t.Cleanup(func() {
		s.docker.NodeRemove(context.Background(), worker.Hostname, dswarm.NodeRemoveOptions{Force: true})
	})
	t.Cleanup(worker.Destroy)
	agentImageOn(t, []*enginetest.Node{worker}, 1, must(os.ReadFile(staticBerthTB(t))).value(t))
	agentSocketLink(t, worker)
	if err := s.cluster.JoinWorker(ctx, worker); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "the agent on "+worker.Hostname+" answers", func() string {
		if _, err := s.Engine.NodeVolumes(ctx, worker.Hostname); err != nil {
			return err.Error()
		}
		return ""
	})
	spec := swarm.ServiceSpec{Name: name, Image: repo, Tag: "1", EndpointMode: "dnsrr", Constraints: []string{"node.hostname==" + worker.Hostname}}
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/services", spec); r.Status != http.StatusCreated {
		t.Fatalf("deploy: %d %s", r.Status, r.Body)
	}
	t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), name) })
	waitRunning(t, s, name, 1, repo+":1")
	if got := digestsRunOn(t, worker, name); !slices.Contains(got, v1) {
		t.Fatalf("the worker runs %v, want %s", got, v1)
	}

	step(t, "a check of an unchanged tag finds it up to date", func(t *testing.T) {
		var check map[string]any
		r := s.api(t, s.token, http.MethodPost, "/api/v1/services/"+name+"/image/check", nil)
		r.decode(t, &check)
		if r.Status != http.StatusOK || check["update_available"] != false || check["latest"] != v1 {
			t.Fatalf("check: %d %s", r.Status, r.Body)
		}
	})

	v2 := pushVersion(t, s, repo+":1", "two", auth)
	if v2 == v1 {
		t.Fatal("the second push gave the same digest")
	}
	step(t, "after a push under the same tag, one scheduled round shows the update on the list, the page and the API, and pulls nothing", func(t *testing.T) {
		s.handler.checkAllImages(ctx)
		var list []APIService
		s.api(t, s.token, http.MethodGet, "/api/v1/services?q="+name, nil).decode(t, &list)
		if len(list) != 1 || list[0].UpdateAvailable == nil || list[0].UpdateAvailable.Digest != v2 {
			t.Fatalf("the API's services: %+v", list)
		}
		if at, err := time.Parse(time.RFC3339, list[0].UpdateAvailable.PushedAt); err != nil || time.Since(at) > time.Minute {
			t.Errorf("pushed_at %q", list[0].UpdateAvailable.PushedAt)
		}
		row := between(s.op.get("/services?q="+name).Body, `<tr id="service-`+name+`"`, `</tr>`)
		if !strings.Contains(row, "update available") {
			t.Errorf("the services list's row: %s", row)
		}
		page := s.op.get("/services/" + name)
		if section := between(page.Body, `id="image-update"`, `</article>`); !strings.Contains(section, v2) || !strings.Contains(section, `id="image-update-button"`) {
			t.Errorf("the service page: %s", section)
		}
		wcli := must(worker.Client()).value(t)
		defer wcli.Close()
		if _, err := wcli.ImageInspect(ctx, repo+"@"+v2); err == nil {
			t.Error("the check pulled the new image onto the worker")
		}
	})

	step(t, "the update from the page redeploys to the new digest, audited, and the next check finds it up to date", func(t *testing.T) {
		s.op.get("/services/" + name)
		p := s.op.post("/services/"+name+"/image/update", url.Values{"confirmed": {"yes"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("update: %d %s", p.Status, truncate(between(p.Body, `id="service-error"`, `</div>`), 400))
		}
		if img := s.inspectService(t, name).Spec.TaskTemplate.ContainerSpec.Image; img != repo+":1@"+v2 {
			t.Errorf("the service runs %s, want %s pinned", img, repo+":1@"+v2)
		}
		waitFor(t, 90*time.Second, "the worker to run "+v2, func() bool {
			got := digestsRunOn(t, worker, name)
			return len(got) == 1 && got[0] == v2
		})
		recs := must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "service.image-update"})).value(t)
		if len(recs) == 0 || recs[0].Outcome != "ok" || recs[0].Actor != "op" || !strings.Contains(recs[0].Detail, v2) {
			t.Errorf("audit: %+v", recs)
		}
		var check map[string]any
		s.api(t, s.token, http.MethodPost, "/api/v1/services/"+name+"/image/check", nil).decode(t, &check)
		if check["update_available"] != false || check["latest"] != v2 {
			t.Errorf("the check after the update: %v", check)
		}
		if r := s.api(t, s.token, http.MethodPost, "/api/v1/services/"+name+"/image/update", nil); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "No newer image") {
			t.Errorf("updating again: %d %s", r.Status, r.Body)
		}
	})

	step(t, "the extra worker, drained through the API, is removed by Berth once it has left", func(t *testing.T) {
		bg, stop := context.WithCancel(ctx)
		defer stop()
		go s.handler.runNodeRemovals(bg)
		adminToken := must(createToken(s.testServer, "updadmin")).value(t)
		if r := s.api(t, adminToken, http.MethodDelete, "/api/v1/nodes/"+worker.Hostname+"?drain=true", nil); r.Status != http.StatusAccepted || !strings.Contains(r.Body, "once it is down") {
			t.Fatalf("drain to remove: %d %s", r.Status, r.Body)
		}
		wcli := must(worker.Client()).value(t)
		defer wcli.Close()
		if err := wcli.SwarmLeave(ctx, false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 90*time.Second, worker.Hostname+" removed", func() bool {
			_, _, err := s.docker.NodeInspectWithRaw(ctx, worker.Hostname)
			return err != nil && strings.Contains(err.Error(), "not found")
		})
		var rec store.AuditRecord
		waitFor(t, 10*time.Second, "the removal's audit record", func() bool {
			for _, r := range must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "node.remove"})).value(t) {
				if r.Action == "node.remove" && r.Object == "node:"+worker.Hostname {
					rec = r
					return true
				}
			}
			return false
		})
		if rec.Outcome != "ok" || rec.Actor != "updadmin" || rec.Via != "api" || !strings.Contains(rec.Detail, "once it was down") {
			t.Errorf("audit of the removal: %+v", rec)
		}
	})
}
