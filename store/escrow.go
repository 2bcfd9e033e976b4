package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

func escrowContext(dockerID string) string { return "secret:" + dockerID }

// EscrowSecret keeps a sealed copy of a secret's value, which the engine never returns, for backups.
func (s *Store) EscrowSecret(ctx context.Context, dockerID, name string, value []byte, createdBy string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO secret_escrow (docker_id, name, value, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		dockerID, name, s.keys.Seal(value, escrowContext(dockerID)), createdBy, formatTime(s.now()))
	if err != nil {
		return fmt.Errorf("escrow secret %s: %w", name, err)
	}
	return nil
}

// EscrowedSecret returns the value kept for a secret.
func (s *Store) EscrowedSecret(ctx context.Context, dockerID string) ([]byte, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM secret_escrow WHERE docker_id = ?`, dockerID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("escrowed secret %s: %w", dockerID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load escrowed secret: %w", err)
	}
	return s.keys.Open(sealed, escrowContext(dockerID))
}

// EscrowedIDs reports the ids of the secrets Berth holds a copy of.
func (s *Store) EscrowedIDs(ctx context.Context) (map[string]bool, error) {
	return s.idSet(ctx, `SELECT docker_id FROM secret_escrow`, "list escrow")
}

// idSet runs a query of one text column and returns its values as a set.
func (s *Store) idSet(ctx context.Context, query, what string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// DropEscrow forgets a secret's copy once the secret is deleted.
func (s *Store) DropEscrow(ctx context.Context, dockerID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM secret_escrow WHERE docker_id = ?`, dockerID); err != nil {
		return fmt.Errorf("drop escrowed secret: %w", err)
	}
	return nil
}
