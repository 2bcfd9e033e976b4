package handlers

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/agent"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	dswarm "github.com/docker/docker/api/types/swarm"
	"nhooyr.io/websocket"
)

// agentImage builds an image of Berth's static binary on every node of the cluster (no registry here).
func agentImage(t testing.TB, cluster *enginetest.Cluster, build int) string {
	t.Helper()
	bin, err := os.ReadFile(staticBerthTB(t))
	if err != nil {
		t.Fatal(err)
	}
	return agentImageOn(t, cluster.Nodes, build, bin)
}

// agentImageOn builds the agent image from Berth's static binary on each of the nodes.
func agentImageOn(t testing.TB, nodes []*enginetest.Node, build int, bin []byte) string {
	t.Helper()
	tag := "berth-test/berth:agent-" + strconv.Itoa(build)
	dockerfile := "FROM scratch\nCOPY berth /berth\nLABEL berth.build=" + strconv.Itoa(build) + "\nENTRYPOINT [\"/berth\"]\n"
	for _, n := range nodes {
		if err := enginetest.BuildImage(context.Background(), n, tag, map[string][]byte{"Dockerfile": []byte(dockerfile), "berth": bin}); err != nil {
			t.Fatal(err)
		}
	}
	return tag
}

// agentSocketLinks names each test engine's socket by its node's host name, which
// the agent service's mount template picks (production nodes all have /var/run/docker.sock).
func agentSocketLinks(t testing.TB, cluster *enginetest.Cluster) string {
	t.Helper()
	for _, n := range cluster.Nodes {
		agentSocketLink(t, n)
	}
	return filepath.Join(filepath.Dir(cluster.Nodes[0].Socket), "agent-{{.Node.Hostname}}.sock")
}

// agentSocketLink names one engine's socket by its node's host name (agentSocketLinks).
func agentSocketLink(t testing.TB, n *enginetest.Node) {
	link := filepath.Join(filepath.Dir(n.Socket), "agent-"+n.Hostname+".sock")
	os.Remove(link)
	if err := os.Symlink(n.Socket, link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(link) })
}

