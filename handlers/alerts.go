package handlers

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/alerts"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// alertFilter reads the list's filter from the query string.
func alertFilter(c echo.Context) store.AlertFilter {
	return store.AlertFilter{State: c.QueryParam("state"), Kind: c.QueryParam("kind"), Object: c.QueryParam("object")}
}

// alertRows are the filtered alerts with what was sent for each.
func (h *Handlers) alertRows(c echo.Context, f store.AlertFilter) ([]store.Alert, []views.AlertRow, error) {
	list, err := h.store.Alerts(c.Request().Context(), f)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]views.AlertRow, 0, len(list))
	for _, a := range list {
		r := views.AlertRow{ID: a.ID, Title: a.Title, What: alerts.Kinds[a.Kind], Object: a.Object, State: a.State(), AckedBy: a.AckedBy,
			Opened: views.FormatTime(a.OpenedAt), Resolved: "—"}
		if !a.ResolvedAt.IsZero() {
			r.Resolved = views.FormatTime(a.ResolvedAt)
		}
		ds, err := h.store.AlertDeliveries(c.Request().Context(), a.ID)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range ds {
			r.Deliveries = append(r.Deliveries, deliveryText(d))
		}
		rows = append(rows, r)
	}
	return list, rows, nil
}

// deliveryText says one delivery's outcome in words.
func deliveryText(d store.AlertDelivery) string {
	switch d.State {
	case "sent":
		if d.Attempts > 1 {
			return fmt.Sprintf("%s: %s sent %s, at try %d (%s before)", d.ChannelName, d.Event, views.FormatTime(d.SentAt), d.Attempts, d.LastError)
		}
		return fmt.Sprintf("%s: %s sent %s", d.ChannelName, d.Event, views.FormatTime(d.SentAt))
	case "failed":
		return fmt.Sprintf("%s: %s failed after %d tries: %s", d.ChannelName, d.Event, d.Attempts, d.LastError)
	}
	if d.Attempts > 0 {
		return fmt.Sprintf("%s: %s not sent yet (try %d failed: %s; next at %s)", d.ChannelName, d.Event, d.Attempts, d.LastError, views.FormatTime(d.NextAt))
	}
	return fmt.Sprintf("%s: %s waiting to be sent", d.ChannelName, d.Event)
}

// AlertsPage lists open and past alerts (and, for admins, the channels and settings).
func (h *Handlers) AlertsPage(c echo.Context) error {
	return h.renderAlerts(c, http.StatusOK, nil)
}

func (h *Handlers) renderAlerts(c echo.Context, status int, edit func(*views.AlertsView)) error {
	f := alertFilter(c)
	_, rows, err := h.alertRows(c, f)
	if err != nil {
		return err
	}
	v := views.AlertsView{Rows: rows, State: f.State, Kind: f.Kind, CanAck: canOperate(c), Admin: isAdmin(c), Notice: h.popNotice(c),
		Query: url.Values{"state": {f.State}, "kind": {f.Kind}}.Encode()}
	for k := range alerts.Kinds {
		v.Kinds = append(v.Kinds, k)
	}
	sort.Strings(v.Kinds)
	if v.Admin {
		if v.Channels, err = h.channelRows(c); err != nil {
			return err
		}
		s, err := alerts.LoadSettings(c.Request().Context(), h.store)
		if err != nil {
			return err
		}
		v.Settings = settingsForm(s)
	}
	if edit != nil {
		edit(&v)
	}
	p := h.page(c, "Alerts", "alerts")
	return h.render(c, status, p, views.AlertsPage(p, v))
}

func (h *Handlers) channelRows(c echo.Context) ([]views.ChannelRow, error) {
	list, err := h.store.AlertChannels(c.Request().Context())
	if err != nil {
		return nil, err
	}
	var rows []views.ChannelRow
	for _, ch := range list {
		rows = append(rows, views.ChannelRow{ID: ch.ID, Name: ch.Name, Kind: ch.Kind, Where: channelWhere(ch)})
	}
	return rows, nil
}

// channelWhere says where a channel sends, without its password or secret.
func channelWhere(ch store.AlertChannel) string {
	if ch.Kind == "email" {
		var s alerts.EmailSettings
		json.Unmarshal(ch.Settings, &s)
		return fmt.Sprintf("%s through %s:%d (%s)", strings.Join(s.To, ", "), s.Host, s.Port, s.Security)
	}
	var s alerts.WebhookSettings
	json.Unmarshal(ch.Settings, &s)
	signed := ""
	if s.Secret != "" {
		signed = ", signed"
	}
	return fmt.Sprintf("%s (%s%s)", s.URL, s.Format, signed)
}

// alertsPoll is how often an open Alerts page's stream looks at the monitor's version (in memory).
const alertsPoll = 2 * time.Second

