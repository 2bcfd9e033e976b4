package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// APIToken is a user's token for the JSON API; only its hash is stored.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// tokenPrefix marks Berth's API tokens so secret scanners can recognise them.
const tokenPrefix = "berth_"

// ValidateTokenName returns a message saying what is wrong with a token label, or "".
func ValidateTokenName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "Name the token after what will use it, for example \"ci-pipeline\"."
	case len(name) > 64:
		return "Use at most 64 characters."
	}
	return ""
}

// CreateAPIToken makes a token for the user and returns it in clear, the only time it is available.
func (s *Store) CreateAPIToken(ctx context.Context, userID int64, name string) (string, APIToken, error) {
	name = strings.TrimSpace(name)
	if msg := ValidateTokenName(name); msg != "" {
		return "", APIToken{}, errors.New(msg)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", APIToken{}, err
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := formatTime(s.now())
	res, err := s.db.ExecContext(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)`,
		userID, name, s.keys.Hash(token), token[:len(tokenPrefix)+6], now)
	if err != nil {
		return "", APIToken{}, fmt.Errorf("create API token: %w", err)
	}
	id, _ := res.LastInsertId()
	return token, APIToken{ID: id, UserID: userID, Name: name, Prefix: token[:len(tokenPrefix)+6], CreatedAt: parseTime(now)}, nil
}

// UserByAPIToken returns the owner of a live token and records its use.
func (s *Store) UserByAPIToken(ctx context.Context, token string) (User, APIToken, error) {
	var t APIToken
	var created string
	var lastUsed sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT id, user_id, name, prefix, created_at, last_used_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL`,
		s.keys.Hash(token)).Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &created, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, APIToken{}, fmt.Errorf("API token: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, APIToken{}, fmt.Errorf("look up API token: %w", err)
	}
	t.CreatedAt = parseTime(created)
	now := s.now()
	// Record use at most once a minute so reads do not turn into a write each.
	if nullTime(lastUsed).Before(now.Add(-time.Minute)) {
		if _, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, formatTime(now), t.ID); err != nil {
			return User{}, APIToken{}, fmt.Errorf("record API token use: %w", err)
		}
		t.LastUsedAt = now
	}
	u, err := s.User(ctx, t.UserID)
	return u, t, err
}

// APITokens lists a user's tokens, newest first, revoked ones included.
func (s *Store) APITokens(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = ? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		var created string
		var used, revoked sql.NullString
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &created, &used, &revoked); err != nil {
			return nil, fmt.Errorf("list API tokens: %w", err)
		}
		t.CreatedAt, t.LastUsedAt, t.RevokedAt = parseTime(created), nullTime(used), nullTime(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken revokes one of the user's own tokens; another user's token is not found.
func (s *Store) RevokeAPIToken(ctx context.Context, userID, tokenID int64) (APIToken, error) {
	var t APIToken
	err := s.db.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL RETURNING id, name, prefix`,
		formatTime(s.now()), tokenID, userID).Scan(&t.ID, &t.Name, &t.Prefix)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, fmt.Errorf("API token %d: %w", tokenID, ErrNotFound)
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("revoke API token: %w", err)
	}
	return t, nil
}

// RevokeAllAPITokens revokes every live token of the user (an admin's password or
// two-factor reset), returning how many were revoked.
func (s *Store) RevokeAllAPITokens(ctx context.Context, userID int64) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, formatTime(s.now()), userID)
	if err != nil {
		return 0, fmt.Errorf("revoke the API tokens of user %d: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
