package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Setting keys.
const (
	SettingRequire2FA       = "require_2fa"
	SettingRecordTerminals  = "record_terminals"
	SettingTerminalIdleMins = "terminal_idle_minutes"
	SettingTerminalMaxHours = "terminal_max_hours"
	SettingUploadLimitGB    = "upload_limit_gb"
	SettingPublicAddress    = "public_address"     // the manager's public IP address, for DNS checks
	SettingDNSBlocking      = "dns_check_blocking" // refuse mappings whose DNS does not point here
	SettingBackupMinutes    = "backup_interval_minutes"
	SettingDrillSchedule    = "restore_drill_schedule" // off, daily, weekly
	SettingDrillSource      = "restore_drill_source"   // local, offsite
)

// DomainChecks are the settings of the DNS check on domain mappings.
type DomainChecks struct {
	PublicAddress string
	Blocking      bool
}

// DomainChecks reads the DNS check settings.
func (s *Store) DomainChecks(ctx context.Context) (DomainChecks, error) {
	addr, err := s.Setting(ctx, SettingPublicAddress, "")
	if err != nil {
		return DomainChecks{}, err
	}
	blocking, err := s.Setting(ctx, SettingDNSBlocking, "false")
	if err != nil {
		return DomainChecks{}, err
	}
	return DomainChecks{PublicAddress: addr, Blocking: blocking == "true"}, nil
}

// UploadLimit is the largest upload accepted, 10 GB unless set.
func (s *Store) UploadLimit(ctx context.Context) (int64, error) {
	v, err := s.Setting(ctx, SettingUploadLimitGB, "10")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		n = 10
	}
	return int64(n) << 30, nil
}

// TerminalSettings are the limits and recording of web terminals.
type TerminalSettings struct {
	Record      bool
	IdleTimeout time.Duration
	MaxSession  time.Duration
}

// Terminal returns the terminal settings, with defaults of 15 minutes idle and 8 hours at most.
func (s *Store) Terminal(ctx context.Context) (TerminalSettings, error) {
	t := TerminalSettings{IdleTimeout: 15 * time.Minute, MaxSession: 8 * time.Hour}
	rec, err := s.Setting(ctx, SettingRecordTerminals, "false")
	if err != nil {
		return t, err
	}
	t.Record = rec == "true"
	if v, err := s.Setting(ctx, SettingTerminalIdleMins, ""); err == nil && v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			t.IdleTimeout = time.Duration(n) * time.Minute
		}
	}
	if v, err := s.Setting(ctx, SettingTerminalMaxHours, ""); err == nil && v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			t.MaxSession = time.Duration(n) * time.Hour
		}
	}
	return t, nil
}

// Setting returns a setting's value, or def when it was never set.
func (s *Store) Setting(ctx context.Context, key, def string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting stores a setting's value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	return nil
}

// Require2FA reports whether every user must have two-factor turned on.
func (s *Store) Require2FA(ctx context.Context) (bool, error) {
	v, err := s.Setting(ctx, SettingRequire2FA, "false")
	return v == "true", err
}
