package handlers

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/chromedp/chromedp"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

var (
	helperOnce sync.Once
	helperPath string
	helperErr  error
)

// staticBerth builds Berth as the README's run command does, for helper containers to run (the test binary itself is not static).
func staticBerth(t *testing.T) string { return staticBerthTB(t) }

func staticBerthTB(t testing.TB) string {
	helperOnce.Do(func() {
		dir, err := os.MkdirTemp("", "berth-helper-")
		if err != nil {
			helperErr = err
			return
		}
		helperPath = filepath.Join(dir, "berth")
		cmd := exec.Command("go", "build", "-o", helperPath, "../cmd/berth")
		_, env, err := enginetest.READMERunEnv("../README.md")
		if err != nil {
			helperErr = err
			return
		}
		cmd.Env = append(os.Environ(), env...) // nothing of its own: what the README says is what works
		if out, err := cmd.CombinedOutput(); err != nil {
			helperErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if helperErr != nil {
		t.Fatal(helperErr)
	}
	return helperPath
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// upload PUTs a body into a mapping through the API.
func upload(t *testing.T, s *swarmServer, mapping string, q url.Values, body []byte) apiResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/api/v1/volumes/"+mapping+"/files?"+q.Encode(), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apiResult{Status: res.StatusCode, Body: string(b)}
}

func tgzOf(files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, b := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestUploadsLandInTheVolumeWithTheirExactBytes(t *testing.T) {
	s := newSwarmServer(t)
	s.Engine.SetHelperBinary(staticBerth(t))
	mapping := uniq("uploads")
	if r := s.api(t, s.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": mapping}); r.Status != http.StatusCreated {
		t.Fatal(r.Body)
	}
	svc := uniq("reader")
	spec := serviceSpec(svc)
	spec.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.role==manager"}}
	spec.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: mapping, Target: "/data"}}
	s.createService(t, spec)
	t.Cleanup(func() {
		time.Sleep(2 * time.Second)
		s.docker.VolumeRemove(context.Background(), mapping, true)
	})
	s.readInService(t, svc, "true")
	node := s.cluster.Manager().Hostname

	blob := make([]byte, 3<<20)
	rand.Read(blob)
	r := upload(t, s, mapping, url.Values{"node": {node}, "path": {"/docs"}, "name": {"report.bin"}}, blob)
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, `"path":"/docs/report.bin"`) || !strings.Contains(r.Body, sum(blob)) {
		t.Fatalf("file upload: %d %s", r.Status, r.Body)
	}
	index, css := []byte("<h1>site</h1>\n"), []byte("body { color: red }\n")
	if r := upload(t, s, mapping, url.Values{"node": {node}, "path": {"/www"}, "name": {"site.tgz"}, "extract": {"true"}},
		tgzOf(map[string][]byte{"site/index.html": index, "site/css/app.css": css})); r.Status != http.StatusCreated {
		t.Fatalf("tgz upload: %d %s", r.Status, r.Body)
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("notes/a.txt")
	w.Write([]byte("from a zip\n"))
	zw.Close()
	if r := upload(t, s, mapping, url.Values{"node": {node}, "path": {"/"}, "name": {"notes.zip"}, "extract": {"true"}}, zbuf.Bytes()); r.Status != http.StatusCreated {
		t.Fatalf("zip upload: %d %s", r.Status, r.Body)
	}
	want := fmt.Sprintf("%s  /data/docs/report.bin\n%s  /data/notes/a.txt\n%s  /data/www/site/css/app.css\n%s  /data/www/site/index.html\n",
		sum(blob), sum([]byte("from a zip\n")), sum(css), sum(index))
	eventuallyReads(t, s, svc, want, "sh", "-c", "sha256sum /data/docs/report.bin /data/notes/a.txt /data/www/site/css/app.css /data/www/site/index.html")

	// Without the shared pipe folder (Berth in a container whose paths the node does not
	// see), uploads go through the engine's archive endpoint, with the same result.
	s.Engine.SetUploadPipeDir("")
	viaAPI := []byte("through the archive endpoint\n")
	if r := upload(t, s, mapping, url.Values{"node": {node}, "path": {"/docs"}, "name": {"endpoint.txt"}}, viaAPI); r.Status != http.StatusCreated || !strings.Contains(r.Body, sum(viaAPI)) {
		t.Fatalf("upload through the archive endpoint: %d %s", r.Status, r.Body)
	}
	s.Engine.SetUploadPipeDir(filepath.Join(s.Data, "pipes"))
	want += sum(viaAPI) + "  /data/docs/endpoint.txt\n"
	eventuallyReads(t, s, svc, want, "sh", "-c", "sha256sum /data/docs/report.bin /data/notes/a.txt /data/www/site/css/app.css /data/www/site/index.html /data/docs/endpoint.txt")

	// Refusals change nothing.
	listing := func() string { return s.readInService(t, svc, "sh", "-c", "cd /data && find . | sort") }
	before := listing()
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Name: "ok.txt", Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.WriteHeader(&tar.Header{Name: "../../etc/evil", Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	for _, tc := range []struct {
		what string
		q    url.Values
		body []byte
		code int
		msg  string
	}{
		{"an escaping archive", url.Values{"node": {node}, "name": {"evil.tar"}, "extract": {"true"}}, evil.Bytes(), 422, "points outside"},
		{"a corrupt archive", url.Values{"node": {node}, "name": {"bad.tgz"}, "extract": {"true"}}, []byte("not gzip"), 422, "not a gzip archive"},
		{"a file that exists", url.Values{"node": {node}, "path": {"/docs"}, "name": {"report.bin"}}, []byte("x"), 422, "already in the volume"},
		{"an empty file", url.Values{"node": {node}, "name": {"empty"}}, nil, 422, "empty file is refused"},
		{"a destination with ..", url.Values{"node": {node}, "path": {"/../x"}, "name": {"f"}}, []byte("x"), 422, "without '..'"},
		{"a node that does not exist", url.Values{"node": {"node9"}, "name": {"f"}}, []byte("x"), 422, "No node named node9"},
		{"a worker without the agent", url.Values{"node": {s.cluster.Nodes[1].Hostname}, "name": {"f"}}, []byte("x"), 409, "The Berth agent is not running on node " + s.cluster.Nodes[1].Hostname},
	} {
		r := upload(t, s, mapping, tc.q, tc.body)
		if r.Status != tc.code || !strings.Contains(r.Body, tc.msg) {
			t.Errorf("%s: %d %s", tc.what, r.Status, r.Body)
		}
	}
	if r := upload(t, s, uniq("nosuch"), url.Values{"name": {"f"}}, []byte("x")); r.Status != http.StatusNotFound {
		t.Errorf("unknown mapping: %d", r.Status)
	}
	// The size limit is a setting, checked before anything streams.
	s.Store.SetSetting(context.Background(), store.SettingUploadLimitGB, "1")
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/api/v1/volumes/"+mapping+"/files?name=huge.bin&node="+node, io.LimitReader(zeroReader{}, 2<<30))
	req.ContentLength = 2 << 30
	req.Header.Set("Authorization", "Bearer "+s.token)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("an upload over the limit: %v %v", err, res)
	} else {
		res.Body.Close()
	}
	// A client that stops half-way: the connection closes after 400 of 1000 bytes.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /api/v1/volumes/%s/files?name=cut.bin&node=%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n%s",
		mapping, node, s.token, strings.Repeat("y", 400))
	time.Sleep(500 * time.Millisecond)
	conn.Close()
	time.Sleep(2 * time.Second)
	if after := listing(); after != before {
		t.Errorf("refused or cut-off uploads changed the volume:\nbefore %s\nafter  %s", before, after)
	}
	recs, _ := s.Store.AuditRecords(context.Background(), store.AuditFilter{Action: "volume.upload"})
	var ok, cut int
	for _, r := range recs {
		if r.Outcome == "ok" {
			ok++
		}
		if strings.Contains(r.Outcome, "broke off: 400 of 1000 bytes") {
			cut++
		}
	}
	if ok != 4 || cut != 1 {
		t.Errorf("upload audit: %d written, %d cut off (want 4 and 1): %+v", ok, cut, recs)
	}
	// Every helper container, after success, refusal or cut-off, is gone.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := s.docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "berth.helper=upload"))})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d upload helper containers left behind", len(left))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestBrowserUploadFormFollowsTheMappingAndShowsProgress(t *testing.T) {
	s := newSwarmServer(t)
	s.Engine.SetHelperBinary(staticBerth(t))
	mapping := uniq("webdata")
	s.api(t, s.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": mapping})
	svc := uniq("web")
	spec := serviceSpec(svc)
	spec.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.role==manager"}}
	spec.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: mapping, Target: "/data"}}
	s.createService(t, spec)
	s.readInService(t, svc, "true")
	t.Cleanup(func() {
		time.Sleep(2 * time.Second)
		s.docker.VolumeRemove(context.Background(), mapping, true)
	})
	dir := t.TempDir()
	content := bytes.Repeat([]byte("berth upload line\n"), 50000) // about 900 KB
	os.WriteFile(filepath.Join(dir, "hello.txt"), content, 0o644)

	b := newBrowser(t)
	b.signIn(t, s.URL, "op")
	b.do(t, "open the volumes page",
		chromedp.Navigate(s.URL+"/volumes"),
		chromedp.WaitVisible(chromedp.CSS("#upload-form")),
		chromedp.SetValue(chromedp.CSS("#upload-mapping"), mapping),
	)
	eval[bool](t, b, `document.querySelector("#upload-mapping").dispatchEvent(new Event("change", {bubbles: true}))`)
	b.poll(t, "the node list follows the mapping", `!!document.querySelector("#upload-node option[value='`+s.cluster.Manager().Hostname+`']:not([disabled])")`, 10*time.Second)
	b.do(t, "choose a file and upload",
		chromedp.SetValue(chromedp.CSS("#upload-dest"), "/imports"),
		chromedp.SetUploadFiles(chromedp.CSS("#upload-files"), []string{filepath.Join(dir, "hello.txt")}),
		chromedp.Click(chromedp.CSS("#upload-button")),
	)
	b.poll(t, "the result", `document.querySelector("#upload-results").innerText.includes("/imports/hello.txt")`, 30*time.Second)
	if got := eval[string](t, b, `document.querySelector("#upload-state").textContent`); !strings.Contains(got, "Uploaded 1 file(s)") {
		t.Errorf("state %q", got)
	}
	if v := eval[float64](t, b, `document.querySelector("#upload-progress").value`); v != 100 {
		t.Errorf("progress bar at %v", v)
	}
	eventuallyReads(t, s, svc, sum(content)+"  /data/imports/hello.txt\n", "sha256sum", "/data/imports/hello.txt")

	// The form shows the server's own reason when it refuses: a file that exists already.
	b.do(t, "upload the same file again, keeping what is there",
		chromedp.SetUploadFiles(chromedp.CSS("#upload-files"), []string{filepath.Join(dir, "hello.txt")}),
		chromedp.Click(chromedp.CSS("#upload-button")),
	)
	b.poll(t, "the refusal", `document.querySelector("#upload-state").textContent.includes("Stopped")`, 30*time.Second)
	if got := eval[string](t, b, `document.querySelector("#upload-state").textContent`); !strings.Contains(got, "already in the volume: hello.txt") {
		t.Errorf("an existing file: the form says %q", got)
	}
	// And a file over the upload limit is refused before it is sent, in the same words as the server's.
	if err := s.Store.SetSetting(context.Background(), store.SettingUploadLimitGB, "1"); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(big, nil, 0o644); err != nil || os.Truncate(big, 1<<30+1) != nil { // sparse: nothing is written to disk
		t.Fatal("sparse file", err)
	}
	b.do(t, "reload the form and choose a file over the limit",
		chromedp.Navigate(s.URL+"/volumes"),
		chromedp.WaitVisible(chromedp.CSS("#upload-form")),
		chromedp.SetValue(chromedp.CSS("#upload-mapping"), mapping),
		chromedp.SetUploadFiles(chromedp.CSS("#upload-files"), []string{big}),
		chromedp.Click(chromedp.CSS("#upload-button")),
	)
	b.poll(t, "the size refusal", `document.querySelector("#upload-state").textContent.includes("Stopped")`, 30*time.Second)
	if got := eval[string](t, b, `document.querySelector("#upload-state").textContent`); !strings.Contains(got, "Uploads are at most 1 GB here (an admin setting); this one is 1.0 GB.") {
		t.Errorf("a file over the limit: the form says %q", got)
	}
	if out := s.readInService(t, svc, "sh", "-c", "ls -a /data/imports /data"); strings.Contains(out, "big.bin") || strings.Contains(out, ".berth-upload-") {
		t.Errorf("the refused uploads left something in the volume:\n%s", out)
	}
	b.requireCleanConsole(t)
}

// zeroReader reads zeros forever.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
