package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const offsiteContext = "offsite:target"

// OffsiteTarget returns the off-site bucket's settings as the JSON they were saved
// as (secret key included, opened), or ErrNotFound when none is set.
func (s *Store) OffsiteTarget(ctx context.Context) ([]byte, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT settings FROM offsite_target WHERE id = 1`).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("off-site target: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load off-site target: %w", err)
	}
	return s.keys.Open(sealed, offsiteContext)
}

// SetOffsiteTarget saves the bucket's settings (JSON, sealed as a whole); nil removes them.
func (s *Store) SetOffsiteTarget(ctx context.Context, settings []byte, by string) error {
	var err error
	if settings == nil {
		_, err = s.db.ExecContext(ctx, `DELETE FROM offsite_target`)
	} else {
		_, err = s.db.ExecContext(ctx, `INSERT INTO offsite_target (id, settings, updated_by, updated_at) VALUES (1, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			s.keys.Seal(settings, offsiteContext), by, formatTime(s.now()))
	}
	if err != nil {
		return fmt.Errorf("save off-site target: %w", err)
	}
	return nil
}

// BackupKey is a backup key as Berth keeps it: its id, and its bytes once opened.
type BackupKey struct {
	ID        string
	Raw       []byte
	CreatedBy string
	CreatedAt time.Time
	Retired   bool // a newer key seals new copies; this one still opens old ones
}

func backupKeyContext(id string) string { return "backup-key:" + id }

// AddBackupKey keeps a backup key sealed; current makes it the one new copies use
// (the others stay, to open the copies they sealed).
func (s *Store) AddBackupKey(ctx context.Context, id string, raw []byte, by string, current bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := formatTime(s.now())
		if current {
			if _, err := tx.ExecContext(ctx, `UPDATE backup_keys SET retired_at = ? WHERE retired_at IS NULL AND id <> ?`, now, id); err != nil {
				return fmt.Errorf("retire backup keys: %w", err)
			}
		}
		var retired any
		if !current {
			retired = now
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO backup_keys (id, sealed, created_by, created_at, retired_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, id, s.keys.Seal(raw, backupKeyContext(id)), by, now, retired)
		if err != nil {
			return fmt.Errorf("save backup key: %w", err)
		}
		return nil
	})
}

// BackupKeys lists the backup keys, the current one first.
func (s *Store) BackupKeys(ctx context.Context) ([]BackupKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, sealed, created_by, created_at, retired_at IS NOT NULL FROM backup_keys ORDER BY retired_at IS NOT NULL, created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("list backup keys: %w", err)
	}
	defer rows.Close()
	var out []BackupKey
	for rows.Next() {
		var k BackupKey
		var sealed []byte
		var at string
		if err := rows.Scan(&k.ID, &sealed, &k.CreatedBy, &at, &k.Retired); err != nil {
			return nil, fmt.Errorf("list backup keys: %w", err)
		}
		if k.Raw, err = s.keys.Open(sealed, backupKeyContext(k.ID)); err != nil {
			return nil, fmt.Errorf("backup key %s: %w", k.ID, err)
		}
		k.CreatedAt = parseTime(at)
		out = append(out, k)
	}
	return out, rows.Err()
}

// OffsiteCopy is the state of one snapshot's copy in the bucket.
type OffsiteCopy struct {
	Snapshot string
	State    string // pending, copying, copied, failed
	Attempts int
	NextAt   time.Time
	Bytes    int64
	Error    string
	CopiedAt time.Time
	KeyID    string
}

// QueueOffsiteCopy records that a snapshot is to be copied (a copy already recorded is left as it is).
func (s *Store) QueueOffsiteCopy(ctx context.Context, snapshot string) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO offsite_copies (snapshot_id, state, next_at) VALUES (?, 'pending', ?)`, snapshot, formatTime(s.now()))
	if err != nil {
		return fmt.Errorf("queue off-site copy %s: %w", snapshot, err)
	}
	return nil
}

// SaveOffsiteCopy records a copy's state.
func (s *Store) SaveOffsiteCopy(ctx context.Context, c OffsiteCopy) error {
	var copied any
	if !c.CopiedAt.IsZero() {
		copied = formatTime(c.CopiedAt)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO offsite_copies (snapshot_id, state, attempts, next_at, bytes, error, copied_at, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (snapshot_id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts, next_at = excluded.next_at,
		bytes = excluded.bytes, error = excluded.error, copied_at = excluded.copied_at, key_id = excluded.key_id`,
		c.Snapshot, c.State, c.Attempts, formatTime(c.NextAt), c.Bytes, c.Error, copied, c.KeyID)
	if err != nil {
		return fmt.Errorf("save off-site copy %s: %w", c.Snapshot, err)
	}
	return nil
}

