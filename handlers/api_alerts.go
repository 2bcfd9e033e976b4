package handlers

import (
	"errors"
	"net/http"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// apiAlert is an alert as the API shows it.
func apiAlert(a store.Alert, r views.AlertRow) map[string]any {
	out := map[string]any{"id": a.ID, "kind": a.Kind, "object": a.Object, "title": a.Title, "detail": a.Detail, "state": a.State(),
		"opened_at": apiTime(a.OpenedAt), "resolved_at": nil, "acknowledged_by": a.AckedBy, "deliveries": r.Deliveries}
	if !a.ResolvedAt.IsZero() {
		out["resolved_at"] = apiTime(a.ResolvedAt)
	}
	return out
}

// APIAlerts lists open and recent alerts (?state=open|resolved, ?kind=).
func (h *Handlers) APIAlerts(c echo.Context) error {
	list, rows, err := h.alertRows(c, alertFilter(c))
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for i, a := range list {
		out = append(out, apiAlert(a, rows[i]))
	}
	return c.JSON(http.StatusOK, out)
}

// APIAckAlert acknowledges an open alert.
func (h *Handlers) APIAckAlert(c echo.Context) error {
	id, err := alertID(c)
	if err != nil {
		return err
	}
	a, err := h.ackAlert(c, id)
	if errors.Is(err, store.ErrConflict) {
		return echo.NewHTTPError(http.StatusConflict, "The alert is "+a.State()+": only an open alert can be acknowledged.")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiAlert(a, views.AlertRow{}))
}

// APIChannels lists the channels, without their passwords or secrets.
func (h *Handlers) APIChannels(c echo.Context) error {
	rows, err := h.channelRows(c)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, map[string]any{"id": r.ID, "kind": r.Kind, "name": r.Name, "sends_to": r.Where})
	}
	return c.JSON(http.StatusOK, out)
}

// APICreateChannel adds a channel (201, or 422 with fields).
func (h *Handlers) APICreateChannel(c echo.Context) error {
	var req channelRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ch, errs, err := h.createChannel(c, req)
	if err != nil {
		return err
	}
	if errs.Any() {
		return fieldErrors(c, errs)
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": ch.ID, "kind": ch.Kind, "name": ch.Name, "sends_to": channelWhere(ch)})
}

// APIDeleteChannel removes a channel.
func (h *Handlers) APIDeleteChannel(c echo.Context) error {
	id, err := alertID(c)
	if err != nil {
		return err
	}
	if err := h.deleteChannel(c, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// APITestChannel sends a test message: 200 with the server's answer, or 422 with its refusal.
func (h *Handlers) APITestChannel(c echo.Context) error {
	id, err := alertID(c)
	if err != nil {
		return err
	}
	answer, err := h.testChannel(c, id)
	if errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil {
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"ok": false, "error": err.Error(), "answer": answer})
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "answer": answer})
}
