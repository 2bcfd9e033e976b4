package backup

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/berthhq/berth/store"
)

// NewRunner is the runner Berth uses: snapshots of the engine and of Berth's database,
// kept under dir (made absolute: helpers on the node mount it by that path).
func NewRunner(engine Engine, st *store.Store, dir string) *Runner {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &Runner{Engine: engine, Vault: StoreVault{St: st}, Target: Dir{Path: dir}, Keys: st.Keyring(), Now: time.Now}
}

// Interval reads the snapshot interval from Berth's settings (60 minutes unless set).
func Interval(ctx context.Context, st *store.Store) time.Duration {
	v, err := st.Setting(ctx, store.SettingBackupMinutes, "60")
	n, perr := strconv.Atoi(v)
	if err != nil || perr != nil || n < 1 {
		n = 60
	}
	return time.Duration(n) * time.Minute
}

// systemRecord is the audit record of work Berth does by itself.
var systemRecord = store.AuditRecord{Actor: "system", Role: "system", Source: "berth", Via: "system"}

// Schedule takes a snapshot at every multiple of the interval (on the hour by default)
// until ctx ends; first it records the runs a stopped Berth left unfinished and clears
// the helpers and partial snapshots they left.
func Schedule(ctx context.Context, r *Runner, st *store.Store, log *slog.Logger) {
	audit := func(rec store.AuditRecord) {
		if err := st.Audit(context.WithoutCancel(ctx), rec); err != nil {
			log.Error("audit record lost", "action", rec.Action, "error", err)
		}
	}
	if n, err := st.InterruptBackupRuns(ctx); err == nil && n > 0 {
		rec := systemRecord
		rec.Action, rec.Object, rec.Outcome, rec.Detail = "backup.interrupted", "backups", "failed: Berth stopped during the backup", fmt.Sprintf("%d runs", n)
		audit(rec)
	}
	if n, err := r.Engine.RemoveLeftoverHelpers(ctx); err != nil {
		log.Warn("removing helper containers left by an earlier run", "error", err)
	} else if n > 0 {
		log.Info("removed helper containers left by an earlier run", "count", n)
	}
	if n, err := r.Target.Clean(); err != nil {
		log.Error("cleaning unfinished snapshots", "error", err)
	} else if n > 0 {
		log.Info("removed unfinished snapshots", "count", n)
	}
	for {
		every := Interval(ctx, st)
		now := time.Now()
		next := now.Truncate(every).Add(every)
		select {
		case <-ctx.Done():
			return
		case <-time.After(next.Sub(now)):
		}
		rec := systemRecord
		rec.Action = "backup.run"
		_, err := r.Start(ctx, "schedule", func(res Result) {
			for _, a := range res.AuditRecords(rec) {
				audit(a)
			}
		})
		if err != nil {
			rec.Object, rec.Outcome = "backups", "failed: "+err.Error()
			audit(rec)
		}
	}
}

// AuditRecords are the records a finished snapshot leaves: the run itself (as rec, who
// asked and from where) and, when retention removed snapshots after it, the prune.
func (res Result) AuditRecords(rec store.AuditRecord) []store.AuditRecord {
	m := res.Manifest
	rec.Object, rec.Outcome = "backup:"+m.ID, "ok"
	rec.Detail = fmt.Sprintf("%d services, %d configs, %d secrets, %d volumes, %d bytes", len(m.Services), len(m.Configs), len(m.Secrets), len(m.Volumes), m.TotalSize())
	if res.Err != nil {
		rec.Outcome, rec.Detail = "failed: "+res.Err.Error(), ""
	}
	out := []store.AuditRecord{rec}
	if len(res.Pruned) > 0 || res.PruneErr != nil {
		p := systemRecord
		p.Action, p.Object, p.Outcome, p.Detail = "backup.prune", "backups", "ok", fmt.Sprintf("removed by retention: %v", res.Pruned)
		if res.PruneErr != nil {
			p.Outcome = "failed: " + res.PruneErr.Error()
		}
		out = append(out, p)
	}
	return out
}
