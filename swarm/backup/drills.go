package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/berthhq/berth/store"
)

// Drills runs restore drills on demand and on the admin's schedule, and records each
// as evidence.
type Drills struct {
	St      *store.Store
	Local   *Runner
	Offsite *Offsite
	Log     *slog.Logger
}

// DrillEvery reads the drill schedule: 0 (off, the default), a day or a week.
func DrillEvery(ctx context.Context, st *store.Store) time.Duration {
	switch v, _ := st.Setting(ctx, store.SettingDrillSchedule, "off"); v {
	case "daily":
		return 24 * time.Hour
	case "weekly":
		return 7 * 24 * time.Hour
	}
	return 0
}

// ErrNothingToDrill means there is no complete snapshot where the drill looks.
var ErrNothingToDrill = errors.New("there is no complete snapshot to drill")

// Run drills the newest complete snapshot of source ("local" or "offsite", its bucket
// copy) and records the result, audited as who asked; the record is returned whatever the outcome.
func (d *Drills) Run(ctx context.Context, source string, who store.AuditRecord) (store.RestoreDrill, error) {
	runner, rec, err := d.begin(ctx, source, who.Actor)
	if err != nil {
		return rec, err
	}
	return d.finish(ctx, runner, rec, who)
}

// Start records a drill and runs it in the background; the record it returns says "running".
func (d *Drills) Start(ctx context.Context, source string, who store.AuditRecord) (store.RestoreDrill, error) {
	runner, rec, err := d.begin(ctx, source, who.Actor)
	if err != nil {
		return rec, err
	}
	go d.finish(context.WithoutCancel(ctx), runner, rec, who)
	return rec, nil
}

// begin picks the newest snapshot where the drill looks and records the drill as running.
func (d *Drills) begin(ctx context.Context, source, trigger string) (*Runner, store.RestoreDrill, error) {
	if _, busy := d.Local.Current(); busy {
		return nil, store.RestoreDrill{}, ErrBusy
	}
	runner := d.Local
	if source == "offsite" {
		r, err := d.Offsite.Remote(ctx)
		if err != nil {
			return nil, store.RestoreDrill{}, err
		}
		runner = r
	} else {
		source = "local"
	}
	ids, err := runner.Target.List()
	if err != nil {
		return nil, store.RestoreDrill{}, err
	}
	if len(ids) == 0 {
		return nil, store.RestoreDrill{}, ErrNothingToDrill
	}
	rec := store.RestoreDrill{Snapshot: ids[len(ids)-1], Source: source, Trigger: trigger, Started: time.Now(), Status: "running"}
	rec.ID, err = d.St.SaveRestoreDrill(ctx, rec)
	return runner, rec, err
}

// finish runs the drill, records its outcome and audits it.
func (d *Drills) finish(ctx context.Context, runner *Runner, rec store.RestoreDrill, audit store.AuditRecord) (store.RestoreDrill, error) {
	res, err := runner.Drill(ctx, rec.Snapshot)
	rec.Finished, rec.Volumes, rec.Files, rec.Bytes = time.Now(), res.Volumes, res.Files, res.Bytes
	switch {
	case err != nil:
		rec.Status, rec.Detail = "failed", "the drill could not run: "+err.Error()
	case res.Difference != "":
		rec.Status, rec.Detail = "failed", res.Difference
	default:
		rec.Status = "passed"
	}
	_, serr := d.St.SaveRestoreDrill(context.WithoutCancel(ctx), rec)
	audit.Action, audit.Object, audit.Outcome = "backup.drill", "backup:"+rec.Snapshot, rec.Status
	audit.Detail = fmt.Sprintf("%s copy, %d volumes, %d files, %d bytes in %s; %s", rec.Source, rec.Volumes, rec.Files, rec.Bytes, rec.Finished.Sub(rec.Started).Round(time.Millisecond), rec.Detail)
	d.St.Audit(context.WithoutCancel(ctx), audit)
	return rec, serr
}

// Schedule runs a drill whenever the newest one is older than the schedule's period,
// looking every minute, until ctx ends.
func (d *Drills) Schedule(ctx context.Context) {
	if err := d.St.InterruptRestoreDrills(ctx); err != nil {
		d.Log.Error("marking interrupted drills", "error", err)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
		if _, err := d.RunIfDue(ctx); err != nil && !errors.Is(err, ErrBusy) {
			d.Log.Warn("the scheduled restore drill did not run", "error", err)
		}
	}
}

// RunIfDue runs the scheduled drill when the schedule is on and the newest drill is older
// than its period, and reports whether it ran.
func (d *Drills) RunIfDue(ctx context.Context) (bool, error) {
	every := DrillEvery(ctx, d.St)
	if every == 0 {
		return false, nil
	}
	last, err := d.St.RestoreDrills(ctx, 1)
	if err != nil || (len(last) > 0 && time.Since(last[0].Started) < every) {
		return false, err
	}
	source, _ := d.St.Setting(ctx, store.SettingDrillSource, "local")
	who := systemRecord
	who.Actor = "schedule"
	_, err = d.Run(ctx, source, who)
	return err == nil, err
}

// DrillSchedules are the schedule settings an admin can choose.
var DrillSchedules = []string{"off", "daily", "weekly"}

// SetSchedule saves the drill schedule (off, daily or weekly) and where drills look (local or offsite).
func (d *Drills) SetSchedule(ctx context.Context, schedule, source string) error {
	if !slices.Contains(DrillSchedules, schedule) {
		return &RequestError{"schedule", "Choose off, daily or weekly."}
	}
	if source != "local" && source != "offsite" {
		return &RequestError{"source", "Choose the local snapshot or its bucket copy."}
	}
	if err := d.St.SetSetting(ctx, store.SettingDrillSchedule, schedule); err != nil {
		return err
	}
	return d.St.SetSetting(ctx, store.SettingDrillSource, source)
}
