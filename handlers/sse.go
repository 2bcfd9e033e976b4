package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/berthhq/berth/swarm"
	"github.com/labstack/echo/v4"
)

// LiveModel is the live model's change feed and health, for pushed fragments.
type LiveModel interface {
	Subscribe() (<-chan swarm.Change, func())
	ModelState() (ready bool, syncedAt time.Time, lastError string)
}

// sseDebounce gathers bursts of changes (a rollout moves many tasks) into one push.
const sseDebounce = 150 * time.Millisecond

// sseHeartbeat keeps idle streams open through proxies.
const sseHeartbeat = 15 * time.Second

// streamFragments pushes a re-rendered fragment as the named server-sent event
// whenever a relevant change reaches the live model, until the browser leaves.
func (h *Handlers) streamFragments(c echo.Context, event string, relevant func(swarm.Change) bool, render func() (templ.Component, error)) error {
	changes, stop := h.engine.Subscribe()
	defer stop()
	res := startSSE(c)
	ctx := c.Request().Context()
	heartbeat := time.NewTicker(sseHeartbeat)
	defer heartbeat.Stop()
	var pending <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ch := <-changes:
			if pending == nil && (ch.Kind == "model" || relevant(ch)) {
				pending = time.After(sseDebounce)
			}
		case <-pending:
			pending = nil
			comp, err := render()
			if err != nil {
				continue // the engine is away: the banner says so, and the next change retries
			}
			var buf bytes.Buffer
			if err := comp.Render(ctx, &buf); err != nil {
				continue
			}
			if _, err := fmt.Fprintf(res, "event: %s\n%s\n", event, sseData(buf.String())); err != nil {
				return nil
			}
			res.Flush()
		case <-heartbeat.C:
			if _, err := fmt.Fprint(res, ": keep-alive\n\n"); err != nil {
				return nil
			}
			res.Flush()
		}
	}
}

// startSSE sends the headers of a server-sent events answer.
func startSSE(c echo.Context) *echo.Response {
	res := c.Response()
	res.Header().Set("Content-Type", "text/event-stream")
	res.Header().Set("Cache-Control", "no-cache")
	res.Header().Set("X-Accel-Buffering", "no") // proxies must not hold the stream back
	res.WriteHeader(http.StatusOK)
	res.Flush()
	return res
}

// sseData frames text as the data lines of one event.
func sseData(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String()
}
