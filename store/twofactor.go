package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/berthhq/berth/store/totp"
)

// recoveryCodeCount is how many single-use recovery codes enrolment hands out.
const recoveryCodeCount = 10

func totpContext(userID int64) string { return fmt.Sprintf("user:%d:totp", userID) }

// BeginTOTP creates a new pending authenticator secret for the user and returns it for the QR code.
func (s *Store) BeginTOTP(ctx context.Context, userID int64) ([]byte, error) {
	secret := totp.NewSecret()
	sealed := s.keys.Seal(secret, totpContext(userID))
	if err := s.updateUser(ctx, userID, `totp_pending = ?`, sealed); err != nil {
		return nil, err
	}
	return secret, nil
}

// PendingTOTP returns the secret of an enrolment in progress.
func (s *Store) PendingTOTP(ctx context.Context, userID int64) ([]byte, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT totp_pending FROM users WHERE id = ?`, userID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && sealed == nil) {
		return nil, fmt.Errorf("pending two-factor enrolment: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load pending two-factor secret: %w", err)
	}
	return s.keys.Open(sealed, totpContext(userID))
}

// ErrBadCode means the authenticator or recovery code did not match.
var ErrBadCode = errors.New("the code is not valid")

// ConfirmTOTP turns on two-factor once the user proves their app shows the right
// code, and returns fresh recovery codes (shown once, stored hashed).
func (s *Store) ConfirmTOTP(ctx context.Context, userID int64, code string) ([]string, error) {
	secret, err := s.PendingTOTP(ctx, userID)
	if err != nil {
		return nil, err
	}
	step, ok := totp.Verify(secret, code, s.now(), 0)
	if !ok {
		return nil, ErrBadCode
	}
	codes := make([]string, recoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = ?, updated_at = ? WHERE id = ?`,
			step, formatTime(s.now()), userID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, c := range codes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, s.keys.Hash(normalizeRecovery(c))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("turn on two-factor for user %d: %w", userID, err)
	}
	return codes, nil
}

// DisableTOTP turns two-factor off for a user and drops their recovery codes.
func (s *Store) DisableTOTP(ctx context.Context, userID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = 0, updated_at = ? WHERE id = ?`, formatTime(s.now()), userID); err != nil {
			return fmt.Errorf("turn off two-factor: %w", err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID)
		return err
	})
}

// CheckSecondFactor accepts a current authenticator code (once) or an unused recovery code (once).
func (s *Store) CheckSecondFactor(ctx context.Context, userID int64, code string) error {
	var sealed []byte
	var last int64
	err := s.db.QueryRowContext(ctx, `SELECT totp_secret, totp_last_step FROM users WHERE id = ?`, userID).Scan(&sealed, &last)
	if err != nil {
		return fmt.Errorf("load two-factor secret: %w", err)
	}
	if sealed == nil {
		return nil
	}
	secret, err := s.keys.Open(sealed, totpContext(userID))
	if err != nil {
		return fmt.Errorf("open two-factor secret: %w", err)
	}
	if step, ok := totp.Verify(secret, code, s.now(), last); ok {
		// Recording the step only if it is still newer makes concurrent reuse fail too.
		res, err := s.db.ExecContext(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)
		if err != nil {
			return fmt.Errorf("record two-factor use: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		return ErrBadCode
	}
	res, err := s.db.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		formatTime(s.now()), userID, s.keys.Hash(normalizeRecovery(code)))
	if err != nil {
		return fmt.Errorf("use recovery code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	return ErrBadCode
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

// recoveryAlphabet avoids characters that are easy to misread.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

func newRecoveryCode() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = recoveryAlphabet[int(b[i])%len(recoveryAlphabet)]
	}
	return string(b[:5]) + "-" + string(b[5:])
}

func normalizeRecovery(code string) string {
	return strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
}