// portalKeys returns the agent keys the server keeps sealed in its store (made on first use).
func portalKeys(t testing.TB, s *testServer) agent.Keys {
	t.Helper()
	raw, err := s.Store.AgentKeys(context.Background(), func() ([]byte, error) {
		k, err := agent.NewKeys(time.Now())
		if err != nil {
			return nil, err
		}
		return k.Marshal()
	})
	if err != nil {
		t.Fatal(err)
	}
	k, err := agent.UnmarshalKeys(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// deployAgents sets the server up with its keys and image, deploys the agent
// service from the Nodes page and waits for it on every node; it is removed when the test ends.
func deployAgents(t *testing.T, s *swarmServer, admin *client, image string) agent.Keys {
	t.Helper()
	keys := portalKeys(t, s.testServer)
	if err := s.Engine.SetAgents(swarm.AgentSetup{Keys: keys, Image: image, Version: "test-1", Publish: true, Socket: agentSocketLinks(t, s.cluster)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Engine.RemoveAgent(context.Background())
		waitFor(t, 60*time.Second, "the agents to stop", func() bool { return agentsRunning(t, s, "") == 0 })
	})
	page := admin.get("/nodes")
	if !strings.Contains(page.Body, `id="deploy-agent"`) || strings.Count(page.Body, "agent missing") != len(s.cluster.Nodes) {
		t.Fatalf("the Nodes page does not offer the agent or show it missing:\n%s", page.Body)
	}
	if page := admin.post("/nodes/agent", url.Values{}); page.Status != http.StatusOK && page.Status != http.StatusSeeOther {
		t.Fatalf("deploy the agent: %d %s", page.Status, page.Body)
	}
	eventually(t, 90*time.Second, "an agent running on every node", func() string {
		if agentsRunning(t, s, image) == len(s.cluster.Nodes) {
			return ""
		}
		_, states, _ := s.Engine.Agents(context.Background())
		return fmt.Sprintf("%+v", states)
	})
	waitFor(t, 30*time.Second, "the Nodes page to show every agent running", func() bool {
		return strings.Count(admin.get("/nodes").Body, "agent running") == len(s.cluster.Nodes)
	})
	for _, n := range s.cluster.Nodes[1:] { // a task runs a moment before its agent listens
		eventually(t, 20*time.Second, "the agent on "+n.Hostname+" answers", func() string {
			if _, err := s.Engine.NodeVolumes(context.Background(), n.Hostname); err != nil {
				return err.Error()
			}
			return ""
		})
	}
	return keys
}

// agentsRunning counts running agent tasks (of the image, if given).
func agentsRunning(t *testing.T, s *swarmServer, image string) int {
	_, states, err := s.Engine.Agents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, st := range states {
		if st.State == "running" && (image == "" || st.Image == image) {
			n++
		}
	}
	return n
}

func TestAgentCarriesTerminalUploadBackupAndRestoreOnWorkers(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	admin := s.signedIn("adm", store.RoleAdmin)
	image := agentImage(t, s.cluster, 1)
	deployAgents(t, s, admin, image)
	worker1, worker2 := s.cluster.Nodes[1], s.cluster.Nodes[2]

	// A service on worker1 with a volume mapping.
	mapping, app := uniq("wdata"), uniq("wapp")
	api := func(method, path string, body any, want int) apiResult {
		t.Helper()
		return s.mustAPI(t, s.token, method, path, body, want)
	}
	api(http.MethodPost, "/api/v1/volumes", map[string]string{"name": mapping}, http.StatusCreated)
	api(http.MethodPost, "/api/v1/services", swarm.ServiceSpec{Name: app, Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
		Command:     []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
		Volumes:     []swarm.VolumeRef{{Mapping: mapping, Target: "/data"}},
		Constraints: []string{"node.hostname==" + worker1.Hostname}}, http.StatusCreated)
	t.Cleanup(func() { s.docker.ServiceRemove(ctx, app) })
	node, containerID, err := s.cluster.RunningContainer(ctx, app)
	if err != nil || node != worker1 {
		t.Fatalf("the task runs on %v (%v), want %s", node, err, worker1.Hostname)
	}

	// The terminal reaches the task on worker1 through its agent.
	waitFor(t, 15*time.Second, "the terminal page of the worker's task", func() bool {
		p := s.op.get("/terminal/" + containerID)
		return p.Status == http.StatusOK && strings.Contains(p.Body, worker1.Hostname)
	})
	ws, _, err := dialTerminal(t, s.testServer, s.op, containerID, "")
	if err != nil {
		t.Fatal(err)
	}
	writeJSON(ctx, ws, terminalMessage{Type: "input", Data: "echo $((6*7)) $(hostname)\r"})
	if out := readTerminalUntil(t, ws, regexp.MustCompile(`42 [0-9a-f]{12}`), 10*time.Second); !strings.Contains(out, "42 "+containerID[:12]) {
		t.Errorf("terminal output on the worker: %q", out)
	}
	ws.CloseNow()

	// An upload lands in worker1's volume.
	payload := make([]byte, 2<<20)
	rand.Read(payload)
	r := upload(t, s, mapping, url.Values{"node": {worker1.Hostname}, "name": {"blob.bin"}, "path": {"/in"}}, payload)
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, `"node":"`+worker1.Hostname+`"`) {
		t.Fatalf("upload to the worker: %d %s", r.Status, r.Body)
	}
	if got := execInService(t, s.cluster, app, "sha256sum", "/data/in/blob.bin"); !strings.HasPrefix(got, sum(payload)) {
		t.Errorf("the worker's volume holds %q, want %s", got, sum(payload))
	}
	// The node page lists the worker's volumes with their sizes.
	eventually(t, 15*time.Second, "the node page to list "+mapping+" with its size", func() string {
		if body := s.op.get("/nodes/" + worker1.Hostname).Body; !strings.Contains(body, mapping) || !strings.Contains(body, "2.0 MiB") {
			return body
		}
		return ""
	})

	// A backup copies the worker's volume; restored onto worker2 as a new volume, every byte is there.
	snap := (&backupEnv{testServer: s.testServer, token: s.token}).backupNow(t)
	var copyOnWorker *backup.VolumeCopy
	for i, v := range snap.Volumes {
		if v.Mapping == mapping && v.Node == worker1.Hostname {
			copyOnWorker = &snap.Volumes[i]
		}
	}
	if snap.Status != "complete" || copyOnWorker == nil || copyOnWorker.DataBytes < int64(len(payload)) {
		t.Fatalf("the snapshot has no copy of %s from %s: %+v", mapping, worker1.Hostname, snap)
	}
	restored := mapping + "-on-w2"
	res := s.api(t, s.token, http.MethodPost, "/api/v1/backups/"+snap.ID+"/restore-volume",
		map[string]any{"mapping": mapping, "from_node": worker1.Hostname, "node": worker2.Hostname, "target_volume": restored})
	if res.Status != http.StatusOK {
		t.Fatalf("restore onto %s: %d %s", worker2.Hostname, res.Status, res.Body)
	}
	reader := uniq("w2reader")
	spec := serviceSpec(reader)
	spec.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: restored, Target: "/data"}}
	spec.TaskTemplate.Placement = &dswarm.Placement{Constraints: []string{"node.hostname==" + worker2.Hostname}}
	s.createService(t, spec)
	if got := execInService(t, s.cluster, reader, "sha256sum", "/data/in/blob.bin"); !strings.HasPrefix(got, sum(payload)) {
		t.Errorf("the restored volume on %s holds %q, want %s", worker2.Hostname, got, sum(payload))
	}
	w2, _ := worker2.Client()
	defer w2.Close()
	t.Cleanup(func() { w2.VolumeRemove(context.Background(), restored, true) })
	if _, err := w2.VolumeInspect(ctx, restored); err != nil {
		t.Errorf("no volume %s on %s: %v", restored, worker2.Hostname, err)
	}
}

