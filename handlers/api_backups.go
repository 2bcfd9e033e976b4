package handlers

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/labstack/echo/v4"
)

// apiSnapshot is a snapshot as the API and the JSON export show it.
type apiSnapshot struct {
	ID         string              `json:"id"`
	Status     string              `json:"status"`
	Tier       string              `json:"tier,omitempty"`
	Pinned     bool                `json:"pinned"`
	Trigger    string              `json:"trigger,omitempty"`
	Started    string              `json:"started"`
	Finished   string              `json:"finished,omitempty"`
	Seconds    float64             `json:"duration_seconds,omitempty"`
	TotalBytes int64               `json:"total_bytes"`
	Signature  string              `json:"manifest_signature,omitempty"`
	Problem    string              `json:"problem,omitempty"`
	Error      string              `json:"error,omitempty"`
	Volumes    []backup.VolumeCopy `json:"volumes,omitempty"`
	Services   []string            `json:"services,omitempty"`
	Configs    []string            `json:"configs,omitempty"`
	Secrets    []string            `json:"secrets,omitempty"`
	Registries []string            `json:"registries,omitempty"`
	Warnings   []string            `json:"warnings,omitempty"`
	Offsite    *apiCopy            `json:"offsite,omitempty"` // the bucket copy's state, when a bucket is set
}

func snapshotJSON(s backup.Snapshot) apiSnapshot {
	a := apiSnapshot{ID: s.ID, Status: "complete", Tier: s.Tier, Pinned: s.Pinned, Trigger: s.Trigger, Started: apiTime(s.Started),
		Finished: apiTime(s.Finished), Seconds: s.Finished.Sub(s.Started).Seconds(), TotalBytes: s.TotalSize(), Signature: s.Signature,
		Problem: s.Problem, Volumes: s.Volumes, Warnings: s.Warnings}
	a.Services, a.Configs, a.Secrets, a.Registries = s.Names()
	return a
}

// allBackups lists complete snapshots and the attempts that did not complete, newest first.
func (h *Handlers) allBackups(c echo.Context) ([]apiSnapshot, error) {
	ctx := c.Request().Context()
	snaps, err := h.backups.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	copyOf, err := h.copyStates(c)
	if err != nil {
		return nil, err
	}
	out := make([]apiSnapshot, 0, len(snaps))
	for _, s := range snaps {
		a := snapshotJSON(s)
		a.Offsite = copyOf(s.ID)
		out = append(out, a)
	}
	runs, err := h.store.BackupRuns(ctx, 1000)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if r.Status == "complete" {
			continue
		}
		a := apiSnapshot{ID: r.ID, Status: r.Status, Trigger: r.Trigger, Started: apiTime(r.Started), Error: r.Error}
		if !r.Finished.IsZero() {
			a.Finished = apiTime(r.Finished)
		}
		out = append(out, a)
	}
	return out, nil
}

// APIBackups lists the backups.
func (h *Handlers) APIBackups(c echo.Context) error {
	list, err := h.allBackups(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list)
}

// APIBackup answers one complete snapshot.
func (h *Handlers) APIBackup(c echo.Context) error {
	s, err := h.snapshot(c, c.Param("id"))
	if err != nil {
		return err
	}
	a := snapshotJSON(s)
	if !whereOffsite(c) {
		copyOf, err := h.copyStates(c)
		if err != nil {
			return err
		}
		a.Offsite = copyOf(s.ID)
	}
	return c.JSON(http.StatusOK, a)
}

