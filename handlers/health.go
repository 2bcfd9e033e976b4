package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Health is the /healthz answer.
type Health struct {
	Status   string `json:"status"`   // "ok" when the database answers
	Database string `json:"database"` // "ok" or the error
	Docker   string `json:"docker"`   // "ok" or why the engine is unreachable
}

// Healthz reports whether the database and the Docker engine are reachable;
// it answers 200 either way so the engine's state is visible, not fatal.
func (h *Handlers) Healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	out := Health{Status: "ok", Database: "ok", Docker: "ok"}
	if err := h.store.Ping(ctx); err != nil {
		out.Status, out.Database = "degraded", err.Error()
	}
	if st := h.engine.Cached(); !st.Reachable {
		out.Docker = "unreachable: " + st.Error
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}
