package handlers

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/chromedp/chromedp"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

// backupEnv is a Berth server on an engine of its own, with an operator's token.
type backupEnv struct {
	*testServer
	node  *enginetest.Node
	one   *enginetest.Cluster
	token string
}

func newBackupEnv(t *testing.T) *backupEnv {
	t.Helper()
	ts, node := newSwarmOfOne(t)
	u := ts.addUser("op", store.RoleOperator)
	token, _, _ := ts.Store.CreateAPIToken(context.Background(), u.ID, "backups")
	return &backupEnv{testServer: ts, node: node, one: &enginetest.Cluster{Nodes: []*enginetest.Node{node}}, token: token}
}

// exec runs a command in a running task of the service and returns its output.
func (e *backupEnv) exec(t *testing.T, service string, cmd ...string) string {
	t.Helper()
	return execInService(t, e.one, service, cmd...)
}

// backupNow starts a snapshot through the API and waits for its outcome.
func (e *backupEnv) backupNow(t *testing.T) apiSnapshot {
	t.Helper()
	r := e.api(t, e.token, http.MethodPost, "/api/v1/backups", nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("back up now: %d %s", r.Status, r.Body)
	}
	var started struct{ ID string }
	r.decode(t, &started)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var list []apiSnapshot
		e.api(t, e.token, http.MethodGet, "/api/v1/backups", nil).decode(t, &list)
		for _, b := range list {
			if b.ID == started.ID && b.Status != "running" {
				return b
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("backup %s did not finish", started.ID)
	return apiSnapshot{}
}

func TestBackupRestoresVolumesAndObjectsAndDetectsTampering(t *testing.T) {
	e := newBackupEnv(t)
	ctx := context.Background()
	cli := must(e.node.Client()).value(t)
	defer cli.Close()
	api := func(t *testing.T, method, path string, body any, want int) apiResult {
		t.Helper()
		return e.mustAPI(t, e.token, method, path, body, want)
	}
	api(t, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "appdata"}, http.StatusCreated)
	api(t, http.MethodPost, "/api/v1/secrets", map[string]string{"name": "db_pw", "data": "s3cret-value"}, http.StatusCreated)
	api(t, http.MethodPost, "/api/v1/configs", map[string]string{"name": "app_conf", "data": "listen = 8080\n"}, http.StatusCreated)
	app := swarm.ServiceSpec{Name: "app", Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
		Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
		Volumes: []swarm.VolumeRef{{Mapping: "appdata", Target: "/data"}},
		Secrets: []swarm.FileRef{{Name: "db_pw"}}, Configs: []swarm.FileRef{{Name: "app_conf", Target: "/etc/app.conf"}}}
	api(t, http.MethodPost, "/api/v1/services", app, http.StatusCreated)
	e.exec(t, "app", "sh", "-c", "mkdir -p /data/sub && head -c 3000000 /dev/urandom > /data/sub/blob && echo hello > /data/a.txt && ln -s a.txt /data/link && chmod 640 /data/a.txt")
	listing := "cd /data && find . | sort && find . -type f | sort | xargs sha256sum && ls -l a.txt | cut -c1-10 && readlink link"
	want := e.exec(t, "app", "sh", "-c", listing)

	snap := e.backupNow(t)
	if snap.Status != "complete" || len(snap.Volumes) != 1 || snap.Volumes[0].SHA256 == "" || snap.Volumes[0].DataBytes < 3000000 {
		t.Fatalf("snapshot: %+v", snap)
	}
	if !strings.Contains(strings.Join(snap.Secrets, ","), "db_pw") || !strings.Contains(strings.Join(snap.Configs, ","), "app_conf") {
		t.Errorf("snapshot objects: %+v", snap)
	}
	dir := filepath.Join(e.Data, "backups", snap.ID)
	if raw := must(os.ReadFile(filepath.Join(dir, "manifest.json"))).value(t); strings.Contains(string(raw), "s3cret-value") {
		t.Error("the manifest holds the secret's value in clear")
	}

	eventually(t, 5*time.Second, "the snapshot's audit record", func() string {
		recs, err := e.Store.AuditRecords(ctx, store.AuditFilter{Action: "backup.run"})
		if err != nil || len(recs) == 0 || recs[0].Object != "backup:"+snap.ID || recs[0].Outcome != "ok" || recs[0].Actor != "op" {
			return fmt.Sprintf("%+v %v", recs, err)
		}
		return ""
	})
	restore := func(t *testing.T, body map[string]any) apiResult {
		return e.api(t, e.token, http.MethodPost, "/api/v1/backups/"+snap.ID+"/restore-volume", body)
	}

	step(t, "restore into the original volume", func(t *testing.T) {
		// Destroy the data, then restore: refused while in use, done with confirmation, every byte back.
		e.exec(t, "app", "sh", "-c", "rm -rf /data/* && sync")
		if r := restore(t, map[string]any{"mapping": "appdata", "node": e.node.Hostname}); r.Status != http.StatusConflict || !strings.Contains(r.Body, `"app"`) {
			t.Errorf("restore into a volume in use without confirmation: %d %s", r.Status, r.Body)
		}
		if r := restore(t, map[string]any{"mapping": "appdata", "node": e.node.Hostname, "confirm_in_use": true}); r.Status != http.StatusOK {
			t.Fatalf("restore: %d %s", r.Status, r.Body)
		}
		if got := e.exec(t, "app", "sh", "-c", listing); got != want {
			t.Errorf("restored volume differs:\n%s\nwant\n%s", got, want)
		}
		// Scaling the services to zero around the restore, and back.
		var done backup.VolumeRestored
		r := restore(t, map[string]any{"mapping": "appdata", "node": e.node.Hostname, "scale_down": true})
		if r.Status != http.StatusOK {
			t.Fatalf("restore with scale-down: %d %s", r.Status, r.Body)
		}
		r.decode(t, &done)
		if len(done.Stopped) != 1 || done.Stopped[0] != "app" {
			t.Errorf("restore stopped %v, want [app]", done.Stopped)
		}
		if got := e.exec(t, "app", "sh", "-c", listing); got != want {
			t.Errorf("after a scale-down restore the volume differs:\n%s", got)
		}
	})

	step(t, "restore onto a new volume", func(t *testing.T) {
		// Onto a new volume, read by another service.
		if _, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: "not-berths"}); err != nil {
			t.Fatal(err)
		}
		if r := restore(t, map[string]any{"mapping": "appdata", "node": e.node.Hostname, "target_volume": "appdata-copy"}); r.Status != http.StatusOK {
			t.Fatalf("restore to a new volume: %d %s", r.Status, r.Body)
		}
		api(t, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "appdata-copy"}, http.StatusCreated)
		reader := swarm.ServiceSpec{Name: "reader", Image: enginetest.BusyboxImage, EndpointMode: "dnsrr", Command: app.Command,
			Volumes: []swarm.VolumeRef{{Mapping: "appdata-copy", Target: "/data"}}}
		api(t, http.MethodPost, "/api/v1/services", reader, http.StatusCreated)
		if got := e.exec(t, "reader", "sh", "-c", listing); got != want {
			t.Errorf("the new volume differs:\n%s\nwant\n%s", got, want)
		}
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"mapping": "appdata", "node": "no-such-node"}, "There is no node named no-such-node"},
			{map[string]any{"mapping": "other", "node": e.node.Hostname}, "holds no archive of other"},
			{map[string]any{"mapping": "appdata", "node": e.node.Hostname, "target_volume": "../x"}, "volume name"},
			{map[string]any{"mapping": "appdata", "node": e.node.Hostname, "target_volume": "not-berths"}, "a volume Berth does not manage"},
		} {
			if r := restore(t, tc.body); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tc.field) {
				t.Errorf("restore %v: %d %s", tc.body, r.Status, r.Body)
			}
		}
	})

	step(t, "verify finds a flipped byte", func(t *testing.T) {
		// Verify: whole, then a flipped byte is found and refused for restore.
		var verdict struct {
			OK         bool              `json:"ok"`
			Mismatches []backup.Mismatch `json:"mismatches"`
		}
		api(t, http.MethodPost, "/api/v1/backups/"+snap.ID+"/verify", nil, http.StatusOK).decode(t, &verdict)
		if !verdict.OK {
			t.Fatalf("a whole snapshot failed verification: %+v", verdict)
		}
		archive := filepath.Join(dir, snap.Volumes[0].File)
		raw := must(os.ReadFile(archive)).value(t)
		raw[len(raw)/2] ^= 0x40
		if err := os.WriteFile(archive, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		api(t, http.MethodPost, "/api/v1/backups/"+snap.ID+"/verify", nil, http.StatusOK).decode(t, &verdict)
		if verdict.OK || len(verdict.Mismatches) != 1 || verdict.Mismatches[0].File != snap.Volumes[0].File {
			t.Errorf("a tampered archive passed: %+v", verdict)
		}
		if r := restore(t, map[string]any{"mapping": "appdata", "node": e.node.Hostname, "target_volume": "never-written"}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "does not match its checksum") {
			t.Errorf("restore from a tampered archive: %d %s", r.Status, r.Body)
		}
		if must(e.Engine.VolumeExists(ctx, "never-written")).value(t) {
			t.Error("a refused restore created its target volume")
		}
	})

	step(t, "stop mode, truncation and a changed manifest", func(t *testing.T) {
		// A mapping backed up with its services stopped: the snapshot says so, and the service runs again after.
		var verdict struct {
			OK bool `json:"ok"`
		}
		op := e.client()
		op.login("op", testPassword, "")
		op.get("/backups")
		if p := op.post("/backups/modes/appdata", url.Values{"mode": {"stop"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("set the backup mode: %d %s", p.Status, p.Body)
		}
		second := e.backupNow(t)
		if v := second.Volumes; len(v) != 2 || v[0].Mapping != "appdata" || v[0].Consistency != "stopped" || len(v[0].Stopped) != 1 || v[0].Stopped[0] != "app" || v[1].Consistency != "live" {
			t.Errorf("a snapshot with appdata in stop mode and appdata-copy live: %+v", v)
		}
		if got := e.exec(t, "app", "sh", "-c", "cat /data/a.txt"); got != "hello\n" {
			t.Errorf("app after the stop-mode backup reads %q", got)
		}
		// A truncated archive and a changed manifest are caught too.
		if err := os.Truncate(filepath.Join(e.Data, "backups", second.ID, second.Volumes[0].File), 1000); err != nil {
			t.Fatal(err)
		}
		api(t, http.MethodPost, "/api/v1/backups/"+second.ID+"/verify", nil, http.StatusOK).decode(t, &verdict)
		if verdict.OK {
			t.Error("a truncated archive passed verification")
		}
		manifest := filepath.Join(e.Data, "backups", second.ID, "manifest.json")
		m := must(os.ReadFile(manifest)).value(t)
		if err := os.WriteFile(manifest, []byte(strings.Replace(string(m), `"app"`, `"evil"`, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		var listed apiSnapshot
		api(t, http.MethodGet, "/api/v1/backups/"+second.ID, nil, http.StatusOK).decode(t, &listed)
		if !strings.Contains(listed.Problem, "signature does not match") {
			t.Errorf("a changed manifest: %+v", listed)
		}
	})

	step(t, "the evidence export", func(t *testing.T) {
		// The evidence export lists every snapshot with its volumes' checksums and the rule.
		res, err := http.NewRequest(http.MethodGet, e.URL+"/api/v1/backups/export?format=csv", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Header.Set("Authorization", "Bearer "+e.token)
		got, err := http.DefaultClient.Do(res)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(got.Body).ReadAll()
		got.Body.Close()
		if err != nil || len(rows) < 3 || rows[0][11] != "volume_sha256" {
			t.Fatalf("CSV export: %v %v", err, rows)
		}
		found := false
		for _, row := range rows[1:] {
			found = found || (row[0] == snap.ID && row[11] == snap.Volumes[0].SHA256 && strings.Contains(row[15], "24 hours"))
		}
		if !found {
			t.Errorf("CSV export lacks %s with its checksum: %v", snap.ID, rows)
		}
		var export struct {
			Rule    string        `json:"retention_rule"`
			Backups []apiSnapshot `json:"backups"`
		}
		api(t, http.MethodGet, "/api/v1/backups/export?format=json", nil, http.StatusOK).decode(t, &export)
		if export.Rule != backup.RetentionRule || len(export.Backups) != 2 {
			t.Errorf("JSON export: %+v", export)
		}
	})

	step(t, "restore objects into an emptied swarm", func(t *testing.T) {
		// Restore environment objects into an emptied swarm: the service runs again with its secret and config.
		for _, path := range []string{"/api/v1/services/app", "/api/v1/services/reader"} {
			api(t, http.MethodDelete, path, nil, http.StatusNoContent)
		}
		waitGone := time.Now().Add(30 * time.Second)
		for {
			tasks, _ := cli.TaskList(ctx, dswarm.TaskListOptions{})
			if len(tasks) == 0 || time.Now().After(waitGone) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		api(t, http.MethodDelete, "/api/v1/secrets/db_pw", nil, http.StatusNoContent)
		api(t, http.MethodDelete, "/api/v1/configs/app_conf", nil, http.StatusNoContent)
		var plan []backup.PlanItem
		api(t, http.MethodGet, "/api/v1/backups/"+snap.ID+"/restore-objects", nil, http.StatusOK).decode(t, &plan)
		actions := map[string]string{}
		for _, p := range plan {
			actions[p.Kind+"/"+p.Name] = p.Action
		}
		if actions["service/app"] != "create" || actions["secret/db_pw"] != "create" || actions["config/app_conf"] != "create" || actions["mapping/appdata"] != "keep" {
			t.Fatalf("preview: %v", actions)
		}
		if _, _, err := cli.ServiceInspectWithRaw(ctx, "app", dswarm.ServiceInspectOptions{}); err == nil {
			t.Fatal("the preview created the service")
		}
		api(t, http.MethodPost, "/api/v1/backups/"+snap.ID+"/restore-objects", nil, http.StatusOK).decode(t, &plan)
		for _, p := range plan {
			if p.Action == "create" && p.Done != "created" {
				t.Errorf("restore %s %s: %s", p.Kind, p.Name, p.Done)
			}
		}
		if got := e.exec(t, "app", "sh", "-c", "cat /run/secrets/db_pw; echo; cat /etc/app.conf"); got != "s3cret-value\nlisten = 8080\n" {
			t.Errorf("restored service reads %q", got)
		}
		recs, _ := e.Store.AuditRecords(ctx, store.AuditFilter{Action: "backup.restore-object"})
		if len(recs) < 3 {
			t.Errorf("restored objects audited: %d records", len(recs))
		}
	})
}

func TestBackupToAFullOrUnwritableDirectoryFailsAndSaysWhy(t *testing.T) {
	e := newBackupEnv(t)
	e.api(t, e.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "big"})
	e.api(t, e.token, http.MethodPost, "/api/v1/services", swarm.ServiceSpec{Name: "filler", Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
		Command: []string{"sh", "-c", "head -c 4000000 /dev/urandom > /data/blob; trap 'exit 0' TERM; while true; do sleep 1; done"},
		Volumes: []swarm.VolumeRef{{Mapping: "big", Target: "/data"}}})
	e.exec(t, "filler", "sh", "-c", "while [ ! -s /data/blob ] || [ $(wc -c < /data/blob) -lt 4000000 ]; do sleep 0.2; done")

	full := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", full).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", full).Run() })
	for _, tc := range []struct {
		dir, says string
	}{
		{full, "backup disk is full"},
		{"/proc/berth-backups", "cannot be created"},
	} {
		e.Backups.Target = backup.Dir{Path: tc.dir}
		b := e.backupNow(t)
		if b.Status != "failed" || !strings.Contains(b.Error, tc.says) {
			t.Errorf("backup to %s: %+v, want failed saying %q", tc.dir, b, tc.says)
		}
		if ids := must(e.Backups.Target.List()).value(t); len(ids) != 0 {
			t.Errorf("a failed backup is listed as complete in %s: %v", tc.dir, ids)
		}
		if entries, err := os.ReadDir(tc.dir); err != nil && !os.IsNotExist(err) || len(entries) != 0 {
			t.Errorf("a failed backup left %d entries in %s", len(entries), tc.dir)
		}
	}
}

// TestKillingBerthMidBackupLeavesNoCompleteSnapshot runs Berth as its own process, kills it
// with SIGKILL while it copies a volume, and starts it again.
func TestKillingBerthMidBackupLeavesNoCompleteSnapshot(t *testing.T) {
	node := enginetest.Dedicated(t)
	ctx := context.Background()
	berth := newBerthProcess(t, node.Host())
	token := berth.member("op", "operator")
	cli, _ := node.Client()
	defer cli.Close()
	if _, err := cli.SwarmInit(ctx, dswarm.InitRequest{ListenAddr: node.Addr, AdvertiseAddr: node.Addr}); err != nil {
		t.Fatal(err)
	}
	// 400 MB of random data takes seconds to compress: long enough to be killed in the middle.
	berth.Serve()
	if code, body := berth.call(http.MethodPost, "/api/v1/volumes", token, map[string]string{"name": "bulk"}); code != http.StatusCreated {
		t.Fatalf("mapping: %d %s", code, body)
	}
	runOnce(t, ctx, cli, "head -c 400000000 /dev/urandom > /v/blob", "bulk")
	if code, body := berth.call(http.MethodPost, "/api/v1/backups", token, nil); code != http.StatusAccepted {
		t.Fatalf("back up now: %d %s", code, body)
	}
	partial := filepath.Join(berth.Data, "backups")
	deadline := time.Now().Add(30 * time.Second)
	for { // wait until the volume's archive is being written
		matches, _ := filepath.Glob(filepath.Join(partial, ".partial-*", "volume-bulk.tar.zst"))
		if len(matches) > 0 {
			if st, err := os.Stat(matches[0]); err == nil && st.Size() > 1<<20 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the backup never started writing the volume")
		}
		time.Sleep(50 * time.Millisecond)
	}
	berth.Kill()

	berth.Serve()
	// After restart: the run is listed as interrupted, its partial files and its helper are gone.
	eventually(t, 15*time.Second, "the state after restart", func() string {
		var list []apiSnapshot
		code, body := berth.call(http.MethodGet, "/api/v1/backups", token, nil)
		if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list) != 1 || list[0].Status != "interrupted" || !strings.Contains(list[0].Error, "Berth stopped") {
			return fmt.Sprintf("backups: %d %s", code, body)
		}
		if entries, err := os.ReadDir(partial); err != nil || len(entries) != 0 {
			return fmt.Sprintf("the interrupted backup left %v behind (%v)", entries, err)
		}
		if left := must(cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "berth.helper"))})).value(t); len(left) != 0 {
			return fmt.Sprintf("%d helper containers of the killed Berth are still there", len(left))
		}
		return ""
	})
}

