package handlers

import (
	"errors"

	"context"
	"github.com/berthhq/berth/swarm"

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
	// The record is written even when the client has gone (a cut-off upload, a closed terminal tab).
	h.writeAudit(context.WithoutCancel(c.Request().Context()), store.AuditRecord{
		Actor: actor, Role: role, Source: c.RealIP(), Via: via,
		Action: action, Object: object, Outcome: outcome, Detail: detail,
	})
}

// auditLater captures who is acting now, for a record written when background work ends.
func (h *Handlers) auditLater(c echo.Context, action, object string) store.AuditRecord {
	via, _ := c.Get(ctxVia).(string)
	r := store.AuditRecord{Actor: "anonymous", Source: c.RealIP(), Via: via, Action: action, Object: object}
	if u := currentUser(c); u != nil {
		r.Actor, r.Role = u.Username, string(u.Role)
	}
	return r
}

// writeAudit appends a record; the change already happened, so losing its record must at least be loud.
func (h *Handlers) writeAudit(ctx context.Context, r store.AuditRecord) {
	if err := h.store.Audit(ctx, r); err != nil {
		h.log.Error("audit record lost", "action", r.Action, "object", r.Object, "error", err)
	}
}

// refusal is the audit outcome of a change: ok, or, when it did not happen, denied when a
// rule forbade it (an object in use), failed when something broke.
func refusal(err error) string {
	if err == nil {
		return "ok"
	}
	var inUse *swarm.InUseError
	if errors.As(err, &inUse) {
		return "denied: " + err.Error()
	}
	return "failed: " + err.Error()
}
