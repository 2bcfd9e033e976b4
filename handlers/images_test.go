package handlers

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	dockerclient "github.com/docker/docker/client"
)

// apiImageRow is one image as GET /api/v1/nodes/{name}/images answers it.
type apiImageRow struct {
	ID        string   `json:"id"`
	Tags      []string `json:"tags"`
	Size      int64    `json:"size_bytes"`
	CreatedAt string   `json:"created_at"`
	UsedBy    []string `json:"used_by"`
	Kept      string   `json:"kept"`
}

// randomBytes is n bytes no other image layer shares.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestNodeImagesMatchTheEngineAndPruneRemovesExactlyWhatItPreviewed(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	admin := s.signedIn("imgadmin", store.RoleAdmin)
	deployAgents(t, s, admin, agentImage(t, s.cluster, 1))
	worker := s.cluster.Nodes[1]
	wcli := must(worker.Client()).value(t)
	defer wcli.Close()

	// Three images only this test made on the worker: two no container uses, one a (never started) container holds.
	tag := uniq("prune")
	names := []string{"berth-test/" + tag + "-a:1", "berth-test/" + tag + "-b:1", "berth-test/" + tag + "-held:1"}
	for i, name := range names {
		if err := enginetest.BuildImage(ctx, worker, name, map[string][]byte{"Dockerfile": []byte("FROM scratch\nCOPY blob /blob\n"), "blob": randomBytes((3 + 2*i) << 20)}); err != nil {
			t.Fatal(err)
		}
	}
	holder := uniq("holder")
	if _, err := wcli.ContainerCreate(ctx, &container.Config{Image: names[2], Cmd: []string{"/blob"}}, nil, nil, nil, holder); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		wcli.ContainerRemove(context.Background(), holder, container.RemoveOptions{Force: true})
		for _, n := range names {
			wcli.ImageRemove(context.Background(), n, image.RemoveOptions{Force: true})
		}
	})
	ids := map[string]string{}
	for _, n := range names {
		ids[n] = must(wcli.ImageInspect(ctx, n)).value(t).ID
	}

	var listed []apiImageRow
	step(t, "the worker's listing (read through its agent) matches docker image ls there", func(t *testing.T) {
		r := s.api(t, s.token, http.MethodGet, "/api/v1/nodes/"+worker.Hostname+"/images", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("images: %d %s", r.Status, r.Body)
		}
		if err := json.Unmarshal([]byte(r.Body), &listed); err != nil {
			t.Fatal(err)
		}
		ls := must(wcli.ImageList(ctx, image.ListOptions{})).value(t)
		want, got := map[string]string{}, map[string]string{}
		for _, im := range ls {
			tags := slices.DeleteFunc(slices.Clone(im.RepoTags), func(t string) bool { return t == "<none>:<none>" }) // docker image ls prints <none>
			want[im.ID] = fmt.Sprint(sortedTags(tags), im.Size)
		}
		for _, im := range listed {
			got[im.ID] = fmt.Sprint(sortedTags(im.Tags), im.Size)
		}
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("Berth lists\n%v\ndocker image ls on %s lists\n%v", got, worker.Hostname, want)
		}
		for _, im := range listed {
			switch im.ID {
			case ids[names[2]]:
				if !slices.Contains(im.UsedBy, "container "+holder) || im.Kept != "in use" {
					t.Errorf("the held image: used by %v, kept %q", im.UsedBy, im.Kept)
				}
			case ids[names[0]], ids[names[1]]:
				if len(im.UsedBy) != 0 || im.Kept != "" {
					t.Errorf("an unused image: used by %v, kept %q", im.UsedBy, im.Kept)
				}
			}
		}
		page := admin.get("/nodes/" + worker.Hostname + "/images")
		for _, n := range names {
			if !strings.Contains(page.Body, n) {
				t.Errorf("the Images page does not list %s", n)
			}
		}
		if !strings.Contains(between(page.Body, `id="node-disk"`, `</article>`), "Build cache") {
			t.Errorf("the page has no disk use table: %s", truncate(page.Body, 500))
		}
		disk := s.api(t, s.token, http.MethodGet, "/api/v1/nodes/"+worker.Hostname+"/disk", nil)
		var du struct {
			Images struct {
				Count int `json:"count"`
			} `json:"images"`
		}
		if json.Unmarshal([]byte(disk.Body), &du); disk.Status != http.StatusOK || du.Images.Count != len(ls) {
			t.Errorf("disk: %d %s (want %d images)", disk.Status, disk.Body, len(ls))
		}
	})

	step(t, "the preview lists the unused ones only, and removing frees what it said", func(t *testing.T) {
		q := "id=" + url.QueryEscape(ids[names[0]]) + "&id=" + url.QueryEscape(ids[names[1]]) + "&id=" + url.QueryEscape(ids[names[2]])
		var preview, done struct {
			Images []apiImageRow     `json:"images"`
			Frees  int64             `json:"frees_bytes"`
			Freed  int64             `json:"freed_bytes"`
			Failed map[string]string `json:"failed"`
		}
		r := s.api(t, s.token, http.MethodPost, "/api/v1/nodes/"+worker.Hostname+"/images/prune?dry_run=true&"+q, nil)
		if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &preview) != nil {
			t.Fatalf("preview: %d %s", r.Status, r.Body)
		}
		previewed := imageIDs(preview.Images)
		if want := sortedTags([]string{ids[names[0]], ids[names[1]]}); fmt.Sprint(previewed) != fmt.Sprint(want) {
			t.Fatalf("previewed %v, want the two unused %v", previewed, want)
		}
		if !imageOnNode(t, wcli, names[0]) {
			t.Fatal("the preview removed an image")
		}
		// The page's preview says the same, and asks before removing.
		page := admin.post("/nodes/"+worker.Hostname+"/images/prune", url.Values{"dry_run": {"true"}})
		if !strings.Contains(page.Body, `id="prune-confirm"`) || !strings.Contains(between(page.Body, `id="prune-preview-list"`, `</article>`), names[0]) ||
			strings.Contains(between(page.Body, `id="prune-preview-list"`, `</article>`), names[2]) {
			t.Errorf("the page's preview: %s", truncate(between(page.Body, `id="prune-preview-list"`, `</article>`), 800))
		}

		r = s.api(t, s.token, http.MethodPost, "/api/v1/nodes/"+worker.Hostname+"/images/prune?"+q, nil)
		if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &done) != nil {
			t.Fatalf("prune: %d %s", r.Status, r.Body)
		}
		if fmt.Sprint(imageIDs(done.Images)) != fmt.Sprint(previewed) {
			t.Errorf("removed %v, previewed %v", imageIDs(done.Images), previewed)
		}
		if imageOnNode(t, wcli, names[0]) || imageOnNode(t, wcli, names[1]) {
			t.Error("a previewed image is still on the worker")
		}
		if !imageOnNode(t, wcli, names[2]) {
			t.Error("the image a container holds was removed")
		}
		if !strings.Contains(done.Failed[ids[names[2]]], "container "+holder) {
			t.Errorf("the held image's reason: %v", done.Failed)
		}
		if math.Abs(float64(done.Freed-preview.Frees)) > 0.05*float64(preview.Frees) || preview.Frees < 8<<20 {
			t.Errorf("freed %d bytes, the preview said %d", done.Freed, preview.Frees)
		}
		t.Logf("previewed %d bytes, freed %d", preview.Frees, done.Freed)
		recs := must(s.Store.AuditRecords(ctx, store.AuditFilter{Action: "node.images.prune"})).value(t)
		if len(recs) == 0 || recs[0].Outcome != "ok" || !strings.Contains(recs[0].Detail, "removed 2 images") {
			t.Errorf("audit: %+v", recs)
		}
	})
}

func sortedTags(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func imageIDs(rows []apiImageRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return sortedTags(out)
}

// imageOnNode says whether the node's engine still has the image.
func imageOnNode(t *testing.T, cli *dockerclient.Client, ref string) bool {
	t.Helper()
	_, err := cli.ImageInspect(context.Background(), ref)
	return err == nil
}
