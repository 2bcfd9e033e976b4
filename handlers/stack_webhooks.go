package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/berthhq/berth/swarm"
	"github.com/labstack/echo/v4"
)

// stackHookPrefix marks a webhook that redeploys a whole stack (its id is "stack:<name>").
const stackHookPrefix = "stack:"

// APIStackWebhook creates or regenerates a stack's webhook and returns its URL, once.
func (h *Handlers) APIStackWebhook(c echo.Context) error {
	name := c.Param("name")
	if err := h.guardStack(c, "webhook.create", name); err != nil {
		return err
	}
	st, err := h.engine.Stack(c.Request().Context(), name)
	if err != nil {
		return err
	}
	for _, s := range st.Services {
		if err := h.guardService(c, "webhook.create", s.Spec.Name); err != nil {
			return err
		}
	}
	token, err := h.store.SetWebhook(c.Request().Context(), stackHookPrefix+name, name, currentUser(c).ID)
	if err != nil {
		return err
	}
	h.audit(c, "webhook.create", "stack:"+name, "ok", "any earlier URL stops working")
	return c.JSON(http.StatusCreated, map[string]string{"stack": name, "url": h.webhookURL(c, token),
		"note": "Shown once. POST to it to redeploy every service of the stack with a fresh pull; add ?service=NAME&tag=NEW to switch one service's tag first."})
}

// APIRevokeStackWebhook revokes a stack's webhook.
func (h *Handlers) APIRevokeStackWebhook(c echo.Context) error {
	name := c.Param("name")
	had, err := h.store.DeleteWebhook(c.Request().Context(), stackHookPrefix+name)
	if err != nil {
		return err
	}
	if !had {
		return echo.NewHTTPError(http.StatusNotFound, "The stack has no webhook.")
	}
	h.audit(c, "webhook.revoke", "stack:"+name, "ok", "")
	return c.NoContent(http.StatusNoContent)
}

// redeployStack restarts every service of a stack with a fresh pull, switching the
// tag of the one named first; the boundary speaks for each service before any moves.
func (h *Handlers) redeployStack(c echo.Context, name, service, tag string) ([]string, error) {
	if err := h.guardStack(c, "stack.redeploy", name); err != nil {
		return nil, err
	}
	st, err := h.engine.Stack(c.Request().Context(), name)
	if err != nil {
		return nil, err
	}
	if tag != "" && service == "" {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "Name the service whose tag changes: ?service=NAME&tag=NEW.")
	}
	found := service == ""
	for _, s := range st.Services {
		if err := h.guardService(c, "stack.redeploy", s.Spec.Name); err != nil {
			return nil, err
		}
		found = found || s.Spec.Name == service || s.Spec.Name == name+"_"+service
	}
	if !found {
		return nil, echo.NewHTTPError(http.StatusNotFound, "The stack has no service "+service+".")
	}
	var done []string
	for _, s := range st.Services {
		t := ""
		if s.Spec.Name == service || s.Spec.Name == name+"_"+service {
			t = tag
		}
		if _, err := h.redeploy(c, s.Spec.Name, t); err != nil {
			return done, err
		}
		done = append(done, s.Spec.Name)
	}
	h.audit(c, "stack.redeploy", "stack:"+name, "ok", strings.Join(done, ", "))
	return done, nil
}

// stackHook answers a stack's webhook call.
func (h *Handlers) stackHook(c echo.Context, id, tag string) error {
	name := strings.TrimPrefix(id, stackHookPrefix)
	done, err := h.redeployStack(c, name, c.QueryParam("service"), tag)
	if fields, ok := swarm.IsSpecError(err); ok {
		return fieldErrors(c, fields)
	}
	if err != nil && !errors.Is(err, swarm.ErrNotFound) {
		return err
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "The stack "+name+" runs no services.")
	}
	return c.JSON(http.StatusAccepted, map[string]any{"stack": name, "update": "redeploy started", "services": done})
}
