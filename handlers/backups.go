package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// Backups is what the backup pages and API need of the snapshot runner (swarm/backup's Runner).
type Backups interface {
	Start(ctx context.Context, trigger string, done func(backup.Result)) (string, error)
	Current() (backup.Progress, bool)
	Snapshots(ctx context.Context) ([]backup.Snapshot, error)
	Verify(ctx context.Context, id string) ([]backup.Mismatch, error)
	RestoreVolume(ctx context.Context, req backup.VolumeRestore) (backup.VolumeRestored, error)
	RestoreObjects(ctx context.Context, id string, apply bool) ([]backup.PlanItem, error)
	RestoreState(ctx context.Context, id string, apply bool) ([]backup.PlanItem, error)
	Describe() string
}

// backupInterval reads the snapshot interval (60 minutes unless set).
func (h *Handlers) backupInterval(ctx context.Context) time.Duration {
	return backup.Interval(ctx, h.store)
}

// afterBackup audits a finished snapshot (and what retention removed after it) as rec.
func (h *Handlers) afterBackup(rec store.AuditRecord) func(backup.Result) {
	return func(res backup.Result) {
		for _, r := range res.AuditRecords(rec) {
			h.writeAudit(context.Background(), r)
		}
	}
}

// backupRow turns a snapshot into the list's row.
func backupRow(s backup.Snapshot) views.BackupRow {
	r := views.BackupRow{ID: s.ID, Time: views.FormatTime(s.Started), Tier: s.Tier, Pinned: s.Pinned, Size: s.TotalSize(),
		Duration: s.Finished.Sub(s.Started).Round(100 * time.Millisecond).String(), Status: "complete", Checksum: s.Signature, Problem: s.Problem}
	for _, v := range s.Volumes {
		r.Volumes = append(r.Volumes, fmt.Sprintf("%s on %s: %s (%s)", v.Mapping, v.Node, views.Bytes(v.Size), v.Consistency))
	}
	return r
}

// backupsModel builds the list with its filters and the running work.
func (h *Handlers) backupsModel(c echo.Context) (views.BackupsModel, error) {
	ctx := c.Request().Context()
	m := views.BackupsModel{Dir: h.backups.Describe(), Interval: h.backupInterval(ctx).String(), Rule: backup.RetentionRule,
		Tier: c.QueryParam("tier"), Status: c.QueryParam("status")}
	m.CanOperate, m.CanAdmin = canOperate(c), isAdmin(c)
	snaps, err := h.backups.Snapshots(ctx)
	if err != nil {
		return m, err
	}
	copies, err := h.offsiteCopies(c, &m)
	if err != nil {
		return m, err
	}
	for _, s := range snaps {
		if (m.Tier == "" || s.Tier == m.Tier) && (m.Status == "" || m.Status == "complete") {
			r := backupRow(s)
			if m.Offsite != "" {
				r.Offsite, r.CopyBad = copies(s.ID)
			}
			m.Rows = append(m.Rows, r)
		}
	}
	if err := h.drillRows(c, &m); err != nil {
		return m, err
	}
	runs, err := h.store.BackupRuns(ctx, 200)
	if err != nil {
		return m, err
	}
	for _, r := range runs {
		if (r.Status == "failed" || r.Status == "interrupted") && m.Tier == "" && (m.Status == "" || m.Status == r.Status) {
			m.Runs = append(m.Runs, views.RunRow{ID: r.ID, Time: views.FormatTime(r.Started), Status: r.Status, Error: r.Error})
		}
	}
	if p, ok := h.backups.Current(); ok {
		m.Progress = &views.BackupProgress{Action: p.Action, ID: p.ID, Phase: p.Phase, Volume: p.Volume, Done: p.Done, Total: p.Total,
			Elapsed: time.Since(p.StartedAt).Round(time.Second).String()}
	}
	maps, err := backup.StoreVault{St: h.store}.Mappings(ctx)
	if err != nil {
		return m, err
	}
	for _, mp := range maps {
		m.Modes = append(m.Modes, views.MappingMode{Name: mp.Name, Mode: mp.Mode})
	}
	return m, nil
}