// freeAddr finds a loopback address with a free port.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestBrowserBackupsPageFollowsABackupLive(t *testing.T) {
	e := newBackupEnv(t)
	e.api(t, e.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "media"})
	e.api(t, e.token, http.MethodPost, "/api/v1/services", swarm.ServiceSpec{Name: "media", Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
		Command: []string{"sh", "-c", "head -c 300000000 /dev/urandom > /data/blob; trap 'exit 0' TERM; while true; do sleep 1; done"},
		Volumes: []swarm.VolumeRef{{Mapping: "media", Target: "/data"}}})
	e.exec(t, "media", "sh", "-c", "while [ $(wc -c < /data/blob) -lt 300000000 ]; do sleep 0.2; done")

	b := newBrowser(t)
	b.signIn(t, e.URL, "op")
	b.do(t, "open the backups page",
		chromedp.Navigate(e.URL+"/backups"),
		chromedp.WaitVisible(chromedp.CSS("#backup-now")),
	)
	eval[bool](t, b, `window.berthMarker = true`)
	b.do(t, "back up now", chromedp.Click(chromedp.CSS("#backup-now")))
	b.poll(t, "the progress of the running backup", `!!document.querySelector("#backup-progress progress")`, 10*time.Second)
	b.screenshot(t, "backup-progress")
	b.poll(t, "the complete snapshot in the list", `!!document.querySelector("#backups tr[id^='backup-'] td.state-ok") && !document.querySelector("#backup-progress")`, 60*time.Second)
	if !eval[bool](t, b, `window.berthMarker === true`) {
		t.Error("the page reloaded instead of updating")
	}
	if got := eval[string](t, b, `document.querySelector("#backups").innerText`); !strings.Contains(got, "media on ") || !strings.Contains(got, "(live)") {
		t.Errorf("the row lacks the volume and its consistency: %q", got)
	}
	b.requireCleanConsole(t)
}
