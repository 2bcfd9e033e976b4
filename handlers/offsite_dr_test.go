package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/enginetest"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

// nursePassword is the password of the member whose sign-in the disaster recovery must bring back.
const nursePassword = "a different passphrase 42"

func TestDisasterRecoveryFromTheBucketOnAFreshBerth(t *testing.T) {
	e := newOffsiteEnv(t)
	ctx := context.Background()
	cli := must(e.node.Client()).value(t)
	defer cli.Close()
	key := e.configure(t)

	// The environment: a service reading a secret, a config and a mapping with known data,
	// two more members (one with a password of their own), a registry credential and a setting.
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "appdata"}, http.StatusCreated)
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/secrets", map[string]string{"name": "db_pw", "data": "dr-secret-71c"}, http.StatusCreated)
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/configs", map[string]string{"name": "app_conf", "data": "listen = 8080\n"}, http.StatusCreated)
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/registries", map[string]string{"url": "registry.example.com", "username": "ci", "password": "registry-pw-7d1"}, http.StatusCreated)
	app := swarm.ServiceSpec{Name: "app", Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
		Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
		Volumes: []swarm.VolumeRef{{Mapping: "appdata", Target: "/data"}},
		Secrets: []swarm.FileRef{{Name: "db_pw"}}, Configs: []swarm.FileRef{{Name: "app_conf", Target: "/etc/app.conf"}}}
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/services", app, http.StatusCreated)
	must(e.Store.CreateUser(ctx, "nurse", nursePassword, store.RoleViewer)).value(t)
	if err := e.Store.SetSetting(ctx, store.SettingBackupMinutes, "90"); err != nil {
		t.Fatal(err)
	}
	e.exec(t, "app", "sh", "-c", "mkdir -p /data/sub && head -c 2000000 /dev/urandom > /data/sub/blob && echo hello > /data/a.txt")
	reading := "cat /run/secrets/db_pw; echo; cat /etc/app.conf; cd /data && find . -type f | sort | xargs sha256sum"
	want := e.exec(t, "app", "sh", "-c", reading)
	snap := e.backupNow(t)
	e.waitCopy(t, snap.ID, "copied", 2*time.Minute)

	step(t, "the disaster: the swarm's objects and Berth's data directory are gone", func(t *testing.T) {
		if err := cli.ServiceRemove(ctx, "app"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 60*time.Second, "the app's tasks to go", func() bool {
			tasks, err := cli.TaskList(ctx, dswarm.TaskListOptions{})
			return err == nil && len(tasks) == 0
		})
		waitFor(t, 60*time.Second, "the volume to be free", func() bool { return cli.VolumeRemove(ctx, "appdata", true) == nil })
		for _, err := range []error{cli.SecretRemove(ctx, "db_pw"), cli.ConfigRemove(ctx, "app_conf")} {
			if err != nil {
				t.Fatal(err)
			}
		}
		e.testServer.Close()
		if err := os.RemoveAll(e.Data); err != nil {
			t.Fatal(err)
		}
	})

	fresh := startServer(t, t.TempDir(), e.node.Host())
	fresh.Engine.SetHelperBinary(staticBerthTB(t))
	fresh.addUser("dr-admin", store.RoleAdmin)
	admin := must(createToken(fresh, "dr-admin")).value(t)
	step(t, "the new Berth is given the backup key and the bucket on its page, and lists the copy", func(t *testing.T) {
		page := fresh.client()
		page.login("dr-admin", testPassword, "")
		page.get("/backups/offsite")
		if p := page.post("/backups/offsite/keys/import", url.Values{"key": {"berth-backup-key:not-a-key"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="key-error"`) {
			t.Errorf("a malformed key: %d", p.Status)
		}
		if p := page.post("/backups/offsite/keys/import", url.Values{"key": {key}}); p.Status != http.StatusSeeOther {
			t.Fatalf("adding the kept key: %d %s", p.Status, p.Body)
		}
		form := url.Values{}
		for k, v := range e.settings() {
			form.Set(k, fmt.Sprint(v))
		}
		form.Set("secret_key", "not-the-secret")
		if p := page.post("/backups/offsite", form); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="secret_key-error"`) || strings.Contains(p.Body, "not-the-secret") {
			t.Errorf("a wrong secret key: %d, its message next to the field and the value not written back", p.Status)
		}
		form.Set("secret_key", e.s3.SecretKey)
		if p := page.post("/backups/offsite", form); p.Status != http.StatusSeeOther {
			t.Fatalf("saving the bucket: %d %s", p.Status, p.Body)
		}
		p := page.get("/backups/offsite")
		if !strings.Contains(p.Body, `id="copy-`+snap.ID+`"`) || !strings.Contains(p.Body, "only in the bucket") || strings.Contains(p.Body, `id="backup-key-text"`) {
			t.Errorf("the off-site page of the new Berth does not list the copy (or shows a key)")
		}
		var remote []apiSnapshot
		fresh.mustAPI(t, admin, http.MethodGet, "/api/v1/backups/offsite/snapshots", nil, http.StatusOK).decode(t, &remote)
		if len(remote) != 1 || remote[0].ID != snap.ID {
			t.Fatalf("the bucket's copies seen from the new Berth: %+v", remote)
		}
		var keys struct {
			Keys []string `json:"backup_keys"`
		}
		fresh.mustAPI(t, admin, http.MethodGet, "/api/v1/backups/offsite", nil, http.StatusOK).decode(t, &keys)
		if len(keys.Keys) != 1 {
			t.Errorf("the new Berth made a key of its own beside the kept one: %v", keys.Keys)
		}
	})
	base := "/api/v1/backups/" + snap.ID
	step(t, "Berth's own records come back: members with their passwords, the setting, the audit log", func(t *testing.T) {
		var plan []backup.PlanItem
		fresh.mustAPI(t, admin, http.MethodGet, base+"/restore-state?where=offsite", nil, http.StatusOK).decode(t, &plan)
		if got := planActions(plan); got["member/nurse (viewer)"] != "create" || got["member/op (operator)"] != "create" || got["setting/"+store.SettingBackupMinutes] != "create" {
			t.Fatalf("the preview: %v", got)
		}
		if _, err := fresh.Store.UserByName(ctx, "nurse"); err == nil {
			t.Fatal("the preview created a member")
		}
		fresh.mustAPI(t, admin, http.MethodPost, base+"/restore-state?where=offsite", nil, http.StatusOK).decode(t, &plan)
		for _, p := range plan {
			if p.Action != "keep" && (p.Done == "" || strings.HasPrefix(p.Done, "failed")) {
				t.Errorf("%s %s: %q", p.Kind, p.Name, p.Done)
			}
		}
		for name, password := range map[string]string{"nurse": nursePassword, "op": testPassword} {
			c := fresh.client()
			c.login(name, password, "")
			if !c.signedIn() {
				t.Errorf("%s cannot sign in with their password after the recovery", name)
			}
		}
		if c := fresh.client(); c.tryLogin("nurse", testPassword, "").Status == http.StatusSeeOther && c.signedIn() {
			t.Error("nurse signed in with another member's password")
		}
		if v, _ := fresh.Store.Setting(ctx, store.SettingBackupMinutes, ""); v != "90" {
			t.Errorf("the backup interval after the recovery: %q", v)
		}
		recs := must(fresh.Store.AuditRecords(ctx, store.AuditFilter{Action: "backup.offsite.set"})).value(t)
		if len(recs) < 2 { // the old Berth's record, imported, and the new one's
			t.Errorf("the old audit log was not imported: %+v", recs)
		}
	})
	step(t, "the volume's bytes, then the service with its secret and config", func(t *testing.T) {
		fresh.mustAPI(t, admin, http.MethodPost, base+"/restore-volume?where=offsite", map[string]any{"mapping": "appdata", "node": e.node.Hostname}, http.StatusOK)
		var plan []backup.PlanItem
		fresh.mustAPI(t, admin, http.MethodGet, base+"/restore-objects?where=offsite", nil, http.StatusOK).decode(t, &plan)
		if got := planActions(plan); got["service/app"] != "create" || got["secret/db_pw"] != "create" || got["config/app_conf"] != "create" {
			t.Fatalf("the objects' preview: %v", got)
		}
		if _, _, err := cli.ServiceInspectWithRaw(ctx, "app", dswarm.ServiceInspectOptions{}); err == nil {
			t.Fatal("the preview created the service")
		}
		fresh.mustAPI(t, admin, http.MethodPost, base+"/restore-objects?where=offsite", nil, http.StatusOK).decode(t, &plan)
		for _, p := range plan {
			if p.Action == "create" && p.Done != "created" {
				t.Errorf("restore %s %s: %s", p.Kind, p.Name, p.Done)
			}
		}
		if got := e.exec(t, "app", "sh", "-c", reading); got != want {
			t.Errorf("the recovered service reads:\n%s\nwant\n%s", got, want)
		}
		op := must(fresh.Store.UserByName(ctx, "op")).value(t)
		creds := must(fresh.Store.RegistryCredentials(ctx, op.ID)).value(t)
		if len(creds) != 1 || creds[0].URL != "registry.example.com" || must(fresh.Store.RegistryPassword(ctx, creds[0])).value(t) != "registry-pw-7d1" {
			t.Errorf("op's registry credential after the recovery: %+v", creds)
		}
		vols := must(cli.VolumeList(ctx, volume.ListOptions{})).value(t)
		for _, v := range vols.Volumes {
			if strings.HasPrefix(v.Name, "berth-drill-") {
				t.Errorf("a scratch volume is left: %s", v.Name)
			}
		}
	})
	if strings.Contains(fresh.Log.String(), "dr-secret-71c") || strings.Contains(fresh.Log.String(), "registry-pw-7d1") {
		t.Error("the new Berth's log shows a recovered secret value")
	}
}

// planActions maps each plan item (kind/name) to its action.
func planActions(plan []backup.PlanItem) map[string]string {
	out := map[string]string{}
	for _, p := range plan {
		out[p.Kind+"/"+p.Name] = p.Action
	}
	return out
}
