package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Stack is a compose file Berth deployed, and who deployed it.
type Stack struct {
	Name      string
	Compose   string
	Env       string
	OwnerID   int64
	Owner     string
	CreatedAt time.Time
	UpdatedBy string
	UpdatedAt time.Time
	Revision  int
}

// stackContext binds a stack's sealed text to its name.
func stackContext(name, part string) string { return "stack:" + name + ":" + part }

// SaveStack records a stack's compose and .env text after a deploy (a new row) or an update (the next revision).
func (s *Store) SaveStack(ctx context.Context, name, compose, env string, ownerID int64, by string) error {
	now := formatTime(s.now())
	_, err := s.db.ExecContext(ctx, `INSERT INTO stacks (name, compose, env, owner_id, created_at, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET compose = excluded.compose, env = excluded.env, updated_by = excluded.updated_by,
		updated_at = excluded.updated_at, revision = revision + 1`,
		name, s.keys.Seal([]byte(compose), stackContext(name, "compose")), s.keys.Seal([]byte(env), stackContext(name, "env")), ownerID, by, now, now)
	if err != nil {
		return fmt.Errorf("save stack %s: %w", name, err)
	}
	return nil
}

// Stacks lists the stacks Berth deployed, by name, with their text.
func (s *Store) Stacks(ctx context.Context) ([]Stack, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT st.name, st.compose, st.env, st.owner_id, u.username, st.created_at, st.updated_by, st.updated_at, st.revision
		FROM stacks st JOIN users u ON u.id = st.owner_id ORDER BY st.name`)
	if err != nil {
		return nil, fmt.Errorf("list stacks: %w", err)
	}
	defer rows.Close()
	var out []Stack
	for rows.Next() {
		st, err := s.scanStack(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// Stack returns one stack Berth deployed.
func (s *Store) Stack(ctx context.Context, name string) (Stack, error) {
	row := s.db.QueryRowContext(ctx, `SELECT st.name, st.compose, st.env, st.owner_id, u.username, st.created_at, st.updated_by, st.updated_at, st.revision
		FROM stacks st JOIN users u ON u.id = st.owner_id WHERE st.name = ?`, name)
	st, err := s.scanStack(row)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("stack %s: %w", name, ErrNotFound)
	}
	return st, err
}

// DeleteStack forgets a removed stack.
func (s *Store) DeleteStack(ctx context.Context, name string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM stacks WHERE name = ?`, name); err != nil {
		return fmt.Errorf("delete stack %s: %w", name, err)
	}
	return nil
}

func (s *Store) scanStack(row interface{ Scan(...any) error }) (Stack, error) {
	var st Stack
	var compose, env []byte
	var created, updated string
	if err := row.Scan(&st.Name, &compose, &env, &st.OwnerID, &st.Owner, &created, &st.UpdatedBy, &updated, &st.Revision); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return st, err
		}
		return st, fmt.Errorf("read stack: %w", err)
	}
	c, err := s.keys.Open(compose, stackContext(st.Name, "compose"))
	if err != nil {
		return st, fmt.Errorf("unseal stack %s: %w", st.Name, err)
	}
	e, err := s.keys.Open(env, stackContext(st.Name, "env"))
	if err != nil {
		return st, fmt.Errorf("unseal stack %s: %w", st.Name, err)
	}
	st.Compose, st.Env = string(c), string(e)
	st.CreatedAt, st.UpdatedAt = parseTime(created), parseTime(updated)
	return st, nil
}
