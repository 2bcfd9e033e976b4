package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	bswarm "github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

// reservedImage is the shell image under another name, for the fixture's stand-ins
// for Berth's own services: pulls of it are refused while they run.
const reservedImage = "berth-test/reserved-shell:1"

// boundaryFixture is the swarm as an attacker with an operator account finds it:
// Berth's own service with its secret, config and data volume (marked as Berth
// marks them), a service of another tool that holds a host folder, an operator's
// own service, and a volume Berth did not create.
type boundaryFixture struct {
	*swarmServer
	tag        string // in every fixture name, so the state compared is this test's alone
	admin      *client
	adminToken string

	self, selfVolume, selfSecret, selfConfig string // Berth's own (reserved by label)
	selfContainer                            string
	hostDir, hostDirContainer                string // another tool's service with a bind mount
	app                                      string // the operator's own service
	stacked                                  string // a stack's service with labels Berth keeps
	foreignVolume                            string // a volume Berth did not create
	legacyMapping                            string // a mapping of Berth's own volume recorded before the boundary existed
	selfHook                                 string // a webhook of Berth's own service made before the boundary existed
}

func newBoundaryFixture(t *testing.T) *boundaryFixture {
	t.Helper()
	s := newSwarmServer(t)
	withNetwork(t, s) // the operator's own service joins Berth's network, as deploys do
	ctx := context.Background()
	f := &boundaryFixture{swarmServer: s, tag: uniq("bnd")}
	f.self, f.selfVolume, f.selfSecret, f.selfConfig = f.tag+"-self", f.tag+"-self-data", f.tag+"-agent-key", f.tag+"-lb-conf"
	f.hostDir, f.app, f.stacked, f.foreignVolume = f.tag+"-hostdir", f.tag+"-app", f.tag+"-stacked", f.tag+"-foreign"
	f.legacyMapping = f.selfVolume
	admin := s.addUser("boundary-admin", store.RoleAdmin)
	f.admin = s.client()
	f.admin.login("boundary-admin", testPassword, "")
	tok, _, err := s.Store.CreateAPIToken(ctx, admin.ID, "tests")
	if err != nil {
		t.Fatal(err)
	}
	f.adminToken = tok
	for _, n := range s.cluster.Nodes {
		cli, err := n.Client()
		if err != nil {
			t.Fatal(err)
		}
		if err := cli.ImageTag(ctx, enginetest.BusyboxImage, reservedImage); err != nil {
			t.Fatal(err)
		}
		cli.Close()
	}
	sec, err := s.docker.SecretCreate(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: f.selfSecret, Labels: map[string]string{bswarm.AgentLabel: "fp"}}, Data: []byte("agent key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.docker.SecretRemove(ctx, sec.ID) })
	cfg, err := s.docker.ConfigCreate(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: f.selfConfig, Labels: map[string]string{"berth.loadbalancer.object": "true"}}, Data: []byte("lb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.docker.ConfigRemove(ctx, cfg.ID) })
	if _, err := s.docker.VolumeCreate(ctx, volume.CreateOptions{Name: f.selfVolume, Labels: map[string]string{bswarm.ReservedLabel: "true"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.docker.VolumeCreate(ctx, volume.CreateOptions{Name: f.foreignVolume}); err != nil {
		t.Fatal(err)
	}
	self := serviceSpec(f.self)
	self.Labels = map[string]string{bswarm.ReservedLabel: "true"}
	cs := self.TaskTemplate.ContainerSpec
	cs.Image = reservedImage
	cs.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: f.selfVolume, Target: "/data"}}
	cs.Secrets = []*swarm.SecretReference{{SecretID: sec.ID, SecretName: f.selfSecret, File: &swarm.SecretReferenceFileTarget{Name: "key", UID: "0", GID: "0", Mode: 0o400}}}
	cs.Configs = []*swarm.ConfigReference{{ConfigID: cfg.ID, ConfigName: f.selfConfig, File: &swarm.ConfigReferenceFileTarget{Name: "/lb.conf", UID: "0", GID: "0", Mode: 0o444}}}
	self.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.role==manager"}}
	s.createService(t, self)
	hostDir := serviceSpec(f.hostDir)
	hostDir.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: "/tmp", Target: "/host"}}
	hostDir.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.role==manager"}}
	s.createService(t, hostDir)
	stacked := serviceSpec(f.stacked)
	stacked.Labels = map[string]string{"com.docker.stack.namespace": "shop", "traefik.http.routers.shop.rule": "Host(`shop.example`)"}
	s.createService(t, stacked)
	one := uint64(1)
	s.mustAPI(t, s.token, http.MethodPost, "/api/v1/services", bswarm.ServiceSpec{Name: f.app, Image: enginetest.BusyboxImage, Replicas: &one,
		Constraints: []string{"node.role==manager"}, // its terminal is on Berth's own node
		Command:     []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"}, EndpointMode: "dnsrr"}, http.StatusCreated)
	t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), f.app) })
	t.Cleanup(func() {
		deadline := time.Now().Add(30 * time.Second)
		for _, v := range []string{f.selfVolume, f.foreignVolume} {
			for s.docker.VolumeRemove(context.Background(), v, true) != nil && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond) // the tasks mounting it are still going
			}
		}
	})
	if _, err := s.Store.CreateVolumeMapping(ctx, f.legacyMapping, "before-the-boundary"); err != nil {
		t.Fatal(err)
	}
	var id string
	if _, id, err = s.cluster.RunningContainer(ctx, f.self); err != nil {
		t.Fatal(err)
	}
	f.selfContainer = id
	if _, id, err = s.cluster.RunningContainer(ctx, f.hostDir); err != nil {
		t.Fatal(err)
	}
	f.hostDirContainer = id
	selfSvc, _, err := s.docker.ServiceInspectWithRaw(ctx, f.self, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	op, err := s.Store.UserByName(ctx, "op")
	if err != nil {
		t.Fatal(err)
	}
	if f.selfHook, err = s.Store.SetWebhook(ctx, selfSvc.ID, f.self, op.ID); err != nil {
		t.Fatal(err)
	}
	// Wait until the live model knows every fixture service, as a page would.
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range []string{f.self, f.hostDir, f.stacked, f.app} {
		for {
			if _, ok := s.Model.Service(name); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the live model never saw %s", name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return f
}

// state is what an attack must leave as it was: the fixture's services, secrets,
// configs and volumes with their versions, and every row of the store but the audit
// log and the sessions.
func (f *boundaryFixture) state(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	mine := func(name string) bool {
		return strings.Contains(name, f.tag) || slices.Contains([]string{bswarm.AgentService, bswarm.LoadBalancerName, "berth"}, name)
	}
	svcs, err := f.docker.ServiceList(ctx, swarm.ServiceListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		if mine(s.Spec.Name) {
			lines = append(lines, fmt.Sprintf("service %s v%d", s.Spec.Name, s.Version.Index))
		}
	}
	secs, err := f.docker.SecretList(ctx, swarm.SecretListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs {
		if mine(s.Spec.Name) {
			lines = append(lines, fmt.Sprintf("secret %s v%d", s.Spec.Name, s.Version.Index))
		}
	}
	cfgs, err := f.docker.ConfigList(ctx, swarm.ConfigListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfgs {
		if mine(c.Spec.Name) {
			lines = append(lines, fmt.Sprintf("config %s v%d", c.Spec.Name, c.Version.Index))
		}
	}
	vols, err := f.docker.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs()})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols.Volumes {
		if mine(v.Name) {
			lines = append(lines, "volume "+v.Name)
		}
	}
	lines = append(lines, storeRows(t, f.Store.DB())...)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// storeRows dumps every table but the audit log, the sessions and when tokens and webhooks were last used.
func storeRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('audit_log', 'sessions')`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var out []string
	for _, table := range tables {
		r, err := db.QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, c := range cols {
				if (table == "api_tokens" || table == "webhooks") && c == "last_used_at" {
					vals[i] = nil
				}
			}
			out = append(out, fmt.Sprintf("%s %v", table, vals))
		}
		r.Close()
	}
	return out
}

func (f *boundaryFixture) asOperator(method, path string, body any) (int, string) {
	r := f.api(f.t, f.token, method, path, body)
	return r.Status, r.Body
}

// berthImage is the id of the image Berth's own service runs, as the manager's image list marks it.
func (f *boundaryFixture) berthImage() string {
	ctx := context.Background()
	svc, _, err := f.docker.ServiceInspectWithRaw(ctx, f.self, swarm.ServiceInspectOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	img, err := f.docker.ImageInspect(ctx, svc.Spec.TaskTemplate.ContainerSpec.Image)
	if err != nil {
		f.t.Fatal(err)
	}
	return img.ID
}

func (f *boundaryFixture) form(method, path string, form url.Values) (int, string) {
	f.op.get("/account") // a fresh CSRF token
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", f.op.csrf)
	form.Set("confirmed", "yes") // an attacker says yes to every question
	p := f.op.send(method, path, form)
	return p.Status, p.Body
}

func (f *boundaryFixture) page(path string) (int, string) {
	p := f.op.get(path)
	return p.Status, p.Body
}

func (f *boundaryFixture) terminalRefusal(container string, extra ...string) (int, string) {
	f.op.get("/account")
	ws, res, err := dialTerminal(f.t, f.testServer, f.op, container, "", extra...)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		return status, err.Error()
	}
	defer ws.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var all strings.Builder
	for {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			break
		}
		all.Write(msg)
		if strings.Contains(string(msg), `"type":"error"`) {
			return http.StatusForbidden, all.String()
		}
	}
	return http.StatusOK, all.String()
}

// formMultipart posts a multipart form as the operator (with a fresh CSRF token).
func (f *boundaryFixture) formMultipart(path string, fields map[string]string) (int, string) {
	f.op.get("/account")
	p := f.op.postMultipart(path, fields, "", nil)
	return p.Status, p.Body
}

func (f *boundaryFixture) auditCount(t *testing.T) int {
	var n int
	if err := f.Store.DB().QueryRow(`SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *boundaryFixture) auditHas(t *testing.T, action, object string) bool {
	var n int
	if err := f.Store.DB().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = ? AND object = ? AND outcome = 'ok'`, action, object).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}