// BackupsPage lists the snapshots.
func (h *Handlers) BackupsPage(c echo.Context) error {
	m, err := h.backupsModel(c)
	if err != nil {
		return err
	}
	m.Notice = h.popNotice(c)
	p := h.page(c, "Backups", "backups")
	return h.render(c, http.StatusOK, p, views.BackupsPage(p, m))
}

// BackupsLive is the list and progress, polled while the page is open.
func (h *Handlers) BackupsLive(c echo.Context) error {
	m, err := h.backupsModel(c)
	if err != nil {
		return err
	}
	return fragment(c, http.StatusOK, views.BackupsLive(m))
}

// startBackup begins a snapshot on a user's request.
func (h *Handlers) startBackup(c echo.Context) (string, error) {
	rec := h.auditLater(c, "backup.run", "backups")
	id, err := h.backups.Start(c.Request().Context(), rec.Actor, h.afterBackup(rec))
	if err != nil {
		h.audit(c, "backup.run", "backups", refusal(err), "")
	}
	return id, err
}

// BackupNow starts a snapshot from the page.
func (h *Handlers) BackupNow(c echo.Context) error {
	id, err := h.startBackup(c)
	if errors.Is(err, backup.ErrBusy) {
		return h.redirectNotice(c, "/backups", "A backup or restore is already running: it shows below.")
	}
	if err != nil {
		return err
	}
	return h.redirectNotice(c, "/backups", "Backup "+id+" started; its progress shows below.")
}

// SetBackupMode chooses a mapping's consistency mode.
func (h *Handlers) SetBackupMode(c echo.Context) error {
	name, mode := c.Param("name"), c.FormValue("mode")
	if mode != "live" && mode != "stop" {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Choose live or stop.")
	}
	if err := h.guardVolume(c, "backup.mode", name); err != nil {
		return err
	}
	if err := h.store.SetMappingBackupMode(c.Request().Context(), name, mode); errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "No volume mapping named "+name+".")
	} else if err != nil {
		return err
	}
	h.audit(c, "backup.mode", "volume:"+name, "ok", mode)
	return h.redirectNotice(c, "/backups", "Backups of "+name+" now "+map[string]string{"live": "copy it live.", "stop": "scale its services to zero around the copy."}[mode])
}

// snapshot loads one snapshot with its tier (the bucket's copy with ?where=offsite), or answers 404.
func (h *Handlers) snapshot(c echo.Context, id string) (backup.Snapshot, error) {
	src, err := h.source(c)
	if err != nil {
		return backup.Snapshot{}, err
	}
	snaps, err := src.Snapshots(c.Request().Context())
	if err != nil {
		return backup.Snapshot{}, err
	}
	for _, s := range snaps {
		if s.ID == id {
			return s, nil
		}
	}
	return backup.Snapshot{}, echo.NewHTTPError(http.StatusNotFound, "No complete snapshot "+id+".")
}

// snapshotModel builds a snapshot's page.
func (h *Handlers) snapshotModel(c echo.Context, s backup.Snapshot) (views.SnapshotModel, error) {
	m := views.SnapshotModel{Row: backupRow(s), Warnings: s.Warnings, Restore: views.RestoreForm{Node: h.engine.Cached().NodeName}}
	m.CanOperate, m.CanAdmin, m.HoldsState = canOperate(c), isAdmin(c), s.State != nil
	if whereOffsite(c) {
		m.Where = "offsite"
	}
	m.Services, m.Configs, m.Secrets, m.Registries = s.Names()
	for _, v := range s.Volumes {
		m.Mappings = append(m.Mappings, v.Mapping+"@"+v.Node) // which node's copy: restoreRequest splits it
	}
	nodes, err := h.engine.Nodes(c.Request().Context())
	if err != nil {
		return m, err
	}
	for _, n := range nodes {
		m.Nodes = append(m.Nodes, n.Hostname)
	}
	sort.Strings(m.Nodes)
	return m, nil
}

func (h *Handlers) renderSnapshot(c echo.Context, status int, m views.SnapshotModel) error {
	p := h.page(c, "Snapshot "+m.Row.Time, "backups")
	return h.render(c, status, p, views.SnapshotPage(p, m))
}

