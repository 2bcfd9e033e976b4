package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/backup/offsite"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// offsiteCopies names the bucket on the model and returns each snapshot's copy state in words.
func (h *Handlers) offsiteCopies(c echo.Context, m *views.BackupsModel) (func(id string) (string, bool), error) {
	none := func(string) (string, bool) { return "", false }
	if h.cfg.Offsite == nil {
		return none, nil
	}
	ctx := c.Request().Context()
	s, err := h.cfg.Offsite.Settings(ctx)
	if errors.Is(err, backup.ErrNoTarget) {
		return none, nil
	}
	if err != nil {
		return none, err
	}
	m.Offsite = s.Describe()
	copies, progress, err := h.cfg.Offsite.Copies(ctx)
	if err != nil {
		return none, err
	}
	return func(id string) (string, bool) { return copyWords(copies[id], progress[id]) }, nil
}

// copyWords says a copy's state as a user reads it.
func copyWords(c store.OffsiteCopy, p backup.CopyProgress) (string, bool) {
	switch c.State {
	case "":
		return "not queued", false
	case "pending":
		return "waiting to copy", false
	case "copying":
		if p.Total > 0 {
			return fmt.Sprintf("copying: %s of %s", views.Bytes(p.Done), views.Bytes(p.Total)), false
		}
		return "copying", false
	case "copied":
		return "copied " + views.FormatTime(c.CopiedAt), false
	}
	return fmt.Sprintf("failed (try %d): %s; next try %s", c.Attempts, c.Error, views.FormatTime(c.NextAt)), true
}

// drillRows adds the restore drills and their schedule to the model.
func (h *Handlers) drillRows(c echo.Context, m *views.BackupsModel) error {
	ctx := c.Request().Context()
	every := backup.DrillEvery(ctx, h.store)
	m.DrillPlan = "off"
	if every > 0 {
		source, _ := h.store.Setting(ctx, store.SettingDrillSource, "local")
		m.DrillPlan = map[bool]string{true: "every day", false: "every week"}[every == 24*time.Hour] + ", on the " + map[bool]string{true: "bucket's copy", false: "local snapshot"}[source == "offsite"]
	}
	drills, err := h.store.RestoreDrills(ctx, 20)
	if err != nil {
		return err
	}
	for _, d := range drills {
		r := views.DrillRow{ID: d.ID, Time: views.FormatTime(d.Started), Snapshot: d.Snapshot, Source: d.Source, Status: d.Status,
			Volumes: d.Volumes, Files: d.Files, Bytes: d.Bytes, Detail: d.Detail}
		if !d.Finished.IsZero() {
			r.Took = d.Finished.Sub(d.Started).Round(100 * time.Millisecond).String()
		}
		m.Drills = append(m.Drills, r)
	}
	return nil
}

// offsiteModel builds the off-site page: the saved settings, the keys and the bucket's copies.
func (h *Handlers) offsiteModel(c echo.Context) (views.OffsiteModel, error) {
	var m views.OffsiteModel
	if h.cfg.Offsite == nil {
		return m, echo.NewHTTPError(http.StatusNotFound, "Off-site copies are not available in this Berth.")
	}
	ctx := c.Request().Context()
	s, err := h.cfg.Offsite.Settings(ctx)
	switch {
	case errors.Is(err, backup.ErrNoTarget):
		m.Form.PathStyle, m.Form.KeepDays = true, "0"
	case err != nil:
		return m, err
	default:
		m.Configured, m.Where = true, s.Describe()
		m.Form = views.OffsiteForm{Endpoint: s.Endpoint, Region: s.Region, Bucket: s.Bucket, Prefix: s.Prefix, AccessKey: s.AccessKey,
			CAPEM: s.CAPEM, PathStyle: s.PathStyle, KeepDays: strconv.Itoa(s.KeepDays), SecretSet: true}
	}
	if m.KeyIDs, err = h.cfg.Offsite.KeyIDs(ctx); err != nil {
		return m, err
	}
	if m.Configured {
		h.listCopies(c, &m)
	}
	m.Drill.Schedule, _ = h.store.Setting(ctx, store.SettingDrillSchedule, "off")
	m.Drill.Source, _ = h.store.Setting(ctx, store.SettingDrillSource, "local")
	return m, nil
}

// listCopies reads the bucket's complete copies onto the page (a failure is shown, not fatal).
func (h *Handlers) listCopies(c echo.Context, m *views.OffsiteModel) {
	ctx := c.Request().Context()
	remote, err := h.cfg.Offsite.Remote(ctx)
	if err != nil {
		m.ListError = "The bucket cannot be read: " + err.Error()
		return
	}
	snaps, err := remote.Snapshots(ctx)
	if err != nil {
		m.ListError = "The bucket cannot be read: " + err.Error()
		return
	}
	local := map[string]bool{}
	if here, err := h.backups.Snapshots(ctx); err == nil {
		for _, s := range here {
			local[s.ID] = true
		}
	}
	for _, s := range snaps {
		r := views.BucketCopyRow{ID: s.ID, Time: views.FormatTime(s.Started), Size: views.Bytes(s.TotalSize()), Local: "no: only in the bucket"}
		if s.Problem != "" {
			r.Size = s.Problem
		}
		if local[s.ID] {
			r.Local = "yes"
		}
		m.Copies = append(m.Copies, r)
	}
}

func (h *Handlers) renderOffsite(c echo.Context, status int, m views.OffsiteModel) error {
	p := h.page(c, "Off-site copies", "backups")
	return h.render(c, status, p, views.OffsitePage(p, m))
}