// AlertsEvents pushes the alerts table again whenever an alert or a delivery changes.
func (h *Handlers) AlertsEvents(c echo.Context) error {
	f := alertFilter(c)
	p := h.page(c, "Alerts", "alerts")
	res := startSSE(c)
	ctx := c.Request().Context()
	tick, heartbeat := time.NewTicker(alertsPoll), time.NewTicker(sseHeartbeat)
	defer tick.Stop()
	defer heartbeat.Stop()
	last := h.alerts.Version()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-heartbeat.C:
			if _, err := fmt.Fprint(res, ": keep-alive\n\n"); err != nil {
				return nil
			}
			res.Flush()
		case <-tick.C:
			if v := h.alerts.Version(); v != last {
				last = v
				_, rows, err := h.alertRows(c, f)
				if err != nil {
					continue
				}
				var buf bytes.Buffer
				view := views.AlertsView{Rows: rows, CanAck: canOperate(c)}
				if views.AlertsTable(p, view).Render(ctx, &buf) != nil {
					continue
				}
				if _, err := fmt.Fprintf(res, "event: alerts\n%s\n", sseData(buf.String())); err != nil {
					return nil
				}
				res.Flush()
			}
		}
	}
}

// AlertsCSV exports the filtered alerts.
func (h *Handlers) AlertsCSV(c echo.Context) error {
	list, rows, err := h.alertRows(c, alertFilter(c))
	if err != nil {
		return err
	}
	h.audit(c, "alert.export", "alerts", "ok", fmt.Sprintf("%d alerts", len(list)))
	res := c.Response()
	res.Header().Set("Content-Type", "text/csv; charset=utf-8")
	res.Header().Set("Content-Disposition", `attachment; filename="berth-alerts-`+time.Now().UTC().Format("20060102-150405")+`.csv"`)
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	_ = w.Write([]string{"id", "kind", "object", "title", "state", "opened_utc", "resolved_utc", "acknowledged_by", "deliveries"})
	for i, a := range list {
		resolved := ""
		if !a.ResolvedAt.IsZero() {
			resolved = views.FormatTime(a.ResolvedAt)
		}
		_ = w.Write([]string{strconv.FormatInt(a.ID, 10), a.Kind, csvSafe(a.Object), csvSafe(a.Title), a.State(), views.FormatTime(a.OpenedAt), resolved,
			a.AckedBy, csvSafe(strings.Join(rows[i].Deliveries, "; "))})
	}
	w.Flush()
	return w.Error()
}

// AckAlert acknowledges an alert from the page.
func (h *Handlers) AckAlert(c echo.Context) error {
	id, err := alertID(c)
	if err != nil {
		return err
	}
	a, err := h.ackAlert(c, id)
	if err != nil {
		return err
	}
	return h.redirectNotice(c, "/alerts", "Acknowledged: "+a.Title+". No more reminders; the resolved message still goes.")
}

// channelForm reads the new channel form.
func channelForm(c echo.Context) (channelRequest, views.ChannelForm) {
	f := views.ChannelForm{Kind: c.FormValue("kind"), Name: c.FormValue("name"), Host: c.FormValue("host"), Port: c.FormValue("port"),
		Security: c.FormValue("security"), Username: c.FormValue("username"), From: c.FormValue("from"), To: c.FormValue("to"),
		URL: c.FormValue("url"), Format: c.FormValue("format")}
	port, _ := strconv.Atoi(strings.TrimSpace(f.Port))
	var to []string
	for _, t := range strings.Split(f.To, ",") {
		if t = strings.TrimSpace(t); t != "" {
			to = append(to, t)
		}
	}
	return channelRequest{Kind: f.Kind, Name: f.Name, Host: f.Host, Port: port, Security: f.Security, Username: f.Username,
		Password: c.FormValue("password"), From: f.From, To: to, URL: f.URL, Format: f.Format, Secret: c.FormValue("secret")}, f
}

// CreateChannel adds a channel from the page.
func (h *Handlers) CreateChannel(c echo.Context) error {
	req, form := channelForm(c)
	ch, errs, err := h.createChannel(c, req)
	if err != nil {
		return err
	}
	if errs.Any() {
		form.Errors = errs
		return h.renderAlerts(c, http.StatusUnprocessableEntity, func(v *views.AlertsView) { v.Form = form })
	}
	return h.redirectNotice(c, "/alerts", "Added the channel "+ch.Name+": send it a test to check it reaches you.")
}

// TestChannel sends a test and shows the server's answer next to the channel.
func (h *Handlers) TestChannel(c echo.Context) error {
	id, err := alertID(c)
	if err != nil {
		return err
	}
	answer, sendErr := h.testChannel(c, id)
	status := http.StatusOK
	if sendErr != nil {
		status = http.StatusUnprocessableEntity
	}
	return h.renderAlerts(c, status, func(v *views.AlertsView) {
		for i := range v.Channels {
			if v.Channels[i].ID == id {
				v.Channels[i].Answer = answer
				if sendErr != nil {
					v.Channels[i].Error = sendErr.Error()
				}
			}
		}
	})
}

// DeleteChannel removes a channel, after asking.
func (h *Handlers) DeleteChannel(c echo.Context) error {
	id, err := alertID(c)
	if err != nil {
		return err
	}
	if ok, err := h.askFirst(c, "Delete this alert channel? Alerts stop going there.", "/alerts"); !ok {
		return err
	}
	if err := h.deleteChannel(c, id); err != nil {
		return err
	}
	return h.redirectNotice(c, "/alerts", "Deleted the channel.")
}