// APIBackupNow starts a snapshot and answers its id (202: it runs in the background).
func (h *Handlers) APIBackupNow(c echo.Context) error {
	id, err := h.startBackup(c)
	if errors.Is(err, backup.ErrBusy) {
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": id, "status": "running"})
}

// APIVerifyBackup recomputes a snapshot's checksums.
func (h *Handlers) APIVerifyBackup(c echo.Context) error {
	bad, err := h.verify(c, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": c.Param("id"), "ok": len(bad) == 0, "mismatches": bad})
}

// APIRestoreVolume restores one volume of a snapshot: {"mapping", "node", "target_volume", "scale_down", "confirm_in_use"}.
func (h *Handlers) APIRestoreVolume(c echo.Context) error {
	var req backup.VolumeRestore
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	req.Snapshot = c.Param("id")
	res, err := h.restoreVolume(c, req)
	var reqErr *backup.RequestError
	var inUse *backup.InUseError
	switch {
	case errors.As(err, &reqErr):
		return fieldErrors(c, map[string]string{reqErr.Field: reqErr.Msg})
	case errors.As(err, &inUse):
		return c.JSON(http.StatusConflict, map[string]any{"error": err.Error(), "services": inUse.Services})
	case errors.Is(err, backup.ErrBusy):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	case errors.Is(err, swarm.ErrRefused):
		return err
	case err != nil:
		return echo.NewHTTPError(http.StatusUnprocessableEntity, err.Error())
	}
	return c.JSON(http.StatusOK, res)
}

// APIRestoreObjects previews (GET) or creates (POST) a snapshot's missing environment objects.
func (h *Handlers) APIRestoreObjects(c echo.Context) error {
	return h.apiPlan(c, h.restoreObjects, Backups.RestoreObjects)
}

// apiPlan answers a restore's preview from plan (GET) or carries it out with apply (POST).
func (h *Handlers) apiPlan(c echo.Context, apply func(echo.Context, string) ([]backup.PlanItem, error),
	plan func(Backups, context.Context, string, bool) ([]backup.PlanItem, error)) error {
	var items []backup.PlanItem
	var err error
	if c.Request().Method == http.MethodPost {
		items, err = apply(c, c.Param("id"))
	} else {
		var src Backups
		if src, err = h.source(c); err == nil {
			items, err = plan(src, c.Request().Context(), c.Param("id"), false)
		}
	}
	var reqErr *backup.RequestError
	if errors.As(err, &reqErr) {
		return echo.NewHTTPError(http.StatusNotFound, reqErr.Msg)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, items)
}

// BackupsExport is the evidence export: every snapshot with its contents, sizes and checksums, and the rule in force.
func (h *Handlers) BackupsExport(c echo.Context) error {
	format := c.QueryParam("format")
	if p := c.Path(); strings.HasSuffix(p, ".csv") {
		format = "csv"
	} else if strings.HasSuffix(p, ".json") {
		format = "json"
	}
	list, err := h.allBackups(c)
	if err != nil {
		return err
	}
	h.audit(c, "backup.export", "backups", "ok", fmt.Sprintf("%s, %d entries", format, len(list)))
	stamp := time.Now().UTC().Format("20060102-150405")
	switch format {
	case "json":
		drills, err := h.allDrills(c)
		if err != nil {
			return err
		}
		c.Response().Header().Set("Content-Disposition", `attachment; filename="berth-backups-`+stamp+`.json"`)
		return c.JSON(http.StatusOK, map[string]any{"exported_at": apiTime(time.Now().UTC()), "retention_rule": backup.RetentionRule,
			"backup_directory": h.backups.Describe(), "interval": h.backupInterval(c.Request().Context()).String(), "backups": list,
			"restore_drills": drills})
	case "csv":
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "Choose format=csv or format=json.")
	}
	res := c.Response()
	res.Header().Set("Content-Type", "text/csv; charset=utf-8")
	res.Header().Set("Content-Disposition", `attachment; filename="berth-backups-`+stamp+`.csv"`)
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	_ = w.Write([]string{"id", "status", "tier", "pinned", "started_utc", "finished_utc", "duration_seconds", "total_bytes", "volume", "node", "volume_bytes", "volume_sha256", "consistency", "manifest_signature", "error", "retention_rule", "offsite_copy"})
	for _, b := range list {
		copyState := ""
		if b.Offsite != nil {
			copyState = strings.TrimSpace(b.Offsite.State + " " + b.Offsite.CopiedAt)
		}
		row := func(vol backup.VolumeCopy) {
			_ = w.Write([]string{b.ID, b.Status, b.Tier, fmt.Sprint(b.Pinned), b.Started, b.Finished, fmt.Sprintf("%.1f", b.Seconds), fmt.Sprint(b.TotalBytes),
				csvSafe(vol.Mapping), csvSafe(vol.Node), fmt.Sprint(vol.Size), vol.SHA256, vol.Consistency, b.Signature, csvSafe(b.Error + b.Problem), backup.RetentionRule, copyState})
		}
		if len(b.Volumes) == 0 {
			row(backup.VolumeCopy{})
		}
		for _, v := range b.Volumes {
			row(v)
		}
	}
	w.Flush()
	return w.Error()
}