// OffsiteCopies returns every recorded copy by snapshot id.
func (s *Store) OffsiteCopies(ctx context.Context) (map[string]OffsiteCopy, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT snapshot_id, state, attempts, next_at, bytes, error, copied_at, key_id FROM offsite_copies`)
	if err != nil {
		return nil, fmt.Errorf("list off-site copies: %w", err)
	}
	defer rows.Close()
	out := map[string]OffsiteCopy{}
	for rows.Next() {
		var c OffsiteCopy
		var next string
		var copied sql.NullString
		if err := rows.Scan(&c.Snapshot, &c.State, &c.Attempts, &next, &c.Bytes, &c.Error, &copied, &c.KeyID); err != nil {
			return nil, fmt.Errorf("list off-site copies: %w", err)
		}
		c.NextAt, c.CopiedAt = parseTime(next), nullTime(copied)
		out[c.Snapshot] = c
	}
	return out, rows.Err()
}

// ForgetOffsiteCopy drops a copy's record (its snapshot is gone here and there).
func (s *Store) ForgetOffsiteCopy(ctx context.Context, snapshot string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM offsite_copies WHERE snapshot_id = ?`, snapshot); err != nil {
		return fmt.Errorf("forget off-site copy %s: %w", snapshot, err)
	}
	return nil
}

// RestartOffsiteCopies puts copies a stopped Berth left in "copying" back in the queue.
func (s *Store) RestartOffsiteCopies(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE offsite_copies SET state = 'pending', next_at = ?, error = 'Berth stopped during the copy; it starts again' WHERE state = 'copying'`, formatTime(s.now()))
	if err != nil {
		return 0, fmt.Errorf("restart off-site copies: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RestoreDrill is one restore drill: a snapshot restored into scratch volumes and compared file by file.
type RestoreDrill struct {
	ID       int64
	Snapshot string
	Source   string // local or offsite
	Trigger  string
	Started  time.Time
	Finished time.Time
	Status   string // running, passed, failed
	Volumes  int
	Files    int
	Bytes    int64
	Detail   string // the first difference when failed
}

// SaveRestoreDrill records a drill (ID 0 adds one) and returns its id.
func (s *Store) SaveRestoreDrill(ctx context.Context, d RestoreDrill) (int64, error) {
	var finished any
	if !d.Finished.IsZero() {
		finished = formatTime(d.Finished)
	}
	if d.ID == 0 {
		res, err := s.db.ExecContext(ctx, `INSERT INTO restore_drills (snapshot_id, source, trigger, started_at, finished_at, status, volumes, files, bytes, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.Snapshot, d.Source, d.Trigger, formatTime(d.Started), finished, d.Status, d.Volumes, d.Files, d.Bytes, d.Detail)
		if err != nil {
			return 0, fmt.Errorf("record restore drill: %w", err)
		}
		return res.LastInsertId()
	}
	_, err := s.db.ExecContext(ctx, `UPDATE restore_drills SET finished_at = ?, status = ?, volumes = ?, files = ?, bytes = ?, detail = ? WHERE id = ?`,
		finished, d.Status, d.Volumes, d.Files, d.Bytes, d.Detail, d.ID)
	if err != nil {
		return d.ID, fmt.Errorf("record restore drill %d: %w", d.ID, err)
	}
	return d.ID, nil
}

// RestoreDrills lists drills, newest first.
func (s *Store) RestoreDrills(ctx context.Context, limit int) ([]RestoreDrill, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, snapshot_id, source, trigger, started_at, finished_at, status, volumes, files, bytes, detail FROM restore_drills ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list restore drills: %w", err)
	}
	defer rows.Close()
	var out []RestoreDrill
	for rows.Next() {
		var d RestoreDrill
		var started string
		var finished sql.NullString
		if err := rows.Scan(&d.ID, &d.Snapshot, &d.Source, &d.Trigger, &started, &finished, &d.Status, &d.Volumes, &d.Files, &d.Bytes, &d.Detail); err != nil {
			return nil, fmt.Errorf("list restore drills: %w", err)
		}
		d.Started, d.Finished = parseTime(started), nullTime(finished)
		out = append(out, d)
	}
	return out, rows.Err()
}

// InterruptRestoreDrills marks drills a stopped Berth left running as failed.
func (s *Store) InterruptRestoreDrills(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `UPDATE restore_drills SET status = 'failed', finished_at = ?, detail = 'Berth stopped during the drill' WHERE status = 'running'`, formatTime(s.now()))
	if err != nil {
		return fmt.Errorf("mark interrupted drills: %w", err)
	}
	return nil
}