// readTerminalUntil reads the terminal's output until it matches, or fails the test.
func readTerminalUntil(t *testing.T, ws *websocket.Conn, want *regexp.Regexp, d time.Duration) string {
	t.Helper()
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for !want.MatchString(out.String()) {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("terminal output %q, then %v", out.String(), err)
		}
		if typ == websocket.MessageBinary {
			out.Write(data)
		}
	}
	return out.String()
}

func TestAgentRefusesWhatThePortalDidNotSign(t *testing.T) {
	s := newSwarmServer(t)
	admin := s.signedIn("adm", store.RoleAdmin)
	image := agentImage(t, s.cluster, 1)
	keys := deployAgents(t, s, admin, image)
	worker := s.cluster.Nodes[1]
	nodes, err := s.Engine.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	node, _ := swarm.FindNode(nodes, worker.Hostname)
	addr := net.JoinHostPort(worker.Addr, strconv.Itoa(agent.Port))

	call := func(conf *tls.Config, method, path, grant string, body []byte) (int, string, error) {
		tr := &http.Transport{TLSClientConfig: conf}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest(method, "https://"+addr+"/v1.41"+path, bytes.NewReader(body))
		if grant != "" {
			req.Header.Set(agent.Header, grant)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), nil
	}
	portal, err := keys.ClientTLS()
	if err != nil {
		t.Fatal(err)
	}
	grant := func(g agent.Grant) string {
		if g.Node == "" {
			g.Node = node.ID
		}
		if g.Expires == 0 {
			g.Expires = time.Now().Add(time.Minute).Unix()
		}
		return agent.Sign(ed25519.PrivateKey(keys.GrantKey), g)
	}
	// The portal's own keys and a grant for the listing: answered (the control case).
	if code, body, err := call(portal, http.MethodGet, "/volumes", grant(agent.Grant{Action: agent.ActVolumes}), nil); err != nil || code != http.StatusOK {
		t.Fatalf("a signed listing: %d %s %v", code, body, err)
	}

	// No client certificate, or one from another authority: the handshake is refused.
	other, _ := agent.NewKeys(time.Now())
	otherTLS, _ := other.ClientTLS()
	otherTLS.RootCAs = portal.RootCAs // the agent's certificate is trusted; the client's is not
	noCert := portal.Clone()
	noCert.Certificates = nil
	for name, conf := range map[string]*tls.Config{"no client certificate": noCert, "another authority's certificate": otherTLS} {
		if code, body, err := call(conf, http.MethodGet, "/volumes", grant(agent.Grant{Action: agent.ActVolumes}), nil); err == nil {
			t.Errorf("%s: answered %d %s", name, code, body)
		}
	}
	// The agent's own certificate is for serving only: it cannot act as the portal.
	agentAsClient := portal.Clone()
	cert, _ := tls.X509KeyPair(keys.AgentCert, keys.AgentKey)
	agentAsClient.Certificates = []tls.Certificate{cert}
	if code, _, err := call(agentAsClient, http.MethodGet, "/volumes", grant(agent.Grant{Action: agent.ActVolumes}), nil); err == nil {
		t.Errorf("an agent's certificate was accepted as the portal's: %d", code)
	}

	// The portal's certificate without a valid grant for the call: 403 with the reason.
	_, foreign, _ := ed25519.GenerateKey(rand.Reader)
	// A helper in every way but its privileges and a bind of the host's root: refused for those.
	privileged, _ := json.Marshal(map[string]any{"Image": image, "Labels": map[string]string{agent.HelperLabel: "x"},
		"NetworkDisabled": true, "HostConfig": map[string]any{"Privileged": true, "Binds": []string{"/:/host"},
			"Mounts": []map[string]any{{"Type": "volume", "Source": "v", "Target": "/berth-volume"}}}})
	for _, tc := range []struct {
		name, method, path, grant, want string
		body                            []byte
	}{
		{"no grant", http.MethodGet, "/volumes", "", "carries no grant", nil},
		{"a grant signed by another key", http.MethodGet, "/volumes", agent.Sign(foreign, agent.Grant{Action: agent.ActVolumes, Node: node.ID, Expires: time.Now().Add(time.Minute).Unix()}), "not signed by the portal", nil},
		{"an expired grant", http.MethodGet, "/volumes", grant(agent.Grant{Action: agent.ActVolumes, Expires: time.Now().Add(-time.Minute).Unix()}), "expired", nil},
		{"a grant for another node", http.MethodGet, "/volumes", grant(agent.Grant{Action: agent.ActVolumes, Node: "another-node"}), "another node", nil},
		{"a listing grant used to create a container", http.MethodPost, "/containers/create", grant(agent.Grant{Action: agent.ActVolumes}), "not part of volumes", privileged},
		{"an upload grant used for a privileged container with the host's root", http.MethodPost, "/containers/create", grant(agent.Grant{Action: agent.ActUpload, Volume: "v"}), "host access", privileged},
		{"an upload grant used to list services", http.MethodGet, "/services", grant(agent.Grant{Action: agent.ActUpload, Volume: "v"}), "not part of upload", nil},
		{"a listing grant used to read the node's memory and disk", http.MethodGet, agent.HostPath, grant(agent.Grant{Action: agent.ActVolumes}), "only with a grant for resource use", nil},
		{"a resource-use grant used to read stats of a container that is no task", http.MethodGet, "/containers/nonexistent/stats", grant(agent.Grant{Action: agent.ActStats}), "only of swarm task containers", nil},
		{"a terminal grant used for another container", http.MethodPost, "/containers/" + "nonexistent" + "/exec", grant(agent.Grant{Action: agent.ActTerminal, Container: "abc"}), "another container", []byte(`{"Cmd":["sh"]}`)},
	} {
		code, body, err := call(portal, tc.method, tc.path, tc.grant, tc.body)
		if err != nil || code != http.StatusForbidden || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s %v, want 403 saying %q", tc.name, code, body, err, tc.want)
		}
	}

	// A portal holding other keys is refused, and says so in plain words.
	wrong, err := swarm.Connect(func(k string) string {
		if k == "DOCKER_HOST" {
			return s.cluster.Manager().Host()
		}
		return ""
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	wrong.Refresh(context.Background())
	if err := wrong.SetAgents(swarm.AgentSetup{Keys: other, Image: "x", Publish: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.NodeVolumes(context.Background(), worker.Hostname); err == nil || !strings.Contains(err.Error(), "do not hold matching keys") {
		t.Errorf("a portal with the wrong keys: %v", err)
	}
	if _, err := s.Engine.NodeVolumes(context.Background(), worker.Hostname); err != nil {
		t.Errorf("the right portal after the refusals: %v", err)
	}

	// A new Berth (another image and version) upgrades the agents when it starts, node by node.
	image2 := agentImage(t, s.cluster, 2)
	if err := s.Engine.SetAgents(swarm.AgentSetup{Keys: keys, Image: image2, Version: "test-2", Publish: true, Socket: agentSocketLinks(t, s.cluster)}); err != nil {
		t.Fatal(err)
	}
	if page := admin.get("/nodes"); !strings.Contains(page.Body, "(another version)") || !strings.Contains(page.Body, "Upgrade the agents") {
		t.Errorf("the Nodes page does not show the agents as another version")
	}
	if changed, err := s.Engine.UpgradeAgents(context.Background()); err != nil || !changed {
		t.Fatalf("upgrade: %v %v", changed, err)
	}
	waitFor(t, 120*time.Second, "every agent on the new image", func() bool { return agentsRunning(t, s, image2) == len(s.cluster.Nodes) })
	if page := admin.get("/nodes"); !strings.Contains(page.Body, "Deployed, running this Berth's version.") {
		t.Errorf("the Nodes page after the upgrade: %s", page.Body)
	}
	eventually(t, 20*time.Second, "the upgraded agent answers", func() string { // its task runs a moment before it listens
		if _, err := s.Engine.NodeVolumes(context.Background(), worker.Hostname); err != nil {
			return err.Error()
		}
		return ""
	})
	if changed, err := s.Engine.UpgradeAgents(context.Background()); err != nil || changed {
		t.Errorf("a second upgrade changed something: %v %v", changed, err)
	}

	// Rotating the keys: every agent restarts with the new ones, and the old ones open nothing.
	if page := admin.post("/nodes/agent/rotate", url.Values{}); page.Status != http.StatusSeeOther {
		t.Fatalf("rotate the agents' keys: %d %s", page.Status, page.Body)
	}
	if page := admin.get("/nodes"); !strings.Contains(page.Body, "New agent keys are in use") {
		t.Error("the Nodes page does not say the keys changed")
	}
	newKeys := portalKeys(t, s.testServer)
	if newKeys.Fingerprint() == keys.Fingerprint() {
		t.Fatal("the store still holds the old keys")
	}
	waitFor(t, 120*time.Second, "every agent on the new keys", func() bool {
		_, states, _ := s.Engine.Agents(context.Background())
		n := 0
		for _, st := range states {
			if st.State == "running" && st.Current {
				n++
			}
		}
		return n == len(s.cluster.Nodes)
	})
	eventually(t, 20*time.Second, "the agent answers with the new keys", func() string {
		if _, err := s.Engine.NodeVolumes(context.Background(), worker.Hostname); err != nil {
			return err.Error()
		}
		return ""
	})
	if code, _, err := call(portal, http.MethodGet, "/volumes", grant(agent.Grant{Action: agent.ActVolumes}), nil); err == nil {
		t.Errorf("the old keys still open the agent: %d", code)
	}
	// Removing the agents removes their secrets too.
	if page := admin.post("/nodes/agent/remove", url.Values{}); page.Status != http.StatusSeeOther {
		t.Errorf("remove the agents: %d %s", page.Status, page.Body)
	}
	if page := admin.get("/nodes"); !strings.Contains(page.Body, "The agents are removed") || !strings.Contains(page.Body, "Not deployed") {
		t.Error("the Nodes page does not show the agents removed")
	}
	if left := must(s.docker.SecretList(context.Background(), dswarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("label", swarm.AgentLabel))})).value(t); len(left) > 0 {
		t.Errorf("%d agent secrets left after removal", len(left))
	}
	recs, _ := s.Store.AuditRecords(context.Background(), store.AuditFilter{Action: "agents."})
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action+" "+r.Outcome)
	}
	if got := strings.Join(actions, ", "); got != "agents.remove ok, agents.rotate-keys ok, agents.deploy ok" {
		t.Errorf("audit of the agents: %s", got)
	}
}

