package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/labstack/echo/v4"
)

// webhookURL is the address a pipeline posts to.
func (h *Handlers) webhookURL(c echo.Context, token string) string {
	base := h.cfg.PublicURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return strings.TrimRight(base, "/") + "/hooks/" + token
}

// APIServiceWebhook creates or regenerates a service's webhook and returns its URL, once.
func (h *Handlers) APIServiceWebhook(c echo.Context) error {
	svc, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	if err := h.guardService(c, "webhook.create", svc.Spec.Name); err != nil {
		return err
	}
	token, err := h.store.SetWebhook(c.Request().Context(), svc.ID, svc.Spec.Name, currentUser(c).ID)
	if err != nil {
		return err
	}
	h.audit(c, "webhook.create", "service:"+svc.Spec.Name, "ok", "any earlier URL stops working")
	return c.JSON(http.StatusCreated, map[string]string{"service": svc.Spec.Name, "url": h.webhookURL(c, token),
		"note": "Shown once. POST to it to redeploy with a fresh pull; add ?tag=NEW to switch the tag first."})
}

// APIRevokeWebhook revokes a service's webhook.
func (h *Handlers) APIRevokeWebhook(c echo.Context) error {
	svc, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	had, err := h.store.DeleteWebhook(c.Request().Context(), svc.ID)
	if err != nil {
		return err
	}
	if !had {
		return echo.NewHTTPError(http.StatusNotFound, "The service has no webhook.")
	}
	h.audit(c, "webhook.revoke", "service:"+svc.Spec.Name, "ok", "")
	return c.NoContent(http.StatusNoContent)
}

// Hook redeploys the webhook's service (POST /hooks/<token>, optional tag in the query, a form or JSON).
func (h *Handlers) Hook(c echo.Context) error {
	c.Set(ctxVia, "webhook")
	token := c.Param("token")
	// Known tokens are limited per token, made-up ones per address: the limiter holds
	// no more keys than there are webhooks and callers.
	w, err := h.store.WebhookByToken(c.Request().Context(), token)
	if errors.Is(err, store.ErrNotFound) {
		if !h.hooks.allow("ip:" + c.RealIP()) {
			return echo.NewHTTPError(http.StatusTooManyRequests, "Too many calls with unknown webhook tokens from this address.")
		}
		return echo.NewHTTPError(http.StatusNotFound, "No such webhook.")
	}
	if err != nil {
		return err
	}
	if !h.hooks.allow("hook:" + w.ServiceID) {
		return echo.NewHTTPError(http.StatusTooManyRequests, "Too many calls of this webhook: at most 10 a minute.")
	}
	owner, err := h.store.User(c.Request().Context(), w.UserID)
	if err != nil {
		return err
	}
	if owner.Disabled || owner.Role.Rank() < store.RoleOperator.Rank() {
		return echo.NewHTTPError(http.StatusForbidden, "The webhook's owner may no longer deploy.")
	}
	c.Set(ctxUser, &owner) // the audit record names the token's owner
	tag := c.QueryParam("tag")
	if tag == "" && strings.HasPrefix(c.Request().Header.Get("Content-Type"), "application/json") && c.Request().ContentLength != 0 {
		var body struct {
			Tag string `json:"tag"`
		}
		if err := bindJSON(c, &body); err != nil {
			return err
		}
		tag = body.Tag
	} else if tag == "" {
		tag = c.FormValue("tag")
	}
	if strings.HasPrefix(w.ServiceID, stackHookPrefix) {
		return h.stackHook(c, w.ServiceID, tag)
	}
	svc, err := h.redeploy(c, w.ServiceID, tag)
	if fields, ok := swarm.IsSpecError(err); ok {
		return fieldErrors(c, fields)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"service": svc.Spec.Name, "update": "redeploy started", "image": svc.Spec.Reference(), "version": svc.Version})
}
