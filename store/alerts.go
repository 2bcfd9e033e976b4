package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AlertChannel is where alerts are sent: an email server or a webhook; its settings
// (a password, a signing secret) are sealed.
type AlertChannel struct {
	ID        int64
	Kind      string // email or webhook
	Name      string
	Settings  []byte // JSON, unsealed on read
	CreatedBy string
	CreatedAt time.Time
}

const channelContext = "alert-channel"

// CreateAlertChannel adds a channel, sealing its settings.
func (s *Store) CreateAlertChannel(ctx context.Context, kind, name string, settings []byte, by string) (AlertChannel, error) {
	c := AlertChannel{Kind: kind, Name: name, Settings: settings, CreatedBy: by, CreatedAt: s.now()}
	res, err := s.db.ExecContext(ctx, `INSERT INTO alert_channels (kind, name, settings, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		kind, name, s.keys.Seal(settings, channelContext+":"+kind), by, formatTime(c.CreatedAt))
	if err != nil {
		return c, fmt.Errorf("create alert channel %s: %w", name, err)
	}
	c.ID, err = res.LastInsertId()
	return c, err
}

// AlertChannels lists the channels, oldest first.
func (s *Store) AlertChannels(ctx context.Context) ([]AlertChannel, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, kind, name, settings, created_by, created_at FROM alert_channels ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list alert channels: %w", err)
	}
	defer rows.Close()
	var out []AlertChannel
	for rows.Next() {
		c, err := s.scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AlertChannel returns one channel.
func (s *Store) AlertChannel(ctx context.Context, id int64) (AlertChannel, error) {
	c, err := s.scanChannel(s.db.QueryRowContext(ctx, `SELECT id, kind, name, settings, created_by, created_at FROM alert_channels WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("alert channel %d: %w", id, ErrNotFound)
	}
	return c, err
}

// DeleteAlertChannel removes a channel; its pending deliveries are dropped, its history stays.
func (s *Store) DeleteAlertChannel(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_channels WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete alert channel: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("alert channel %d: %w", id, ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `UPDATE alert_deliveries SET state = 'failed', last_error = 'the channel was deleted' WHERE channel_id = ? AND state = 'pending'`, id)
		return err
	})
}

func (s *Store) scanChannel(row interface{ Scan(...any) error }) (AlertChannel, error) {
	var c AlertChannel
	var sealed []byte
	var created string
	if err := row.Scan(&c.ID, &c.Kind, &c.Name, &sealed, &c.CreatedBy, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, err
		}
		return c, fmt.Errorf("read alert channel: %w", err)
	}
	settings, err := s.keys.Open(sealed, channelContext+":"+c.Kind)
	if err != nil {
		return c, fmt.Errorf("unseal alert channel %s: %w", c.Name, err)
	}
	c.Settings, c.CreatedAt = settings, parseTime(created)
	return c, nil
}

// Alert is one problem, from when it opened to when it resolved.
type Alert struct {
	ID           int64
	Kind, Object string
	Title        string
	Detail       string
	OpenedAt     time.Time
	ResolvedAt   time.Time
	LastSentAt   time.Time
	AckedBy      string
	AckedAt      time.Time
}

// State is the alert's state as users read it: open, acknowledged or resolved.
func (a Alert) State() string {
	switch {
	case !a.ResolvedAt.IsZero():
		return "resolved"
	case a.AckedBy != "":
		return "acknowledged"
	}
	return "open"
}

const alertColumns = `id, kind, object, title, detail, opened_at, resolved_at, last_sent_at, acked_by, acked_at`

func scanAlert(row interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	var opened string
	var resolved, sent, acked sql.NullString
	err := row.Scan(&a.ID, &a.Kind, &a.Object, &a.Title, &a.Detail, &opened, &resolved, &sent, &a.AckedBy, &acked)
	a.OpenedAt, a.ResolvedAt, a.LastSentAt, a.AckedAt = parseTime(opened), nullTime(resolved), nullTime(sent), nullTime(acked)
	return a, err
}

// OpenAlert records a new alert and queues its message to every channel, in one transaction.
func (s *Store) OpenAlert(ctx context.Context, a Alert, channels []AlertChannel) (Alert, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO alerts (kind, object, title, detail, opened_at, last_sent_at) VALUES (?, ?, ?, ?, ?, ?)`,
			a.Kind, a.Object, a.Title, a.Detail, formatTime(a.OpenedAt), formatTime(a.OpenedAt))
		if err != nil {
			return err
		}
		if a.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		a.LastSentAt = a.OpenedAt
		return queueDeliveries(ctx, tx, a.ID, "open", a.OpenedAt, channels)
	})
	if err != nil {
		return a, fmt.Errorf("open alert %s %s: %w", a.Kind, a.Object, err)
	}
	return a, nil
}

// RepeatAlert queues the reminder of an open alert.
func (s *Store) RepeatAlert(ctx context.Context, id int64, at time.Time, channels []AlertChannel) error {
	return s.alertEvent(ctx, id, "repeat", `UPDATE alerts SET last_sent_at = ? WHERE id = ?`, at, channels)
}

// ResolveAlert closes an alert and queues the resolved message.
func (s *Store) ResolveAlert(ctx context.Context, id int64, at time.Time, channels []AlertChannel) error {
	return s.alertEvent(ctx, id, "resolved", `UPDATE alerts SET resolved_at = ? WHERE id = ?`, at, channels)
}

func (s *Store) alertEvent(ctx context.Context, id int64, event, update string, at time.Time, channels []AlertChannel) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, update, formatTime(at), id); err != nil {
			return err
		}
		return queueDeliveries(ctx, tx, id, event, at, channels)
	})
	if err != nil {
		return fmt.Errorf("alert %d %s: %w", id, event, err)
	}
	return nil
}

func queueDeliveries(ctx context.Context, tx *sql.Tx, alertID int64, event string, at time.Time, channels []AlertChannel) error {
	for _, c := range channels {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_deliveries (alert_id, channel_id, channel_name, event, state, next_at) VALUES (?, ?, ?, ?, 'pending', ?)`,
			alertID, c.ID, c.Name, event, formatTime(at)); err != nil {
			return err
		}
	}
	return nil
}

