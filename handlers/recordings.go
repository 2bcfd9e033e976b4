package handlers

import (
	"net/http"
	"strconv"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

func recordingRow(r store.Recording) views.RecordingRow {
	return views.RecordingRow{ID: r.ID, Actor: r.Actor, Service: r.Service, Node: r.Node, Container: r.Container,
		Started: views.FormatTime(r.StartedAt), Duration: r.EndedAt.Sub(r.StartedAt).Round(1e9).String(), ExitCode: r.ExitCode, Truncated: r.Truncated}
}

// RecordingsPage lists recorded terminal sessions.
func (h *Handlers) RecordingsPage(c echo.Context) error {
	list, err := h.store.Recordings(c.Request().Context(), 200)
	if err != nil {
		return err
	}
	rows := make([]views.RecordingRow, 0, len(list))
	for _, r := range list {
		rows = append(rows, recordingRow(r))
	}
	p := h.page(c, "Terminal recordings", "settings")
	return h.render(c, http.StatusOK, p, views.RecordingsPage(p, rows))
}

func (h *Handlers) recording(c echo.Context) (store.Recording, []byte, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.Recording{}, nil, echo.NewHTTPError(http.StatusNotFound, "No such recording.")
	}
	return h.store.RecordingCast(c.Request().Context(), id)
}

// ReplayPage plays a recording back.
func (h *Handlers) ReplayPage(c echo.Context) error {
	r, _, err := h.recording(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Security-Policy", terminalPolicy)
	p := h.page(c, "Recording", "settings")
	return h.render(c, http.StatusOK, p, views.ReplayPage(p, recordingRow(r)))
}

// RecordingCast returns a recording in asciicast v2; each viewing is audited.
func (h *Handlers) RecordingCast(c echo.Context) error {
	r, cast, err := h.recording(c)
	if err != nil {
		return err
	}
	h.audit(c, "recording.view", "recording:"+strconv.FormatInt(r.ID, 10), "ok", "session of "+r.Actor+" in "+r.Service)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/x-asciicast", cast)
}
