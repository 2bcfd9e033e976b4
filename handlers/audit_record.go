package handlers

import (
	"github.com/berthhq/berth/store"
	"github.com/labstack/echo/v4"
)

// audit writes the audit record for a change made by the signed-in user (or the token's owner).
func (h *Handlers) audit(c echo.Context, action, object, outcome, detail string) {
	actor, role := "anonymous", ""
	if u := currentUser(c); u != nil {
		actor, role = u.Username, string(u.Role)
	}
	h.auditAs(c, actor, role, action, object, outcome, detail)
}

// auditAs writes an audit record naming the actor explicitly (sign-in, setup).
func (h *Handlers) auditAs(c echo.Context, actor, role, action, object, outcome, detail string) {
	via, _ := c.Get(ctxVia).(string)
	if via == "" {
		via = "ui"
	}
	err := h.store.Audit(c.Request().Context(), store.AuditRecord{
		Actor: actor, Role: role, Source: c.RealIP(), Via: via,
		Action: action, Object: object, Outcome: outcome, Detail: detail,
	})
	if err != nil {
		// The change already happened; losing its record must at least be loud.
		h.log.Error("audit record lost", "action", action, "object", object, "error", err)
	}
}
