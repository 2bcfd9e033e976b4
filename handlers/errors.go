package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// handleError is the one error handler: JSON for the API, a flash fragment for
// htmx swaps, an error page otherwise; 5xx are logged as errors, 4xx as warnings.
func (h *Handlers) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := errorStatus(err)
	if errors.Is(err, store.ErrBusy) {
		c.Response().Header().Set("Retry-After", "2")
	}
	path := c.Request().URL.Path
	if status >= 500 {
		h.log.Error("request failed", "method", c.Request().Method, "path", loggedPath(path), "error", err)
	} else {
		h.log.Warn("request refused", "method", c.Request().Method, "path", loggedPath(path), "status", status, "reason", msg)
	}
	if h.jsonRoutes[c.Request().Method+" "+c.Path()] || strings.HasPrefix(path, "/api/") {
		_ = c.JSON(status, map[string]string{"error": msg})
		return
	}
	if wantsFragment(c) {
		c.Response().Header().Set("HX-Retarget", "#flash")
		c.Response().Header().Set("HX-Reswap", "innerHTML")
		_ = fragment(c, status, views.Flash("error", msg))
		return
	}
	_ = h.render(c, status, h.page(c, "Error", ""), views.ErrorPage(status, msg))
}

// errorStatus is the status and message an error is answered with (the error handler's and the request counter's).
func errorStatus(err error) (int, string) {
	status := http.StatusInternalServerError
	msg := "Something went wrong on Berth's side; the details are in its log."
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(status)
		}
	case errors.Is(err, swarm.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, store.ErrNotFound):
		status, msg = http.StatusNotFound, "That does not exist (any more)."
	case errors.Is(err, swarm.ErrRefused):
		status, msg = http.StatusForbidden, err.Error()
	case errors.Is(err, store.ErrBusy):
		status, msg = http.StatusServiceUnavailable, "Too many sign-ins at once: try again in a moment."
	case errors.Is(err, swarm.ErrUnreachable), errors.Is(err, swarm.ErrAgentMissing):
		status, msg = http.StatusServiceUnavailable, err.Error()
	}
	return status, msg
}
