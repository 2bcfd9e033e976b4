package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/alerts"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// Alerts is what the handlers need of the alert monitor: sending one message now, and
// a version that changes with every alert or delivery (and is moved on by an acknowledgement).
type Alerts interface {
	Send(ctx context.Context, ch store.AlertChannel, msg alerts.Message) (string, error)
	Version() uint64
	Touch()
}

// channelRequest is a channel as the form and the API give it.
type channelRequest struct {
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	Host     string   `json:"host,omitempty"`
	Port     int      `json:"port,omitempty"`
	Security string   `json:"security,omitempty"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
	URL      string   `json:"url,omitempty"`
	Format   string   `json:"format,omitempty"`
	Secret   string   `json:"secret,omitempty"`
}

// settings checks the request and returns the channel's settings as stored.
func (r channelRequest) settings() ([]byte, views.FieldErrors) {
	errs := views.FieldErrors{}
	if strings.TrimSpace(r.Name) == "" {
		errs.Add("name", "Name the channel, such as On-call email.")
	}
	var v any
	switch r.Kind {
	case "email":
		s := alerts.EmailSettings{Host: strings.TrimSpace(r.Host), Port: r.Port, Security: orText(r.Security, "starttls"), Username: r.Username,
			Password: r.Password, From: strings.TrimSpace(r.From), To: r.To}
		for k, msg := range s.Validate() {
			errs.Add(k, msg)
		}
		v = s
	case "webhook":
		s := alerts.WebhookSettings{URL: strings.TrimSpace(r.URL), Format: orText(r.Format, "json"), Secret: r.Secret}
		for k, msg := range s.Validate() {
			errs.Add(k, msg)
		}
		v = s
	default:
		errs.Add("kind", "Choose email or webhook.")
	}
	b, _ := json.Marshal(v)
	return b, errs
}

// createChannel adds an alert channel, its secrets sealed, audited.
func (h *Handlers) createChannel(c echo.Context, r channelRequest) (store.AlertChannel, views.FieldErrors, error) {
	settings, errs := r.settings()
	if errs.Any() {
		return store.AlertChannel{}, errs, nil
	}
	ch, err := h.store.CreateAlertChannel(c.Request().Context(), r.Kind, strings.TrimSpace(r.Name), settings, currentUser(c).Username)
	if err != nil {
		return ch, nil, err
	}
	h.audit(c, "alert.channel_create", fmt.Sprintf("channel:%d", ch.ID), "ok", r.Kind+" "+ch.Name)
	return ch, nil, nil
}

// deleteChannel removes a channel, audited.
func (h *Handlers) deleteChannel(c echo.Context, id int64) error {
	ch, err := h.store.AlertChannel(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if err := h.store.DeleteAlertChannel(c.Request().Context(), id); err != nil {
		return err
	}
	h.audit(c, "alert.channel_delete", fmt.Sprintf("channel:%d", id), "ok", ch.Kind+" "+ch.Name)
	return nil
}

// testChannel sends a test message now and returns the server's answer, audited.
func (h *Handlers) testChannel(c echo.Context, id int64) (string, error) {
	ch, err := h.store.AlertChannel(c.Request().Context(), id)
	if err != nil {
		return "", err
	}
	msg := alerts.Message{Event: "test", Kind: "test", Object: "channel:" + ch.Name, Title: "Berth test message",
		Detail: "Sent from the Alerts page by " + currentUser(c).Username + ": this channel reaches you.", OpenedAt: time.Now()}
	answer, err := h.alerts.Send(c.Request().Context(), ch, msg)
	h.audit(c, "alert.channel_test", fmt.Sprintf("channel:%d", id), outcomeOf(err), answer)
	return answer, err
}

// ackAlert acknowledges an open alert, audited: no more reminders.
func (h *Handlers) ackAlert(c echo.Context, id int64) (store.Alert, error) {
	a, err := h.store.AckAlert(c.Request().Context(), id, currentUser(c).Username)
	h.audit(c, "alert.ack", fmt.Sprintf("alert:%d", id), outcomeOf(err), a.Title)
	if err == nil {
		h.alerts.Touch()
		h.alertCount.stale() // the badge reads the count again
	}
	return a, err
}

// alertID reads an alert's or channel's id from the path.
func alertID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("alert %q: %w", c.Param("id"), store.ErrNotFound)
	}
	return id, nil
}

// openAlertCount is the navigation badge's count, read at most every two seconds.
type openAlertCount struct {
	mu sync.Mutex
	n  int
	at time.Time
}

func (h *Handlers) openAlerts(ctx context.Context) int {
	a := h.alertCount
	a.mu.Lock()
	defer a.mu.Unlock()
	if time.Since(a.at) > 2*time.Second {
		if n, err := h.store.CountOpenAlerts(ctx); err == nil {
			a.n, a.at = n, time.Now()
		}
	}
	return a.n
}

// stale makes the next page read the count again.
func (a *openAlertCount) stale() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = time.Time{}
}
