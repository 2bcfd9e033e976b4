package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// ImageCheck is the last check of whether a service's tag points at another image than its tasks run.
type ImageCheck struct {
	ServiceID, Service string
	Tagged             string   // image:tag checked
	Running            []string // the digests the tasks ran
	Latest             string   // the digest the tag pointed at ("" when the check failed)
	LatestSeenAt       time.Time
	CheckedAt          time.Time
	Error              string
}

// UpdateAvailable says whether the tag points at a digest the tasks do not run.
func (c ImageCheck) UpdateAvailable() bool {
	if c.Latest == "" || c.Error != "" {
		return false
	}
	for _, d := range c.Running {
		if d == c.Latest {
			return false
		}
	}
	return true
}

// SaveImageCheck records a service's check; the tag's digest keeps the time it was first seen.
func (s *Store) SaveImageCheck(ctx context.Context, c ImageCheck) (ImageCheck, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var latest, seen sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT latest, latest_seen_at FROM image_checks WHERE service_id = ? AND tagged = ?`, c.ServiceID, c.Tagged).Scan(&latest, &seen)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		switch {
		case c.Latest == "" && err == nil: // a failed check keeps what was known
			c.Latest, c.LatestSeenAt = latest.String, parseTime(seen.String)
		case c.Latest != "" && err == nil && latest.String == c.Latest && seen.Valid:
			c.LatestSeenAt = parseTime(seen.String)
		case c.Latest != "":
			c.LatestSeenAt = c.CheckedAt
		}
		var seenAt any
		if !c.LatestSeenAt.IsZero() {
			seenAt = formatTime(c.LatestSeenAt)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO image_checks (service_id, service, tagged, running, latest, latest_seen_at, checked_at, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(service_id) DO UPDATE SET service = excluded.service, tagged = excluded.tagged,
			running = excluded.running, latest = excluded.latest, latest_seen_at = excluded.latest_seen_at, checked_at = excluded.checked_at, error = excluded.error`,
			c.ServiceID, c.Service, c.Tagged, strings.Join(c.Running, ","), c.Latest, seenAt, formatTime(c.CheckedAt), c.Error)
		return err
	})
	if err != nil {
		return c, fmt.Errorf("save the image check of %s: %w", c.Service, err)
	}
	return c, nil
}

// ImageChecks returns every service's last check, by service id.
func (s *Store) ImageChecks(ctx context.Context) (map[string]ImageCheck, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT service_id, service, tagged, running, latest, latest_seen_at, checked_at, error FROM image_checks`)
	if err != nil {
		return nil, fmt.Errorf("list image checks: %w", err)
	}
	defer rows.Close()
	out := map[string]ImageCheck{}
	for rows.Next() {
		var c ImageCheck
		var running, checked string
		var seen sql.NullString
		if err := rows.Scan(&c.ServiceID, &c.Service, &c.Tagged, &running, &c.Latest, &seen, &checked, &c.Error); err != nil {
			return nil, fmt.Errorf("list image checks: %w", err)
		}
		if running != "" {
			c.Running = strings.Split(running, ",")
		}
		c.LatestSeenAt, c.CheckedAt = parseTime(seen.String), parseTime(checked)
		out[c.ServiceID] = c
	}
	return out, rows.Err()
}

// ForgetImageChecks drops the checks of services that are gone (keep: the ids still there).
func (s *Store) ForgetImageChecks(ctx context.Context, keep map[string]bool) error {
	checks, err := s.ImageChecks(ctx)
	if err != nil {
		return err
	}
	for id := range checks {
		if !keep[id] {
			if _, err := s.db.ExecContext(ctx, `DELETE FROM image_checks WHERE service_id = ?`, id); err != nil {
				return fmt.Errorf("forget the image check of %s: %w", id, err)
			}
		}
	}
	return nil
}
