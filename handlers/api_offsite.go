package handlers

import (
	"errors"
	"net/http"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/backup/offsite"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// apiCopy is a snapshot's off-site copy as the API shows it.
type apiCopy struct {
	Snapshot   string `json:"snapshot,omitempty"`
	State      string `json:"state"`
	Attempts   int    `json:"attempts,omitempty"`
	CopiedAt   string `json:"copied_at,omitempty"`
	NextTry    string `json:"next_try,omitempty"`
	Error      string `json:"error,omitempty"`
	Bytes      int64  `json:"bytes,omitempty"`
	DoneBytes  int64  `json:"done_bytes,omitempty"`
	TotalBytes int64  `json:"total_bytes,omitempty"`
}

func copyJSON(c store.OffsiteCopy, p backup.CopyProgress) *apiCopy {
	a := &apiCopy{Snapshot: c.Snapshot, State: c.State, Attempts: c.Attempts, Error: c.Error, Bytes: c.Bytes, DoneBytes: p.Done, TotalBytes: p.Total}
	if !c.CopiedAt.IsZero() {
		a.CopiedAt = apiTime(c.CopiedAt)
	}
	if c.State == "failed" {
		a.NextTry = apiTime(c.NextAt)
	}
	return a
}

// offsiteJSON is the bucket's settings (never the secret key), the keys and the copies' states.
func (h *Handlers) offsiteJSON(c echo.Context) (map[string]any, error) {
	if h.cfg.Offsite == nil {
		return nil, echo.NewHTTPError(http.StatusNotFound, "Off-site copies are not available in this Berth.")
	}
	ctx := c.Request().Context()
	out := map[string]any{"configured": false}
	s, err := h.cfg.Offsite.Settings(ctx)
	if err != nil && !errors.Is(err, backup.ErrNoTarget) {
		return nil, err
	}
	if err == nil {
		s.SecretKey = ""
		out["configured"], out["settings"] = true, s
	}
	if out["backup_keys"], err = h.cfg.Offsite.KeyIDs(ctx); err != nil {
		return nil, err
	}
	copies, progress, err := h.cfg.Offsite.Copies(ctx)
	if err != nil {
		return nil, err
	}
	list := []*apiCopy{}
	for id, cp := range copies {
		list = append(list, copyJSON(cp, progress[id]))
	}
	out["copies"] = list
	return out, nil
}

// APIOffsite answers the bucket's settings and the state of the copies.
func (h *Handlers) APIOffsite(c echo.Context) error {
	out, err := h.offsiteJSON(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// APISetOffsite checks and saves the bucket's settings (422 with fields when Berth
// cannot write a test object); a first save answers the new backup key, once.
func (h *Handlers) APISetOffsite(c echo.Context) error {
	var s offsite.Settings
	if err := bindJSON(c, &s); err != nil {
		return err
	}
	key, err := h.offsiteConfigure(c, s)
	var fe *offsite.FieldError
	if errors.As(err, &fe) {
		return fieldErrors(c, views.FieldErrors{fe.Field: fe.Msg})
	}
	if err != nil {
		return err
	}
	out, err := h.offsiteJSON(c)
	if err != nil {
		return err
	}
	if key != nil {
		out["backup_key"], out["backup_key_id"] = key.Text(), key.ID()
	}
	return c.JSON(http.StatusOK, out)
}

// APIRemoveOffsite stops copying to the bucket (its copies stay).
func (h *Handlers) APIRemoveOffsite(c echo.Context) error {
	if h.cfg.Offsite == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Off-site copies are not available in this Berth.")
	}
	if err := h.offsiteForget(c); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// APIBackupKeys rotates the backup key ({}), answering the new one once, or adds a kept one ({"import": "berth-backup-key:…"}).
func (h *Handlers) APIBackupKeys(c echo.Context) error {
	if h.cfg.Offsite == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Off-site copies are not available in this Berth.")
	}
	var req struct {
		Import string `json:"import"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Import != "" {
		k, err := h.offsiteImport(c, req.Import)
		var fe *offsite.FieldError
		if errors.As(err, &fe) {
			return fieldErrors(c, views.FieldErrors{"import": fe.Msg})
		}
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"id": k.ID()})
	}
	k, err := h.offsiteRotate(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"id": k.ID(), "backup_key": k.Text()})
}

// APIOffsiteSnapshots lists the bucket's complete copies.
func (h *Handlers) APIOffsiteSnapshots(c echo.Context) error {
	src, err := h.bucketSource(c)
	if err != nil {
		return err
	}
	snaps, err := src.Snapshots(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]apiSnapshot, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, snapshotJSON(s))
	}
	return c.JSON(http.StatusOK, out)
}

// apiDrill is a restore drill as the API and the evidence export show it.
type apiDrill struct {
	ID       int64  `json:"id"`
	Snapshot string `json:"snapshot"`
	Source   string `json:"source"`
	Trigger  string `json:"trigger"`
	Started  string `json:"started"`
	Finished string `json:"finished,omitempty"`
	Status   string `json:"status"`
	Volumes  int    `json:"volumes"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
	Detail   string `json:"first_difference,omitempty"`
}

func drillJSON(d store.RestoreDrill) apiDrill {
	a := apiDrill{ID: d.ID, Snapshot: d.Snapshot, Source: d.Source, Trigger: d.Trigger, Started: apiTime(d.Started), Status: d.Status,
		Volumes: d.Volumes, Files: d.Files, Bytes: d.Bytes, Detail: d.Detail}
	if !d.Finished.IsZero() {
		a.Finished = apiTime(d.Finished)
	}
	return a
}

// allDrills lists the drills, newest first.
func (h *Handlers) allDrills(c echo.Context) ([]apiDrill, error) {
	drills, err := h.store.RestoreDrills(c.Request().Context(), 1000)
	out := make([]apiDrill, 0, len(drills))
	for _, d := range drills {
		out = append(out, drillJSON(d))
	}
	return out, err
}

// APIDrills lists the restore drills.
func (h *Handlers) APIDrills(c echo.Context) error {
	out, err := h.allDrills(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// APIRunDrill starts a restore drill ({"source": "local"|"offsite"}) and answers it (202: it runs in the background).
func (h *Handlers) APIRunDrill(c echo.Context) error {
	var req struct {
		Source string `json:"source"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	d, err := h.startDrill(c, req.Source)
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return err
	case errors.Is(err, backup.ErrBusy), errors.Is(err, backup.ErrNothingToDrill), errors.Is(err, backup.ErrNoTarget):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	case err != nil:
		return err
	}
	return c.JSON(http.StatusAccepted, drillJSON(d))
}

// APIRestoreState previews (GET) or restores (POST) Berth's own records from a snapshot.
func (h *Handlers) APIRestoreState(c echo.Context) error {
	return h.apiPlan(c, h.restoreState, Backups.RestoreState)
}

// copyStates returns each snapshot's copy state for the API (nil when no bucket is set).
func (h *Handlers) copyStates(c echo.Context) (func(id string) *apiCopy, error) {
	none := func(string) *apiCopy { return nil }
	if h.cfg.Offsite == nil {
		return none, nil
	}
	ctx := c.Request().Context()
	if _, err := h.cfg.Offsite.Settings(ctx); errors.Is(err, backup.ErrNoTarget) {
		return none, nil
	} else if err != nil {
		return none, err
	}
	copies, progress, err := h.cfg.Offsite.Copies(ctx)
	if err != nil {
		return none, err
	}
	return func(id string) *apiCopy {
		cp, ok := copies[id]
		if !ok {
			return &apiCopy{State: "not queued"}
		}
		a := copyJSON(cp, progress[id])
		a.Snapshot = ""
		return a
	}, nil
}

// APISetDrillSchedule sets the restore drills' schedule ({"schedule": "off"|"daily"|"weekly", "source": "local"|"offsite"}).
func (h *Handlers) APISetDrillSchedule(c echo.Context) error {
	var req struct {
		Schedule string `json:"schedule"`
		Source   string `json:"source"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Source == "" {
		req.Source = "local"
	}
	err := h.setDrillSchedule(c, req.Schedule, req.Source)
	var reqErr *backup.RequestError
	if errors.As(err, &reqErr) {
		return fieldErrors(c, views.FieldErrors{reqErr.Field: reqErr.Msg})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, req)
}
