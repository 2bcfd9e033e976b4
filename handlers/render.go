package handlers

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/a-h/templ"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// htmxRequest is what the htmx request headers say about a request.
type htmxRequest struct {
	Request        bool
	Boosted        bool
	HistoryRestore bool
	Target         string
}

func readHTMX(r *http.Request) htmxRequest {
	return htmxRequest{
		Request:        r.Header.Get("HX-Request") == "true",
		Boosted:        r.Header.Get("HX-Boosted") == "true",
		HistoryRestore: r.Header.Get("HX-History-Restore-Request") == "true",
		Target:         r.Header.Get("HX-Target"),
	}
}

// isHTMX reports whether the request came from htmx at all.
func isHTMX(c echo.Context) bool { return readHTMX(c.Request()).Request }

// wantsFragment reports whether to answer with the bare fragment rather than the whole page.
func wantsFragment(c echo.Context) bool {
	hx := readHTMX(c.Request())
	return hx.Request && !hx.Boosted && !hx.HistoryRestore
}

// render answers with a screen: the fragment alone for htmx swaps, inside the layout otherwise.
func (h *Handlers) render(c echo.Context, status int, p views.Page, content templ.Component) error {
	c.Response().Header().Add("Vary", "HX-Request")
	if wantsFragment(c) {
		return writeComponent(c, status, content)
	}
	return writeComponent(c, status, withChildren(views.Layout(p), content))
}

// fragment answers with a component on its own, for htmx swaps of part of a page.
func fragment(c echo.Context, status int, content templ.Component) error {
	return writeComponent(c, status, content)
}

// writeComponent renders into a buffer first so a failing component never sends half a page.
func writeComponent(c echo.Context, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// withChildren gives a layout its content.
func withChildren(layout, content templ.Component) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return layout.Render(templ.WithChildren(ctx, content), w)
	})
}

// page builds the layout's model for the current request.
func (h *Handlers) page(c echo.Context, title, nav string) views.Page {
	p := views.Page{Title: title, Nav: nav, CSRF: h.csrfToken(c)}
	if u := currentUser(c); u != nil {
		p.User = &views.Viewer{Username: u.Username, Role: string(u.Role)}
	}
	if p.User != nil {
		p.OpenAlerts = h.openAlerts(c.Request().Context())
	}
	st := h.engine.Cached()
	p.Engine = views.EngineBanner{Reachable: st.Reachable, Error: st.Error, Locked: st.SwarmState == "locked"}
	return p
}

// sessNotice holds the one-time notice shown after a redirect.
const sessNotice = "notice"

// redirectNotice answers a successful form with a redirect to a page that shows
// the notice once (post/redirect/get).
func (h *Handlers) redirectNotice(c echo.Context, path, notice string) error {
	h.sessions.Put(c.Request().Context(), sessNotice, notice)
	return c.Redirect(http.StatusSeeOther, path)
}

// popNotice returns and clears the pending notice.
func (h *Handlers) popNotice(c echo.Context) string {
	return h.sessions.PopString(c.Request().Context(), sessNotice)
}
