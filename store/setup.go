package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// SetupTokenLifetime is how long a first-start setup link stays valid.
const SetupTokenLifetime = 24 * time.Hour

// Setup-token failures, each with a message a person can act on.
var (
	ErrSetupTokenUnknown = errors.New("this setup link is not valid: use the newest link from Berth's log")
	ErrSetupTokenExpired = errors.New("this setup link has expired: restart Berth to print a new one")
	ErrSetupTokenUsed    = errors.New("this setup link was already used: sign in instead")
	ErrSetupDone         = errors.New("Berth already has users: sign in instead")
)

// NewSetupToken replaces any earlier setup token with a new one and returns it in clear.
func (s *Store) NewSetupToken(ctx context.Context) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE setup_tokens SET expires_at = ? WHERE used_at IS NULL AND expires_at > ?`, formatTime(now), formatTime(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)`,
			s.keys.Hash(token), formatTime(now), formatTime(now.Add(SetupTokenLifetime)))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create setup token: %w", err)
	}
	return token, nil
}

// CheckSetupToken says whether a setup token may still create the first admin.
func (s *Store) CheckSetupToken(ctx context.Context, token string) error {
	return s.checkSetupToken(ctx, s.db, token)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) checkSetupToken(ctx context.Context, q queryer, token string) error {
	var expires string
	var used sql.NullString
	err := q.QueryRowContext(ctx, `SELECT expires_at, used_at FROM setup_tokens WHERE token_hash = ?`, s.keys.Hash(token)).Scan(&expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrSetupTokenUnknown
	case err != nil:
		return fmt.Errorf("check setup token: %w", err)
	case used.Valid:
		return ErrSetupTokenUsed
	case !s.now().Before(parseTime(expires)):
		return ErrSetupTokenExpired
	}
	var users int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if users > 0 {
		return ErrSetupDone
	}
	return nil
}

// CreateFirstAdmin uses the setup token, once, to create the first admin.
func (s *Store) CreateFirstAdmin(ctx context.Context, token, username, password string) (User, error) {
	if msg := ValidateUsername(username); msg != "" {
		return User{}, errors.New(msg)
	}
	if msg := ValidatePassword(username, password); msg != "" {
		return User{}, errors.New(msg)
	}
	hash, err := hashPassword(ctx, password)
	if err != nil {
		return User{}, err
	}
	var id int64
	// One immediate transaction: two concurrent requests cannot both pass the check.
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkSetupToken(ctx, tx, token); err != nil {
			return err
		}
		now := formatTime(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE setup_tokens SET used_at = ? WHERE token_hash = ?`, now, s.keys.Hash(token)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO users (username, password_hash, role, created_at, updated_at) VALUES (?, ?, 'admin', ?, ?)`,
			username, hash, now, now)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return s.User(ctx, id)
}
