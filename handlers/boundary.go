package handlers

import (
	"context"
	"errors"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/labstack/echo/v4"
)

// Boundary answers the one question asked before every action on an object through
// the generic pages and API: may it be touched at all? Berth's own objects never
// may; a service Berth would refuse to deploy may be changed by an admin only.
type Boundary interface {
	CheckService(ctx context.Context, name string, admin bool) error
	CheckObject(ctx context.Context, kind swarm.Kind, name string) error
	CheckVolume(ctx context.Context, name string) error
	CheckSpec(ctx context.Context, s swarm.ServiceSpec) (map[string]string, error)
	CheckContainer(ctx context.Context, ct swarm.Container) error
	CheckImage(ctx context.Context, ref string) error
}

// canOperate reports whether the signed-in user may change things (operator or admin), for pages that offer the actions.
func canOperate(c echo.Context) bool {
	u := currentUser(c)
	return u != nil && u.Role.Rank() >= store.RoleOperator.Rank()
}

// isAdmin reports whether the signed-in user (or the webhook's owner) is an admin.
func isAdmin(c echo.Context) bool {
	u := currentUser(c)
	return u != nil && u.Role == store.RoleAdmin
}

// denied audits a boundary refusal (who tried what, on which object) and hands the error on.
func (h *Handlers) denied(c echo.Context, action, object string, err error) error {
	if errors.Is(err, swarm.ErrRefused) {
		h.audit(c, action, object, "denied: "+err.Error(), "")
	}
	return err
}

// guardService asks the boundary before an action on a service.
func (h *Handlers) guardService(c echo.Context, action, name string) error {
	return h.denied(c, action, "service:"+name, h.engine.CheckService(c.Request().Context(), name, isAdmin(c)))
}

// guardObject asks the boundary before an action on a secret or config.
func (h *Handlers) guardObject(c echo.Context, action string, kind swarm.Kind, name string) error {
	return h.denied(c, action, string(kind)+":"+name, h.engine.CheckObject(c.Request().Context(), kind, name))
}

// guardVolume asks the boundary before an action on a volume.
func (h *Handlers) guardVolume(c echo.Context, action, name string) error {
	return h.denied(c, action, "volume:"+name, h.engine.CheckVolume(c.Request().Context(), name))
}