// SnapshotPage shows one snapshot; ?preview=1 adds the plan of restoring its objects.
func (h *Handlers) SnapshotPage(c echo.Context) error {
	s, err := h.snapshot(c, c.Param("id"))
	if err != nil {
		return err
	}
	m, err := h.snapshotModel(c, s)
	if err != nil {
		return err
	}
	m.Notice = h.popNotice(c)
	src, err := h.source(c)
	if err != nil {
		return err
	}
	if c.QueryParam("preview") == "1" {
		plan, err := src.RestoreObjects(c.Request().Context(), s.ID, false)
		if err != nil {
			return err
		}
		m.Plan = planRows(plan)
	}
	if c.QueryParam("preview") == "state" && m.CanAdmin {
		plan, err := src.RestoreState(c.Request().Context(), s.ID, false)
		if err != nil {
			return err
		}
		m.StatePlan = planRows(plan)
	}
	return h.renderSnapshot(c, http.StatusOK, m)
}

func planRows(plan []backup.PlanItem) []views.PlanRow {
	out := make([]views.PlanRow, len(plan))
	for i, p := range plan {
		out[i] = views.PlanRow(p)
	}
	return out
}

// verify recomputes a snapshot's checksums (the bucket's copy with where=offsite:
// downloaded and decrypted) and audits the outcome.
func (h *Handlers) verify(c echo.Context, id string) ([]backup.Mismatch, error) {
	src, err := h.source(c)
	if err != nil {
		return nil, err
	}
	bad, err := src.Verify(c.Request().Context(), id)
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusNotFound, "No complete snapshot "+id+".")
	}
	if whereOffsite(c) {
		id += " (off-site copy)"
	}
	outcome := "ok"
	if len(bad) > 0 {
		outcome = fmt.Sprintf("failed: %d mismatches", len(bad))
	}
	h.audit(c, "backup.verify", "backup:"+id, outcome, fmt.Sprint(mismatchTexts(bad)))
	return bad, nil
}

// mismatchTexts says each mismatch in a line.
func mismatchTexts(bad []backup.Mismatch) []string {
	var out []string
	for _, b := range bad {
		out = append(out, fmt.Sprintf("%s: recorded %s, now %s", b.File, b.Want, b.Got))
	}
	return out
}

// VerifyBackup recomputes the checksums from the page.
func (h *Handlers) VerifyBackup(c echo.Context) error {
	s, err := h.snapshot(c, c.Param("id"))
	if err != nil {
		return err
	}
	bad, err := h.verify(c, s.ID)
	if err != nil {
		return err
	}
	m, err := h.snapshotModel(c, s)
	if err != nil {
		return err
	}
	m.Verified, m.Mismatches = true, mismatchTexts(bad)
	return h.renderSnapshot(c, http.StatusOK, m)
}

// PinBackup pins or unpins a snapshot.
func (h *Handlers) PinBackup(c echo.Context) error {
	s, err := h.snapshot(c, c.Param("id"))
	if err != nil {
		return err
	}
	pinned := c.FormValue("pinned") == "true"
	if err := h.store.PinBackup(c.Request().Context(), s.ID, currentUser(c).Username, pinned); err != nil {
		return err
	}
	h.audit(c, map[bool]string{true: "backup.pin", false: "backup.unpin"}[pinned], "backup:"+s.ID, "ok", "")
	return h.redirectNotice(c, "/backups/"+s.ID, map[bool]string{true: "Pinned: retention never prunes it.", false: "Unpinned: retention decides."}[pinned])
}

// whereText says in an audit detail that the bucket's copy was used.
func (h *Handlers) whereText(c echo.Context) string {
	if whereOffsite(c) {
		return " (the bucket's copy)"
	}
	return ""
}

// snapshotURL is a snapshot's page, on the bucket's copy when the request was.
func snapshotURL(id string, c echo.Context) string {
	if whereOffsite(c) {
		return "/backups/" + id + "?where=offsite"
	}
	return "/backups/" + id
}
