package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// UserExport is a member as a snapshot keeps them: the password's hash (never the
// password) and the two-factor secret opened, for the snapshot to seal with its own context.
type UserExport struct {
	Username     string `json:"username"`
	Role         Role   `json:"role"`
	Disabled     bool   `json:"disabled"`
	PasswordHash string `json:"-"`
	TOTPSecret   []byte `json:"-"`
	SSOSubject   string `json:"sso_subject,omitempty"` // a provider user (no password here)
}

// ExportUsers returns every member for a snapshot.
func (s *Store) ExportUsers(ctx context.Context) ([]UserExport, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, username, role, disabled, password_hash, totp_secret, COALESCE(sso_subject, '') FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("export users: %w", err)
	}
	defer rows.Close()
	var out []UserExport
	for rows.Next() {
		var u UserExport
		var id int64
		var sealed []byte
		if err := rows.Scan(&id, &u.Username, &u.Role, &u.Disabled, &u.PasswordHash, &sealed, &u.SSOSubject); err != nil {
			return nil, fmt.Errorf("export users: %w", err)
		}
		if sealed != nil {
			if u.TOTPSecret, err = s.keys.Open(sealed, totpContext(id)); err != nil {
				return nil, fmt.Errorf("export user %s: %w", u.Username, err)
			}
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// ImportUser adds a member from a snapshot (their password and two-factor as they
// were); ErrUsernameTaken when a member of that name exists here.
func (s *Store) ImportUser(ctx context.Context, u UserExport) error {
	if ValidateUsername(u.Username) != "" || !u.Role.Valid() || (u.SSOSubject == "" && !strings.HasPrefix(u.PasswordHash, "$argon2id$")) {
		return fmt.Errorf("import user %q: not a valid member record", u.Username)
	}
	var subject any
	if u.SSOSubject != "" {
		subject, u.PasswordHash = u.SSOSubject, ""
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := formatTime(s.now())
		res, err := tx.ExecContext(ctx, `INSERT INTO users (username, password_hash, role, disabled, sso_subject, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.Username, u.PasswordHash, u.Role, u.Disabled, subject, now, now)
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return ErrUsernameTaken
			}
			return fmt.Errorf("import user %s: %w", u.Username, err)
		}
		if u.TOTPSecret == nil {
			return nil
		}
		id, _ := res.LastInsertId()
		_, err = tx.ExecContext(ctx, `UPDATE users SET totp_secret = ? WHERE id = ?`, s.keys.Seal(u.TOTPSecret, totpContext(id)), id)
		return err
	})
}

// AllSettings returns every setting that was set.
func (s *Store) AllSettings(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("list settings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// ImportSetting sets a setting from a snapshot unless this Berth has set it already; it says whether it did.
func (s *Store) ImportSetting(ctx context.Context, key, value string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)`, key, value)
	if err != nil {
		return false, fmt.Errorf("import setting %s: %w", key, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ImportAuditRecords appends records from another Berth's log with their own times,
// marked as imported, skipping those already here; it returns how many it added.
func (s *Store) ImportAuditRecords(ctx context.Context, recs []AuditRecord, from string) (int, error) {
	added := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, r := range recs {
			detail := strings.TrimSpace(r.Detail + " [imported from " + from + "]")
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM audit_log WHERE at = ? AND actor = ? AND action = ? AND object = ? AND detail = ?`,
				formatTime(r.At), r.Actor, r.Action, r.Object, detail).Scan(&one)
			if err == nil {
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, role, source, via, action, object, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				formatTime(r.At), r.Actor, r.Role, r.Source, r.Via, r.Action, r.Object, r.Outcome, detail); err != nil {
				return err
			}
			added++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("import audit records: %w", err)
	}
	return added, nil
}
