package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// BackupRun is one backup attempt.
type BackupRun struct {
	ID       string
	Trigger  string
	Started  time.Time
	Finished time.Time
	Status   string // running, complete, failed, interrupted
	Error    string
}

// SaveBackupRun records a backup attempt or its outcome.
func (s *Store) SaveBackupRun(ctx context.Context, r BackupRun) error {
	var finished any
	if !r.Finished.IsZero() {
		finished = formatTime(r.Finished)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO backup_runs (id, trigger, started_at, finished_at, status, error) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status, error = excluded.error`,
		r.ID, r.Trigger, formatTime(r.Started), finished, r.Status, r.Error)
	if err != nil {
		return fmt.Errorf("save backup run %s: %w", r.ID, err)
	}
	return nil
}

// BackupRuns lists attempts, newest first.
func (s *Store) BackupRuns(ctx context.Context, limit int) ([]BackupRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, trigger, started_at, finished_at, status, error FROM backup_runs ORDER BY started_at DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list backup runs: %w", err)
	}
	defer rows.Close()
	var out []BackupRun
	for rows.Next() {
		var r BackupRun
		var started string
		var finished sql.NullString
		if err := rows.Scan(&r.ID, &r.Trigger, &started, &finished, &r.Status, &r.Error); err != nil {
			return nil, fmt.Errorf("list backup runs: %w", err)
		}
		r.Started = parseTime(started)
		if finished.Valid {
			r.Finished = parseTime(finished.String)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// InterruptBackupRuns marks runs still recorded as running (Berth stopped during them) as interrupted.
func (s *Store) InterruptBackupRuns(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE backup_runs SET status = 'interrupted', finished_at = ?, error = 'Berth stopped during the backup; nothing of it was kept' WHERE status = 'running'`, formatTime(s.now()))
	if err != nil {
		return 0, fmt.Errorf("mark interrupted backups: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PinBackup keeps a snapshot from being pruned (pinned false releases it).
func (s *Store) PinBackup(ctx context.Context, id, by string, pinned bool) error {
	var err error
	if pinned {
		_, err = s.db.ExecContext(ctx, `INSERT OR IGNORE INTO backup_pins (id, pinned_by, pinned_at) VALUES (?, ?, ?)`, id, by, formatTime(s.now()))
	} else {
		_, err = s.db.ExecContext(ctx, `DELETE FROM backup_pins WHERE id = ?`, id)
	}
	if err != nil {
		return fmt.Errorf("pin backup %s: %w", id, err)
	}
	return nil
}

// PinnedBackups returns the ids of pinned snapshots.
func (s *Store) PinnedBackups(ctx context.Context) (map[string]bool, error) {
	return s.idSet(ctx, `SELECT id FROM backup_pins`, "list pinned backups")
}

// MappingBackupModes returns each mapping's backup mode ("live" or "stop").
func (s *Store) MappingBackupModes(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, backup_mode FROM volume_mappings`)
	if err != nil {
		return nil, fmt.Errorf("list backup modes: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, mode string
		if err := rows.Scan(&name, &mode); err != nil {
			return nil, err
		}
		out[name] = mode
	}
	return out, rows.Err()
}

// SetMappingBackupMode chooses between copying live data and stopping the services around the copy.
func (s *Store) SetMappingBackupMode(ctx context.Context, name, mode string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE volume_mappings SET backup_mode = ? WHERE name = ?`, mode, name)
	if err != nil {
		return fmt.Errorf("set backup mode of %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("volume mapping %s: %w", name, ErrNotFound)
	}
	return nil
}
