package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// lastImageCheck is the service's last check of the tag it follows now, with the digest it
// is pinned to now taken as what it runs (so a pin made since reads at once).
func (h *Handlers) lastImageCheck(ctx context.Context, s swarm.Service) (store.ImageCheck, bool) {
	ic, ok := h.imageCheckOf(ctx, s.ID)
	if !ok || ic.Tagged != s.Spec.TaggedImage() {
		return store.ImageCheck{}, false
	}
	if s.Spec.Digest != "" {
		ic.Running = []string{s.Spec.Digest}
	}
	return ic, true
}

// imageCheckView is the service page's account of the last image check.
func (h *Handlers) imageCheckView(ctx context.Context, s swarm.Service) views.ImageCheckView {
	v := views.ImageCheckView{Tagged: s.Spec.TaggedImage()}
	ic, ok := h.lastImageCheck(ctx, s)
	if !ok {
		return v
	}
	v.Checked, v.Error, v.Running = views.FormatTime(ic.CheckedAt), ic.Error, ic.Running
	if ic.UpdateAvailable() {
		v.Available, v.Digest, v.SeenAt = true, ic.Latest, views.FormatTime(ic.LatestSeenAt)
	}
	return v
}

// withImageUpdate adds the newer image a service's tag points at, when the last check found one.
func (h *Handlers) withImageUpdate(ctx context.Context, a *APIService, s swarm.Service) {
	if ic, ok := h.lastImageCheck(ctx, s); ok && ic.UpdateAvailable() {
		a.UpdateAvailable = &APIImageUpdate{Digest: ic.Latest, PushedAt: ic.LatestSeenAt.UTC().Format(time.RFC3339)}
	}
}

// CheckServiceImage checks the service's tag now, from its page.
func (h *Handlers) CheckServiceImage(c echo.Context) error {
	name := c.Param("name")
	ic, err := h.checkImageNow(c, name)
	if err != nil {
		return h.actionResult(c, name, "", err)
	}
	notice := "The image is up to date."
	switch {
	case ic.Error != "":
		notice = "The check failed: " + ic.Error
	case ic.UpdateAvailable():
		notice = "An update is available: " + ic.Latest + "."
	}
	return h.redirectNotice(c, "/services/"+name+"#image-update", notice)
}

// UpdateServiceImage redeploys the service to the digest its tag now points at, from its page.
func (h *Handlers) UpdateServiceImage(c echo.Context) error {
	name := c.Param("name")
	if ok, err := h.askFirst(c, "Redeploy "+name+" to the newer image its tag points at?", "/services/"+name); !ok {
		return err
	}
	_, err := h.updateImage(c, name)
	return h.actionResult(c, name, "Updating "+name+" to the newer image.", err)
}

// apiImageCheck is a check as the API answers it.
func apiImageCheck(ic store.ImageCheck) map[string]any {
	out := map[string]any{"service": ic.Service, "tagged": ic.Tagged, "running": nonNil(ic.Running), "latest": ic.Latest,
		"update_available": ic.UpdateAvailable(), "checked_at": ic.CheckedAt.UTC().Format(time.RFC3339)}
	if !ic.LatestSeenAt.IsZero() {
		out["pushed_at"] = ic.LatestSeenAt.UTC().Format(time.RFC3339)
	}
	if ic.Error != "" {
		out["error"] = ic.Error
	}
	return out
}

// APICheckServiceImage checks the service's tag now and answers what was found.
func (h *Handlers) APICheckServiceImage(c echo.Context) error {
	ic, err := h.checkImageNow(c, c.Param("name"))
	if fields, ok := swarm.IsSpecError(err); ok {
		return fieldErrors(c, fields)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiImageCheck(ic))
}

// APIUpdateServiceImage redeploys the service to the digest its tag points at (202: the rollout has begun).
func (h *Handlers) APIUpdateServiceImage(c echo.Context) error {
	svc, err := h.updateImage(c, c.Param("name"))
	if fields, ok := swarm.IsSpecError(err); ok {
		return fieldErrors(c, fields)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, apiService(svc, false))
}
