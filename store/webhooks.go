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

// Webhook is a service's secret redeploy URL; only the token's hash is stored.
type Webhook struct {
	ServiceID   string
	ServiceName string
	UserID      int64
	Owner       string
	CreatedAt   time.Time
	LastUsedAt  time.Time
}

// SetWebhook creates or regenerates a service's webhook for the user and returns its 256-bit token in clear, once.
func (s *Store) SetWebhook(ctx context.Context, serviceID, serviceName string, userID int64) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhooks (service_id, service_name, token_hash, user_id, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(service_id) DO UPDATE SET service_name = excluded.service_name, token_hash = excluded.token_hash,
		user_id = excluded.user_id, created_at = excluded.created_at, last_used_at = NULL`,
		serviceID, serviceName, s.keys.Hash(token), userID, formatTime(s.now()))
	if err != nil {
		return "", fmt.Errorf("set webhook of %s: %w", serviceName, err)
	}
	return token, nil
}

// WebhookByToken finds the webhook a token belongs to and records its use.
func (s *Store) WebhookByToken(ctx context.Context, token string) (Webhook, error) {
	var w Webhook
	var created string
	var used sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT w.service_id, w.service_name, w.user_id, u.username, w.created_at, w.last_used_at
		FROM webhooks w JOIN users u ON u.id = w.user_id WHERE w.token_hash = ?`, s.keys.Hash(token)).
		Scan(&w.ServiceID, &w.ServiceName, &w.UserID, &w.Owner, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return w, fmt.Errorf("webhook: %w", ErrNotFound)
	}
	if err != nil {
		return w, fmt.Errorf("look up webhook: %w", err)
	}
	w.CreatedAt, w.LastUsedAt = parseTime(created), nullTime(used)
	if _, err := s.db.ExecContext(ctx, `UPDATE webhooks SET last_used_at = ? WHERE service_id = ?`, formatTime(s.now()), w.ServiceID); err != nil {
		return w, fmt.Errorf("record webhook use: %w", err)
	}
	return w, nil
}

// DeleteWebhook revokes a service's webhook; it reports whether there was one.
func (s *Store) DeleteWebhook(ctx context.Context, serviceID string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM webhooks WHERE service_id = ?`, serviceID)
	if err != nil {
		return false, fmt.Errorf("delete webhook: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