func TestBerthUpgradesItsAgentsWhenItStarts(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	admin := s.signedIn("adm", store.RoleAdmin)
	image := agentImage(t, s.cluster, 1)
	deployAgents(t, s, admin, image) // deployed by a Berth of version "test-1"
	bin := staticBerth(t)
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(raw)
	build := hex.EncodeToString(digest[:])[:12] // how a Berth binary names its build

	// Another Berth build starts against the same swarm.
	cmd := exec.Command(bin, "serve", "--addr", freeAddr(t), "--data", t.TempDir(),
		"--agent-image", image, "--agent-publish", "--agent-socket", agentSocketLinks(t, s.cluster))
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+s.cluster.Manager().Host())
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	eventually(t, 120*time.Second, "every agent on the new build", func() string {
		svc, _, err := s.docker.ServiceInspectWithRaw(ctx, swarm.AgentService, dswarm.ServiceInspectOptions{})
		if err != nil {
			return err.Error()
		}
		if v := svc.Spec.Labels["berth.agent.version"]; v != build {
			return "the service is of build " + v
		}
		tasks, err := s.docker.TaskList(ctx, dswarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", swarm.AgentService), filters.Arg("desired-state", "running"))})
		if err != nil {
			return err.Error()
		}
		n := 0
		for _, task := range tasks {
			if task.Status.State == dswarm.TaskStateRunning && task.Spec.ContainerSpec.Labels["berth.agent.version"] == build {
				n++
			}
		}
		if n != len(s.cluster.Nodes) {
			return fmt.Sprintf("%d of %d agents run the new build", n, len(s.cluster.Nodes))
		}
		return ""
	})
	if !strings.Contains(logs.String(), "agents upgraded") {
		t.Errorf("the new Berth does not say it upgraded the agents:\n%s", logs.String())
	}
}
