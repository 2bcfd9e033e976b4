package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/backup/offsite"
	"github.com/labstack/echo/v4"
)

// Offsite is what the pages and API need of the off-site copier (swarm/backup's Offsite).
type Offsite interface {
	Settings(ctx context.Context) (offsite.Settings, error)
	Configure(ctx context.Context, s offsite.Settings, by string) (*offsite.Key, error)
	Forget(ctx context.Context) error
	RotateKey(ctx context.Context, by string) (offsite.Key, error)
	ImportKey(ctx context.Context, text, by string) (offsite.Key, error)
	KeyIDs(ctx context.Context) ([]string, error)
	Copies(ctx context.Context) (map[string]store.OffsiteCopy, map[string]backup.CopyProgress, error)
	Remote(ctx context.Context) (*backup.Runner, error)
}

// Drills is what the pages and API need of the restore drills.
type Drills interface {
	Start(ctx context.Context, source string, who store.AuditRecord) (store.RestoreDrill, error)
	SetSchedule(ctx context.Context, schedule, source string) error
}

// whereOffsite says whether the request is about the bucket's copy (?where=offsite).
func whereOffsite(c echo.Context) bool {
	return c.QueryParam("where") == "offsite" || c.FormValue("where") == "offsite"
}

// source is the snapshots a request acts on: the local ones, or the bucket's copies.
func (h *Handlers) source(c echo.Context) (Backups, error) {
	if !whereOffsite(c) {
		return h.backups, nil
	}
	return h.bucketSource(c)
}

// bucketSource is the bucket's copies as snapshots.
func (h *Handlers) bucketSource(c echo.Context) (Backups, error) {
	if h.cfg.Offsite == nil {
		return nil, echo.NewHTTPError(http.StatusNotFound, "Off-site copies are not available in this Berth.")
	}
	r, err := h.cfg.Offsite.Remote(c.Request().Context())
	if errors.Is(err, backup.ErrNoTarget) {
		return nil, echo.NewHTTPError(http.StatusNotFound, "No off-site bucket is set: an admin sets one under Backups, Off-site.")
	}
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusBadGateway, "The bucket cannot be read: "+err.Error())
	}
	return r, nil
}

// offsiteConfigure checks and saves the bucket's settings; it returns the new backup
// key when Berth made one (shown once), and audits the change either way.
func (h *Handlers) offsiteConfigure(c echo.Context, s offsite.Settings) (*offsite.Key, error) {
	if h.cfg.Offsite == nil {
		return nil, echo.NewHTTPError(http.StatusNotFound, "Off-site copies are not available in this Berth.")
	}
	if err := s.Validate(); err != nil && !(s.SecretKey == "" && isFieldErr(err, "secret_key")) {
		h.audit(c, "backup.offsite.set", "offsite", "denied: "+err.Error(), s.Describe())
		return nil, err
	}
	key, err := h.cfg.Offsite.Configure(c.Request().Context(), s, currentUser(c).Username)
	if err != nil {
		h.audit(c, "backup.offsite.set", "offsite", "failed: "+err.Error(), s.Describe())
		return nil, err
	}
	detail := s.Describe()
	if key != nil {
		detail += "; a backup key was made: " + key.ID()
	}
	h.audit(c, "backup.offsite.set", "offsite", "ok", detail)
	return key, nil
}

func isFieldErr(err error, field string) bool {
	var fe *offsite.FieldError
	return errors.As(err, &fe) && fe.Field == field
}

// offsiteRotate makes a new backup key for new copies.
func (h *Handlers) offsiteRotate(c echo.Context) (offsite.Key, error) {
	k, err := h.cfg.Offsite.RotateKey(c.Request().Context(), currentUser(c).Username)
	h.audit(c, "backup.key.rotate", "backup-key:"+k.ID(), outcomeOf(err), "new copies are sealed with it; older ones keep their key")
	return k, err
}

// offsiteImport adds a backup key an admin kept.
func (h *Handlers) offsiteImport(c echo.Context, text string) (offsite.Key, error) {
	k, err := h.cfg.Offsite.ImportKey(c.Request().Context(), text, currentUser(c).Username)
	object := "backup-key"
	if err == nil {
		object += ":" + k.ID()
	}
	h.audit(c, "backup.key.import", object, outcomeOf(err), "")
	return k, err
}

// offsiteForget removes the bucket's settings (its copies stay in the bucket).
func (h *Handlers) offsiteForget(c echo.Context) error {
	err := h.cfg.Offsite.Forget(c.Request().Context())
	h.audit(c, "backup.offsite.remove", "offsite", outcomeOf(err), "copies already in the bucket stay there")
	return err
}

// startDrill begins a restore drill of the newest snapshot of source.
func (h *Handlers) startDrill(c echo.Context, source string) (store.RestoreDrill, error) {
	if h.cfg.Drills == nil {
		return store.RestoreDrill{}, echo.NewHTTPError(http.StatusNotFound, "Restore drills are not available in this Berth.")
	}
	if source != "offsite" {
		source = "local"
	}
	d, err := h.cfg.Drills.Start(c.Request().Context(), source, h.auditLater(c, "backup.drill", "backups"))
	if err != nil {
		h.audit(c, "backup.drill", "backups", refusal(err), source)
	}
	return d, err
}

// setDrillSchedule saves when restore drills run on their own and on which copy, audited.
func (h *Handlers) setDrillSchedule(c echo.Context, schedule, source string) error {
	if h.cfg.Drills == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Restore drills are not available in this Berth.")
	}
	err := h.cfg.Drills.SetSchedule(c.Request().Context(), schedule, source)
	h.audit(c, "backup.drill.schedule", "restore-drills", outcomeOf(err), schedule+", on the "+source+" copy")
	return err
}
