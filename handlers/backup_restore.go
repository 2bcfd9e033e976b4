package handlers

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// restoreVolume runs a volume restore and audits it; field problems come back as a RequestError.
func (h *Handlers) restoreVolume(c echo.Context, req backup.VolumeRestore) (backup.VolumeRestored, error) {
	// Neither the copy read nor the volume written may be Berth's own.
	for _, v := range []string{req.Mapping, cmp.Or(req.Volume, req.Mapping)} {
		if err := h.guardVolume(c, "backup.restore-volume", v); err != nil {
			return backup.VolumeRestored{}, err
		}
	}
	src, err := h.source(c)
	if err != nil {
		return backup.VolumeRestored{}, err
	}
	res, err := src.RestoreVolume(c.Request().Context(), req)
	object := "volume:" + res.Volume + " (" + req.Node + ")"
	detail := fmt.Sprintf("from snapshot %s, mapping %s", req.Snapshot, req.Mapping)
	if whereOffsite(c) {
		detail += ", the bucket's copy"
	}
	if req.From != "" {
		detail += " (the copy from " + req.From + ")"
	}
	var reqErr *backup.RequestError
	var inUse *backup.InUseError
	switch {
	case errors.As(err, &reqErr), errors.As(err, &inUse), errors.Is(err, backup.ErrBusy):
		h.audit(c, "backup.restore-volume", object, "denied: "+err.Error(), detail)
	case err != nil:
		h.audit(c, "backup.restore-volume", object, "failed: "+err.Error(), detail)
	default:
		h.audit(c, "backup.restore-volume", object, "ok", fmt.Sprintf("%s: %s written, checksum %s verified, stopped %v", detail, views.Bytes(res.Bytes), res.SHA256, res.Stopped))
	}
	return res, err
}

// RestoreVolume restores a volume from the snapshot's page.
func (h *Handlers) RestoreVolume(c echo.Context) error {
	s, err := h.snapshot(c, c.Param("id"))
	if err != nil {
		return err
	}
	if ok, err := h.askFirst(c, "Restore this snapshot's copy into the volume? Files of the same name there are replaced.", snapshotURL(s.ID, c)); !ok {
		return err
	}
	req := backup.VolumeRestore{Snapshot: s.ID, Node: c.FormValue("node"), Volume: c.FormValue("target_volume"),
		ScaleDown: c.FormValue("scale_down") == "true", InUseOK: c.FormValue("confirm_in_use") == "true"}
	req.Mapping, req.From, _ = strings.Cut(c.FormValue("mapping"), "@")
	res, err := h.restoreVolume(c, req)
	m, merr := h.snapshotModel(c, s)
	if merr != nil {
		return merr
	}
	m.Restore = views.RestoreForm{Mapping: c.FormValue("mapping"), Node: req.Node, Volume: req.Volume, ScaleDown: req.ScaleDown, InUseOK: req.InUseOK}
	var reqErr *backup.RequestError
	var inUse *backup.InUseError
	switch {
	case errors.As(err, &reqErr):
		m.Restore.Errors = views.FieldErrors{reqErr.Field: reqErr.Msg}
	case errors.As(err, &inUse):
		m.Restore.InUse, m.Restore.Errors = inUse.Services, views.FieldErrors{"form": "Nothing was restored: " + err.Error() + "."}
	case err != nil:
		m.Restore.Errors = views.FieldErrors{"form": err.Error()}
	default:
		m.Restore.Result = fmt.Sprintf("Restored %s into %s on %s in %s; the archive's SHA-256 %s was checked first.", views.Bytes(res.Bytes), res.Volume, res.Node, res.Duration.Round(time.Millisecond), res.SHA256)
		return h.renderSnapshot(c, http.StatusOK, m)
	}
	return h.renderSnapshot(c, http.StatusUnprocessableEntity, m)
}

// restoreObjects applies a snapshot's missing objects and audits each one created.
func (h *Handlers) restoreObjects(c echo.Context, id string) ([]backup.PlanItem, error) {
	src, err := h.source(c)
	if err != nil {
		return nil, err
	}
	plan, err := src.RestoreObjects(c.Request().Context(), id, true)
	if err != nil {
		return nil, err
	}
	for _, p := range plan {
		if p.Done != "" {
			outcome := "ok"
			if p.Done != "created" {
				outcome = p.Done
			}
			h.audit(c, "backup.restore-object", p.Kind+":"+p.Name, outcome, "from snapshot "+id+h.whereText(c))
		}
	}
	return plan, nil
}

// RestoreObjects creates the snapshot's missing objects from its page.
func (h *Handlers) RestoreObjects(c echo.Context) error {
	s, err := h.snapshot(c, c.Param("id"))
	if err != nil {
		return err
	}
	if ok, err := h.askFirst(c, "Create the missing objects from this snapshot?", snapshotURL(s.ID, c)); !ok {
		return err
	}
	plan, err := h.restoreObjects(c, s.ID)
	if err != nil {
		return err
	}
	m, err := h.snapshotModel(c, s)
	if err != nil {
		return err
	}
	m.Plan, m.Applied = planRows(plan), true
	return h.renderSnapshot(c, http.StatusOK, m)
}

// restoreState restores Berth's own records from a snapshot and audits each change.
func (h *Handlers) restoreState(c echo.Context, id string) ([]backup.PlanItem, error) {
	src, err := h.source(c)
	if err != nil {
		return nil, err
	}
	plan, err := src.RestoreState(c.Request().Context(), id, true)
	if err != nil {
		h.audit(c, "backup.restore-state", "backup:"+id, "failed: "+err.Error(), h.whereText(c))
		return nil, err
	}
	for _, p := range plan {
		if p.Done != "" {
			outcome := "ok"
			if strings.HasPrefix(p.Done, "failed") {
				outcome = p.Done
			}
			h.audit(c, "backup.restore-state", p.Kind+":"+p.Name, outcome, p.Done+", from snapshot "+id+h.whereText(c))
		}
	}
	return plan, nil
}

// RestoreState restores Berth's own records from the snapshot's page.
func (h *Handlers) RestoreState(c echo.Context) error {
	s, err := h.snapshot(c, c.Param("id"))
	if err != nil {
		return err
	}
	if ok, err := h.askFirst(c, "Add the missing members and settings and import the audit log from this snapshot?", snapshotURL(s.ID, c)); !ok {
		return err
	}
	plan, err := h.restoreState(c, s.ID)
	var reqErr *backup.RequestError
	if errors.As(err, &reqErr) {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, reqErr.Msg)
	}
	if err != nil {
		return err
	}
	m, err := h.snapshotModel(c, s)
	if err != nil {
		return err
	}
	m.StatePlan, m.StateDone = planRows(plan), true
	return h.renderSnapshot(c, http.StatusOK, m)
}
