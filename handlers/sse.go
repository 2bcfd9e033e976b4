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
	return h.streamParts(c, fragmentSource{event: event, relevant: relevant, render: render})
}

// fragmentSource is one part of a page pushed as its own event on the page's one stream.
type fragmentSource struct {
	event    string
	relevant func(swarm.Change) bool
	render   func() (templ.Component, error)
}

// streamParts pushes each part again when a change relevant to it arrives: a page with
// several live parts holds one connection (browsers allow six to a host, across tabs).
func (h *Handlers) streamParts(c echo.Context, parts ...fragmentSource) error {
	changes, stop := h.engine.Subscribe()
	defer stop()
	res := startSSE(c)
	ctx := c.Request().Context()
	heartbeat := time.NewTicker(sseHeartbeat)
	defer heartbeat.Stop()
	var pending <-chan time.Time
	due := make([]bool, len(parts))
	for {
		select {
		case <-ctx.Done():
			return nil
		case ch := <-changes:
			for i, p := range parts {
				if ch.Kind == "model" || p.relevant(ch) {
					due[i] = true
					if pending == nil {
						pending = time.After(sseDebounce)
					}
				}
			}
		case <-pending:
			pending = nil
			for i, p := range parts {
				if !due[i] {
					continue
				}
				due[i] = false
				comp, err := p.render()
				if err != nil {
					continue // the engine is away: the banner says so, and the next change retries
				}
				var buf bytes.Buffer
				if err := comp.Render(ctx, &buf); err != nil {
					continue
				}
				if _, err := fmt.Fprintf(res, "event: %s\n%s\n", p.event, sseData(buf.String())); err != nil {
					return nil
				}
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
