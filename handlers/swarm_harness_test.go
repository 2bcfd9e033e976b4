package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/swarm"
	dockerclient "github.com/docker/docker/client"
)

// uniq makes a name no other test on the shared swarm uses.
func uniq(prefix string) string {
	b := make([]byte, 3)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// swarmServer is a Berth server on the shared test swarm with an operator signed in and an API token.
type swarmServer struct {
	*testServer
	cluster *enginetest.Cluster
	docker  *dockerclient.Client
	op      *client
	token   string
}

func newSwarmServer(t *testing.T) *swarmServer {
	t.Helper()
	cluster := enginetest.Shared(t)
	ts := newServer(t, cluster.Manager().Host())
	u := ts.addUser("op", store.RoleOperator)
	token, _, err := ts.Store.CreateAPIToken(context.Background(), u.ID, "tests")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := cluster.Manager().Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	op := ts.client()
	op.login("op", testPassword, "")
	return &swarmServer{testServer: ts, cluster: cluster, docker: cli, op: op, token: token}
}

// postMultipart submits a multipart form (with an optional file) with the CSRF token of the last page.
func (c *client) postMultipart(path string, fields map[string]string, fileName string, file []byte) page {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if fields["_csrf"] == "" {
		w.WriteField("_csrf", c.csrf)
	}
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if fileName != "" {
		fw, _ := w.CreateFormFile("file", fileName)
		fw.Write(file)
	}
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.do(req)
}

// apiResult is a JSON API answer.
type apiResult struct {
	Status int
	Body   string
	Header http.Header
}

// decode unmarshals the answer's body.
func (r apiResult) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// api calls the JSON API with a bearer token.
func (ts *testServer) api(t testing.TB, token, method, path string, body any) apiResult {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, ts.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apiResult{Status: res.StatusCode, Body: string(b), Header: res.Header}
}

// serviceSpec is a one-replica busybox service that stops at once and needs no routing mesh.
// mustAPI calls the API with the token and fails the test unless it answers want.
func (ts *testServer) mustAPI(t testing.TB, token, method, path string, body any, want int) apiResult {
	t.Helper()
	r := ts.api(t, token, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r
}

func serviceSpec(name string) swarm.ServiceSpec {
	one := uint64(1)
	grace := time.Second
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{
			Image:           enginetest.BusyboxImage,
			Command:         []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
			StopGracePeriod: &grace,
		}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR},
	}
}

// createService creates a service behind Berth's back and removes it when the test ends.
func (s *swarmServer) createService(t *testing.T, spec swarm.ServiceSpec) string {
	t.Helper()
	res, err := s.docker.ServiceCreate(context.Background(), spec, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		t.Fatalf("create service %s: %v", spec.Name, err)
	}
	t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), res.ID) })
	// Berth learns of it from the events stream, as it would of any other tool's service.
	waitFor(t, 10*time.Second, "the live model to hold "+spec.Name, func() bool { _, ok := s.Model.Service(res.ID); return ok })
	return res.ID
}

// readInService returns a file's content as a running task of the service sees it.
func (s *swarmServer) readInService(t *testing.T, service string, cmd ...string) string {
	t.Helper()
	return execInService(t, s.cluster, service, cmd...)
}

// execInService runs a command in a running task of the service on the cluster and returns its output.
func execInService(t *testing.T, cluster *enginetest.Cluster, service string, cmd ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		node, id, err := cluster.RunningContainer(ctx, service)
		if err != nil {
			t.Fatal(err)
		}
		out, err := enginetest.Exec(ctx, node, id, cmd...)
		if err == nil {
			return out
		}
		// The container may have been stopping (a rollout replaces it): try the next one.
		if ctx.Err() != nil {
			t.Fatalf("exec in %s: %v", service, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dbFilesContain reports whether the raw database files hold the bytes.
func dbFilesContain(t *testing.T, dir string, needle []byte) bool {
	t.Helper()
	for _, name := range []string{"berth.db", "berth.db-wal"} {
		data, err := os.ReadFile(dir + "/" + name)
		if err == nil && bytes.Contains(data, needle) {
			return true
		}
	}
	return false
}

// inspectService reads a service from the engine, failing the test if it cannot: a
// "nothing changed" check compares two real readings, never two failed ones.
func (s *swarmServer) inspectService(t testing.TB, name string) swarm.Service {
	t.Helper()
	svc, _, err := s.docker.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatalf("inspect service %s: %v", name, err)
	}
	return svc
}

// inspectNode reads a node from the engine, failing the test if it cannot.
func (s *swarmServer) inspectNode(t testing.TB, id string) swarm.Node {
	t.Helper()
	n, _, err := s.docker.NodeInspectWithRaw(context.Background(), id)
	if err != nil {
		t.Fatalf("inspect node %s: %v", id, err)
	}
	return n
}