// OffsitePage shows the bucket's settings, the backup keys and the copies.
func (h *Handlers) OffsitePage(c echo.Context) error {
	m, err := h.offsiteModel(c)
	if err != nil {
		return err
	}
	m.Notice = h.popNotice(c)
	return h.renderOffsite(c, http.StatusOK, m)
}

// offsiteForm is the settings form as posted.
func offsiteForm(c echo.Context) (offsite.Settings, error) {
	s := offsite.Settings{Endpoint: c.FormValue("endpoint"), Region: c.FormValue("region"), Bucket: c.FormValue("bucket"), Prefix: c.FormValue("prefix"),
		AccessKey: c.FormValue("access_key"), SecretKey: c.FormValue("secret_key"), PathStyle: c.FormValue("path_style") == "true", CAPEM: c.FormValue("ca_pem")}
	days := c.FormValue("keep_days")
	if days == "" {
		days = "0"
	}
	n, err := strconv.Atoi(days)
	if err != nil {
		return s, &offsite.FieldError{Field: "keep_days", Msg: "Enter a whole number of days."}
	}
	s.KeepDays = n
	return s, nil
}

// SaveOffsite checks the bucket by writing a test object, then saves the settings; a
// first save makes the backup key, shown on the answer once.
func (h *Handlers) SaveOffsite(c echo.Context) error {
	s, err := offsiteForm(c)
	var key *offsite.Key
	if err == nil {
		key, err = h.offsiteConfigure(c, s)
	}
	var fe *offsite.FieldError
	if errors.As(err, &fe) || err != nil {
		m, merr := h.offsiteModel(c)
		if merr != nil {
			return merr
		}
		m.Form = views.OffsiteForm{Endpoint: s.Endpoint, Region: s.Region, Bucket: s.Bucket, Prefix: s.Prefix, AccessKey: s.AccessKey,
			CAPEM: s.CAPEM, PathStyle: s.PathStyle, KeepDays: c.FormValue("keep_days"), SecretSet: m.Form.SecretSet, Errors: views.FieldErrors{"form": err.Error()}}
		if fe != nil {
			m.Form.Errors = views.FieldErrors{fe.Field: fe.Msg}
		}
		return h.renderOffsite(c, http.StatusUnprocessableEntity, m)
	}
	if key == nil {
		return h.redirectNotice(c, "/backups/offsite", "Saved: Berth wrote, read and removed a test object there. Snapshots are copied as they complete.")
	}
	m, err := h.offsiteModel(c)
	if err != nil {
		return err
	}
	m.Notice = "Saved: Berth wrote, read and removed a test object there. Snapshots are copied as they complete."
	m.ShownKey, m.ShownKeyID = key.Text(), key.ID()
	return h.renderOffsite(c, http.StatusOK, m)
}

// RemoveOffsite stops copying to the bucket.
func (h *Handlers) RemoveOffsite(c echo.Context) error {
	if ok, err := h.askFirst(c, "Stop copying to this bucket? The copies already there stay.", "/backups/offsite"); !ok {
		return err
	}
	if err := h.offsiteForget(c); err != nil {
		return err
	}
	return h.redirectNotice(c, "/backups/offsite", "Snapshots are no longer copied off-site; the copies in the bucket stay there.")
}

// RotateBackupKey makes a new backup key and shows it once.
func (h *Handlers) RotateBackupKey(c echo.Context) error {
	if ok, err := h.askFirst(c, "Make a new backup key for new copies? You will need to write it down.", "/backups/offsite"); !ok {
		return err
	}
	k, err := h.offsiteRotate(c)
	if err != nil {
		return err
	}
	m, err := h.offsiteModel(c)
	if err != nil {
		return err
	}
	m.Notice, m.ShownKey, m.ShownKeyID = "New copies are sealed with the new key; older ones keep opening with theirs.", k.Text(), k.ID()
	return h.renderOffsite(c, http.StatusOK, m)
}

// ImportBackupKey adds a backup key an admin kept.
func (h *Handlers) ImportBackupKey(c echo.Context) error {
	k, err := h.offsiteImport(c, c.FormValue("key"))
	if err != nil {
		m, merr := h.offsiteModel(c)
		if merr != nil {
			return merr
		}
		m.KeyError = err.Error()
		return h.renderOffsite(c, http.StatusUnprocessableEntity, m)
	}
	return h.redirectNotice(c, "/backups/offsite", "Backup key "+k.ID()+" added: the copies it sealed open now.")
}

// RunDrill starts a restore drill from the backups page.
func (h *Handlers) RunDrill(c echo.Context) error {
	d, err := h.startDrill(c, c.FormValue("source"))
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return err
	case err != nil:
		return h.redirectNotice(c, "/backups", "The drill did not start: "+err.Error())
	}
	return h.redirectNotice(c, "/backups", "Restore drill of "+d.Snapshot+" started; its result shows below.")
}

// SaveDrillSchedule sets the restore drills' schedule from the off-site page.
func (h *Handlers) SaveDrillSchedule(c echo.Context) error {
	err := h.setDrillSchedule(c, c.FormValue("schedule"), c.FormValue("source"))
	var reqErr *backup.RequestError
	if errors.As(err, &reqErr) {
		m, merr := h.offsiteModel(c)
		if merr != nil {
			return merr
		}
		m.Drill = views.DrillScheduleForm{Schedule: c.FormValue("schedule"), Source: c.FormValue("source"), Errors: views.FieldErrors{reqErr.Field: reqErr.Msg}}
		return h.renderOffsite(c, http.StatusUnprocessableEntity, m)
	}
	if err != nil {
		return err
	}
	return h.redirectNotice(c, "/backups/offsite", "Restore drill schedule saved.")
}
