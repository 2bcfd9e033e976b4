package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Recording is a terminal session's recorded output; the cast itself stays sealed.
type Recording struct {
	ID        int64
	Actor     string
	Container string
	Service   string
	Node      string
	StartedAt time.Time
	EndedAt   time.Time
	ExitCode  int
	Truncated bool
}

func recordingContext(id int64) string { return fmt.Sprintf("recording:%d", id) }

// SaveRecording stores a session's asciicast sealed and returns its id.
func (s *Store) SaveRecording(ctx context.Context, r Recording, cast []byte) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO terminal_recordings (actor, container, service, node, started_at, ended_at, exit_code, truncated, cast_data)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, x'')`, r.Actor, r.Container, r.Service, r.Node, formatTime(r.StartedAt), formatTime(r.EndedAt), r.ExitCode, r.Truncated)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		_, err = tx.ExecContext(ctx, `UPDATE terminal_recordings SET cast_data = ? WHERE id = ?`, s.keys.Seal(cast, recordingContext(id)), id)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("save terminal recording: %w", err)
	}
	return id, nil
}

const recordingColumns = `id, actor, container, service, node, started_at, ended_at, exit_code, truncated`

func scanRecording(row interface{ Scan(...any) error }) (Recording, error) {
	var r Recording
	var started, ended string
	err := row.Scan(&r.ID, &r.Actor, &r.Container, &r.Service, &r.Node, &started, &ended, &r.ExitCode, &r.Truncated)
	r.StartedAt, r.EndedAt = parseTime(started), parseTime(ended)
	return r, err
}

// Recordings lists recordings, newest first.
func (s *Store) Recordings(ctx context.Context, limit int) ([]Recording, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordingColumns+` FROM terminal_recordings ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	defer rows.Close()
	var out []Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("list recordings: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecordingCast returns a recording and its unsealed asciicast.
func (s *Store) RecordingCast(ctx context.Context, id int64) (Recording, []byte, error) {
	var sealed []byte
	row := s.db.QueryRowContext(ctx, `SELECT `+recordingColumns+`, cast_data FROM terminal_recordings WHERE id = ?`, id)
	var r Recording
	var started, ended string
	err := row.Scan(&r.ID, &r.Actor, &r.Container, &r.Service, &r.Node, &started, &ended, &r.ExitCode, &r.Truncated, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil, fmt.Errorf("recording %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, nil, fmt.Errorf("load recording: %w", err)
	}
	r.StartedAt, r.EndedAt = parseTime(started), parseTime(ended)
	cast, err := s.keys.Open(sealed, recordingContext(id))
	return r, cast, err
}