// AckAlert acknowledges an open alert: no more reminders (the resolved message still goes).
func (s *Store) AckAlert(ctx context.Context, id int64, by string) (Alert, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND resolved_at IS NULL AND acked_by = ''`, by, formatTime(s.now()), id)
	if err != nil {
		return Alert{}, fmt.Errorf("acknowledge alert %d: %w", id, err)
	}
	a, err := s.Alert(ctx, id)
	if err != nil {
		return a, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return a, fmt.Errorf("alert %d is %s: %w", id, a.State(), ErrConflict)
	}
	return a, nil
}

// ErrConflict means the record is not in a state the change applies to.
var ErrConflict = errors.New("not in a state for this change")

// Alert returns one alert.
func (s *Store) Alert(ctx context.Context, id int64) (Alert, error) {
	a, err := scanAlert(s.db.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("alert %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("read alert %d: %w", id, err)
	}
	return a, nil
}

// AlertFilter narrows the alert listing; zero fields do not filter.
type AlertFilter struct {
	State  string // open (with acknowledged), resolved
	Kind   string
	Object string // substring
	Limit  int
}

// Alerts lists matching alerts, newest first.
func (s *Store) Alerts(ctx context.Context, f AlertFilter) ([]Alert, error) {
	var where []string
	var args []any
	switch f.State {
	case "open":
		where = append(where, "resolved_at IS NULL")
	case "resolved":
		where = append(where, "resolved_at IS NOT NULL")
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Object != "" {
		where, args = append(where, "object LIKE ? ESCAPE '\\'"), append(args, "%"+escapeLike(f.Object)+"%")
	}
	q := `SELECT ` + alertColumns + ` FROM alerts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 500
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("read alert: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CountOpenAlerts is how many alerts are open (acknowledged ones included).
func (s *Store) CountOpenAlerts(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerts WHERE resolved_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count open alerts: %w", err)
	}
	return n, nil
}

// AlertDelivery is one message of an alert to one channel.
type AlertDelivery struct {
	ID, AlertID, ChannelID int64
	ChannelName            string
	Event                  string // open, repeat, resolved
	State                  string // pending, sent, failed
	Attempts               int
	NextAt, SentAt         time.Time
	LastError              string
}

const deliveryColumns = `id, alert_id, channel_id, channel_name, event, state, attempts, next_at, last_error, sent_at`

func scanDelivery(row interface{ Scan(...any) error }) (AlertDelivery, error) {
	var d AlertDelivery
	var next string
	var sent sql.NullString
	err := row.Scan(&d.ID, &d.AlertID, &d.ChannelID, &d.ChannelName, &d.Event, &d.State, &d.Attempts, &next, &d.LastError, &sent)
	d.NextAt, d.SentAt = parseTime(next), nullTime(sent)
	return d, err
}

// DueDeliveries are the pending deliveries whose time has come, oldest first.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time) ([]AlertDelivery, error) {
	return s.deliveries(ctx, `WHERE state = 'pending' AND next_at <= ? ORDER BY id`, formatTime(now))
}

// AlertDeliveries are one alert's deliveries, oldest first.
func (s *Store) AlertDeliveries(ctx context.Context, alertID int64) ([]AlertDelivery, error) {
	return s.deliveries(ctx, `WHERE alert_id = ? ORDER BY id`, alertID)
}

func (s *Store) deliveries(ctx context.Context, where string, args ...any) ([]AlertDelivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM alert_deliveries `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list alert deliveries: %w", err)
	}
	defer rows.Close()
	var out []AlertDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("read alert delivery: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeliverySent records a delivered message.
func (s *Store) DeliverySent(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE alert_deliveries SET state = 'sent', attempts = attempts + 1, sent_at = ? WHERE id = ?`, formatTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("record delivery %d: %w", id, err)
	}
	return nil
}

// DeliveryFailed records a failed try: tried again at next, or failed for good when next is zero.
func (s *Store) DeliveryFailed(ctx context.Context, id int64, reason string, next time.Time) error {
	state, nextAt := "pending", formatTime(next)
	if next.IsZero() {
		state, nextAt = "failed", formatTime(s.now())
	}
	_, err := s.db.ExecContext(ctx, `UPDATE alert_deliveries SET state = ?, attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?`, state, nextAt, reason, id)
	if err != nil {
		return fmt.Errorf("record delivery %d: %w", id, err)
	}
	return nil
}
