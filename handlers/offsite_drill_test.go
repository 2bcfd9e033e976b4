package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/alerts"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/volume"
)

// drillAnswer runs a restore drill through the API and waits for its outcome.
func (e *offsiteEnv) drillAnswer(t *testing.T, source string) apiDrill {
	t.Helper()
	var started apiDrill
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/backups/drills", map[string]string{"source": source}, http.StatusAccepted).decode(t, &started)
	var last []apiDrill
	waitFor(t, 2*time.Minute, "the drill's outcome", func() bool {
		e.mustAPI(t, e.token, http.MethodGet, "/api/v1/backups/drills", nil, http.StatusOK).decode(t, &last)
		return len(last) > 0 && last[0].ID == started.ID && last[0].Status != "running"
	})
	return last[0]
}

// scratchVolumes lists the drills' volumes left on the node.
func (e *offsiteEnv) scratchVolumes(t *testing.T) []string {
	t.Helper()
	cli := must(e.node.Client()).value(t)
	defer cli.Close()
	var left []string
	for _, v := range must(cli.VolumeList(context.Background(), volume.ListOptions{})).value(t).Volumes {
		if strings.HasPrefix(v.Name, "berth-drill-") {
			left = append(left, v.Name)
		}
	}
	return left
}

func TestRestoreDrillsPassOnAGoodSnapshotAndNameTheFileOnATamperedOne(t *testing.T) {
	e := newOffsiteEnv(t)
	ctx := context.Background()
	e.configure(t)
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "appdata"}, http.StatusCreated)
	app := swarm.ServiceSpec{Name: "app", Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
		Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
		Volumes: []swarm.VolumeRef{{Mapping: "appdata", Target: "/data"}}}
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/services", app, http.StatusCreated)
	e.exec(t, "app", "sh", "-c", "mkdir -p /data/sub && head -c 1500000 /dev/urandom > /data/sub/blob && echo hello > /data/a.txt && ln -s a.txt /data/link")
	snap := e.backupNow(t)
	e.waitCopy(t, snap.ID, "copied", 2*time.Minute)

	step(t, "the schedule is an admin's, checked by field", func(t *testing.T) {
		if r := e.api(t, e.token, http.MethodPut, "/api/v1/backups/drills/schedule", map[string]string{"schedule": "weekly"}); r.Status != http.StatusForbidden {
			t.Errorf("an operator set the drill schedule: %d", r.Status)
		}
		if r := e.api(t, e.admin, http.MethodPut, "/api/v1/backups/drills/schedule", map[string]string{"schedule": "hourly"}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"schedule"`) {
			t.Errorf("an unknown schedule: %d %s", r.Status, r.Body)
		}
		if ran, err := e.Drills.RunIfDue(ctx); ran || err != nil {
			t.Fatalf("a drill ran while the schedule is off: %v %v", ran, err)
		}
		e.mustAPI(t, e.admin, http.MethodPut, "/api/v1/backups/drills/schedule", map[string]string{"schedule": "weekly", "source": "local"}, http.StatusOK)
	})
	step(t, "the scheduled drill passes on the good snapshot, once a week", func(t *testing.T) {
		if ran, err := e.Drills.RunIfDue(ctx); !ran || err != nil {
			t.Fatalf("the weekly drill did not run: %v %v", ran, err)
		}
		if ran, err := e.Drills.RunIfDue(ctx); ran || err != nil {
			t.Errorf("a second drill ran in the same week: %v %v", ran, err)
		}
		d := must(e.Store.RestoreDrills(ctx, 1)).value(t)[0]
		if d.Status != "passed" || d.Trigger != "schedule" || d.Snapshot != snap.ID || d.Volumes != 1 || d.Files != 3 || d.Bytes < 1500000 {
			t.Errorf("the scheduled drill: %+v", d)
		}
		if left := e.scratchVolumes(t); len(left) != 0 {
			t.Errorf("the drill left its scratch volumes: %v", left)
		}
	})
	step(t, "a drill of the bucket's copy passes", func(t *testing.T) {
		if d := e.drillAnswer(t, "offsite"); d.Status != "passed" || d.Source != "offsite" || d.Files != 3 {
			t.Errorf("the drill of the bucket's copy: %+v", d)
		}
	})
	step(t, "a tampered archive fails the drill, named, with an alert and in the evidence", func(t *testing.T) {
		archive := filepath.Join(e.Data, "backups", snap.ID, snap.Volumes[0].File)
		raw := must(os.ReadFile(archive)).value(t)
		raw[len(raw)/2] ^= 0x20
		if err := os.WriteFile(archive, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		d := e.drillAnswer(t, "local")
		if d.Status != "failed" || !strings.Contains(d.Detail, snap.Volumes[0].File) || !strings.Contains(d.Detail, "checksum") {
			t.Errorf("the drill of a tampered snapshot: %+v", d)
		}
		if left := e.scratchVolumes(t); len(left) != 0 {
			t.Errorf("the failed drill left its scratch volumes: %v", left)
		}
		recs := must(e.Store.AuditRecords(ctx, store.AuditFilter{Action: "backup.drill"})).value(t)
		if len(recs) == 0 || recs[0].Actor != "op" || recs[0].Outcome != "failed" {
			t.Errorf("the drill's audit record: %+v", recs)
		}
		waitFor(t, 30*time.Second, "the failed-drill alert", func() bool {
			if err := e.Alerts.CheckOnce(ctx); err != nil {
				t.Fatal(err)
			}
			list := must(e.Store.Alerts(ctx, store.AlertFilter{State: "open", Kind: alerts.KindDrillFailed})).value(t)
			return len(list) == 1 && strings.Contains(list[0].Detail, snap.Volumes[0].File)
		})
		var export struct {
			Drills []apiDrill `json:"restore_drills"`
		}
		r := e.mustAPI(t, e.token, http.MethodGet, "/api/v1/backups/export?format=json", nil, http.StatusOK)
		if err := json.Unmarshal([]byte(r.Body), &export); err != nil || len(export.Drills) != 3 || export.Drills[0].Status != "failed" || export.Drills[2].Status != "passed" {
			t.Errorf("the evidence export's drills: %v %+v", err, export.Drills)
		}
		page := e.client()
		page.login("op", testPassword, "")
		if p := page.get("/backups"); !strings.Contains(p.Body, "restore-drills") || !strings.Contains(p.Body, snap.Volumes[0].File) || !strings.Contains(p.Body, "every week") {
			t.Errorf("the Backups page does not show the drills and their schedule")
		}
	})
}
