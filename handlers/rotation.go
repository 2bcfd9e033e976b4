package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// rotationTimeout bounds how long a rotation waits for the services' rollouts.
const rotationTimeout = 10 * time.Minute

// VersionPage shows the "new version" form of a config (prefilled) or secret (empty).
func (h *Handlers) VersionPage(c echo.Context) error {
	kind := kindOf(c)
	o, err := h.engine.Object(c.Request().Context(), kind, c.Param("name"))
	if err != nil {
		return err
	}
	if err := h.engine.CheckObject(c.Request().Context(), kind, o.Name); err != nil {
		return err // Berth's own secrets get new versions from their own pages
	}
	v := views.VersionForm{Kind: string(kind), Name: o.Name, NewName: swarm.NextVersionName(o.Name), UsedBy: usageRows(o.UsedBy)}
	if kind == swarm.KindConfig {
		v.Content = string(o.Data)
	}
	p := h.page(c, "New version of "+o.Name, string(kind)+"s")
	return h.render(c, http.StatusOK, p, views.VersionPage(p, v))
}

// StartRotation creates the new version and rolls it out in the background; its page follows the rollout.
func (h *Handlers) StartRotation(c echo.Context) error {
	kind := kindOf(c)
	name := c.Param("name")
	o, err := h.engine.Object(c.Request().Context(), kind, name)
	if err != nil {
		return err
	}
	if err := h.guardObject(c, string(kind)+".rotate", kind, name); err != nil {
		return err
	}
	data, msg := readContent(c, kind)
	if msg != "" {
		v := views.VersionForm{Kind: string(kind), Name: name, NewName: swarm.NextVersionName(name), UsedBy: usageRows(o.UsedBy), Errors: views.FieldErrors{"content": msg}}
		if kind == swarm.KindConfig {
			v.Content = string(data)
		}
		p := h.page(c, "New version of "+name, string(kind)+"s")
		return h.render(c, http.StatusUnprocessableEntity, p, views.VersionPage(p, v))
	}
	j := h.startRotation(c, kind, name, data)
	return c.Redirect(http.StatusSeeOther, "/jobs/"+j.snapshot().ID)
}

// startRotation runs a rotation as a job that outlives the request, audited when it ends.
func (h *Handlers) startRotation(c echo.Context, kind swarm.Kind, name string, data []byte) *job {
	u := currentUser(c)
	j := h.jobs.start(u.ID, fmt.Sprintf("New version of %s %s", kind, name))
	rec := h.auditLater(c, string(kind)+".rotate", string(kind)+":"+name)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), rotationTimeout)
		defer cancel()
		escrowed := ""
		progress := func(r swarm.Rotation) {
			// A new secret version gets its sealed copy as soon as it exists, before any service uses it.
			if kind == swarm.KindSecret && r.NewID != "" && escrowed == "" {
				if err := h.store.EscrowSecret(ctx, r.NewID, r.New, data, u.Username); err != nil {
					h.log.Error("escrow of new secret version failed", "secret", r.New, "error", err)
				} else {
					escrowed = r.NewID
				}
			}
			r.Done = false // the job ends below, once its audit record is written
			j.update(r, func(v *views.JobView) { applyRotation(v, r) })
		}
		r, err := h.engine.Rotate(ctx, kind, name, data, progress)
		if escrowed != "" && err != nil {
			if _, gone := h.engine.Object(ctx, kind, r.New); errors.Is(gone, swarm.ErrNotFound) {
				_ = h.store.DropEscrow(ctx, escrowed) // the failed rotation deleted the new version again
			}
		}
		rec.Detail = fmt.Sprintf("new version %s, %d services", r.New, len(r.Steps))
		rec.Outcome = "ok"
		if err != nil {
			rec.Outcome = "failed: " + err.Error()
		}
		h.writeAudit(ctx, rec)
		j.update(r, func(v *views.JobView) { applyRotation(v, r) })
	}()
	return j
}

// applyRotation copies a rotation's progress into its job page.
func applyRotation(v *views.JobView, r swarm.Rotation) {
	v.Steps = v.Steps[:0]
	for _, s := range r.Steps {
		v.Steps = append(v.Steps, views.JobStep{Name: s.Service, State: s.State, Message: s.Message})
	}
	if !r.Done {
		return
	}
	v.Done, v.Failed = true, r.Err != ""
	if v.Failed {
		v.Message = r.Err
		return
	}
	v.Message = fmt.Sprintf("Every service that used %s now uses %s.", r.Old, r.New)
	if len(r.Steps) == 0 {
		v.Message = fmt.Sprintf("Created %s; no service used %s.", r.New, r.Old)
	}
	v.CleanupAction = "/" + string(r.Kind) + "s/" + r.Old + "/delete"
	v.CleanupLabel = "Delete the old version " + r.Old
}
