package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RegistryCredential is one user's login to a registry (or a namespace in it); the password stays sealed.
type RegistryCredential struct {
	ID        int64
	UserID    int64
	Owner     string // the owner's username, in listings
	URL       string // host[:port][/path], normalised
	Username  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ErrCredentialExists means the user already holds a credential for that URL.
var ErrCredentialExists = errors.New("you already have a credential for this registry URL: replace its password instead")

func registryContext(userID int64, url string) string {
	return fmt.Sprintf("registry:%d:%s", userID, url)
}

// CreateRegistryCredential stores a credential with its password sealed.
func (s *Store) CreateRegistryCredential(ctx context.Context, userID int64, url, username, password string) (RegistryCredential, error) {
	now := formatTime(s.now())
	res, err := s.db.ExecContext(ctx, `INSERT INTO registry_credentials (user_id, url, username, password, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		userID, url, username, s.keys.Seal([]byte(password), registryContext(userID, url)), now, now)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return RegistryCredential{}, ErrCredentialExists
		}
		return RegistryCredential{}, fmt.Errorf("create registry credential: %w", err)
	}
	id, _ := res.LastInsertId()
	return s.RegistryCredential(ctx, userID, id)
}

const credentialColumns = `c.id, c.user_id, u.username, c.url, c.username, c.created_at, c.updated_at`

func scanCredential(row interface{ Scan(...any) error }) (RegistryCredential, error) {
	var c RegistryCredential
	var created, updated string
	err := row.Scan(&c.ID, &c.UserID, &c.Owner, &c.URL, &c.Username, &created, &updated)
	c.CreatedAt, c.UpdatedAt = parseTime(created), parseTime(updated)
	return c, err
}

// RegistryCredential returns one of the user's credentials; another user's is not found.
func (s *Store) RegistryCredential(ctx context.Context, userID, id int64) (RegistryCredential, error) {
	c, err := scanCredential(s.db.QueryRowContext(ctx, `SELECT `+credentialColumns+` FROM registry_credentials c JOIN users u ON u.id = c.user_id WHERE c.id = ? AND c.user_id = ?`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return RegistryCredential{}, fmt.Errorf("registry credential %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return RegistryCredential{}, fmt.Errorf("load registry credential: %w", err)
	}
	return c, nil
}

// RegistryCredentials lists the user's credentials; userID 0 lists everyone's (for admins).
func (s *Store) RegistryCredentials(ctx context.Context, userID int64) ([]RegistryCredential, error) {
	q := `SELECT ` + credentialColumns + ` FROM registry_credentials c JOIN users u ON u.id = c.user_id`
	var args []any
	if userID != 0 {
		q += ` WHERE c.user_id = ?`
		args = append(args, userID)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY u.username, c.url`, args...)
	if err != nil {
		return nil, fmt.Errorf("list registry credentials: %w", err)
	}
	defer rows.Close()
	var out []RegistryCredential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("list registry credentials: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RegistryPassword unseals a credential's password for a login or a pull; it is never shown.
func (s *Store) RegistryPassword(ctx context.Context, c RegistryCredential) (string, error) {
	var sealed []byte
	if err := s.db.QueryRowContext(ctx, `SELECT password FROM registry_credentials WHERE id = ? AND user_id = ?`, c.ID, c.UserID).Scan(&sealed); err != nil {
		return "", fmt.Errorf("load registry password: %w", err)
	}
	plain, err := s.keys.Open(sealed, registryContext(c.UserID, c.URL))
	if err != nil {
		return "", fmt.Errorf("open registry password: %w", err)
	}
	return string(plain), nil
}

// MatchingCredential is the user's credential that pick chooses from their registry URLs,
// with its password unsealed (ok false when pick returns -1 or the user has none).
func (s *Store) MatchingCredential(ctx context.Context, userID int64, pick func(urls []string) int) (c RegistryCredential, password string, ok bool, err error) {
	list, err := s.RegistryCredentials(ctx, userID)
	if err != nil {
		return c, "", false, err
	}
	urls := make([]string, len(list))
	for i, cred := range list {
		urls[i] = cred.URL
	}
	i := pick(urls)
	if i < 0 || i >= len(list) {
		return c, "", false, nil
	}
	password, err = s.RegistryPassword(ctx, list[i])
	return list[i], password, err == nil, err
}

// ReplaceRegistryPassword sets a new username and password on one of the user's credentials.
func (s *Store) ReplaceRegistryPassword(ctx context.Context, userID, id int64, username, password string) (RegistryCredential, error) {
	c, err := s.RegistryCredential(ctx, userID, id)
	if err != nil {
		return c, err
	}
	_, err = s.db.ExecContext(ctx, `UPDATE registry_credentials SET username = ?, password = ?, updated_at = ? WHERE id = ? AND user_id = ?`,
		username, s.keys.Seal([]byte(password), registryContext(userID, c.URL)), formatTime(s.now()), id, userID)
	if err != nil {
		return c, fmt.Errorf("replace registry password: %w", err)
	}
	return s.RegistryCredential(ctx, userID, id)
}

// DeleteRegistryCredential removes one of the user's credentials.
func (s *Store) DeleteRegistryCredential(ctx context.Context, userID, id int64) (RegistryCredential, error) {
	c, err := s.RegistryCredential(ctx, userID, id)
	if err != nil {
		return c, err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM registry_credentials WHERE id = ? AND user_id = ?`, id, userID); err != nil {
		return c, fmt.Errorf("delete registry credential: %w", err)
	}
	return c, nil
}
