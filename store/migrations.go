package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order, each in its own transaction; never edit a published one.
var migrations = []string{
	// 1: accounts, sessions, tokens, audit, settings.
	`CREATE TABLE users (
		id INTEGER PRIMARY KEY,
		username TEXT NOT NULL UNIQUE COLLATE NOCASE,
		password_hash TEXT NOT NULL,
		role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
		disabled INTEGER NOT NULL DEFAULT 0,
		session_epoch INTEGER NOT NULL DEFAULT 1,
		totp_secret BLOB,
		totp_pending BLOB,
		totp_last_step INTEGER NOT NULL DEFAULT 0,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);
	CREATE TABLE recovery_codes (
		id INTEGER PRIMARY KEY,
		user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		code_hash TEXT NOT NULL,
		used_at TEXT
	);
	CREATE INDEX recovery_codes_user ON recovery_codes(user_id);
	CREATE TABLE api_tokens (
		id INTEGER PRIMARY KEY,
		user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		name TEXT NOT NULL,
		token_hash TEXT NOT NULL UNIQUE,
		prefix TEXT NOT NULL,
		created_at TEXT NOT NULL,
		last_used_at TEXT,
		revoked_at TEXT
	);
	CREATE INDEX api_tokens_user ON api_tokens(user_id);
	CREATE TABLE audit_log (
		id INTEGER PRIMARY KEY,
		at TEXT NOT NULL,
		actor TEXT NOT NULL,
		role TEXT NOT NULL,
		source TEXT NOT NULL,
		via TEXT NOT NULL,
		action TEXT NOT NULL,
		object TEXT NOT NULL,
		outcome TEXT NOT NULL,
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX audit_log_at ON audit_log(at);
	CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
		BEGIN SELECT RAISE(ABORT, 'audit records cannot be changed'); END;
	CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
		BEGIN SELECT RAISE(ABORT, 'audit records cannot be deleted'); END;
	CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
	CREATE TABLE setup_tokens (
		token_hash TEXT PRIMARY KEY,
		created_at TEXT NOT NULL,
		expires_at TEXT NOT NULL,
		used_at TEXT
	);
	CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL);
	CREATE INDEX sessions_expiry ON sessions(expiry);`,

	// 2: registry credentials, secret escrow, volume mappings.
	`CREATE TABLE registry_credentials (
		id INTEGER PRIMARY KEY,
		user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		url TEXT NOT NULL,
		username TEXT NOT NULL,
		password BLOB NOT NULL,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL,
		UNIQUE (user_id, url)
	);
	CREATE TABLE secret_escrow (
		docker_id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		value BLOB NOT NULL,
		created_by TEXT NOT NULL,
		created_at TEXT NOT NULL
	);
	CREATE INDEX secret_escrow_name ON secret_escrow(name);
	CREATE TABLE volume_mappings (
		name TEXT PRIMARY KEY,
		created_by TEXT NOT NULL,
		created_at TEXT NOT NULL
	);`,

	// 3: per-service webhooks.
	`CREATE TABLE webhooks (
		service_id TEXT PRIMARY KEY,
		service_name TEXT NOT NULL,
		token_hash TEXT NOT NULL UNIQUE,
		user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		created_at TEXT NOT NULL,
		last_used_at TEXT
	);`,

	// 4: sealed terminal session recordings (asciicast v2).
	`CREATE TABLE terminal_recordings (
		id INTEGER PRIMARY KEY,
		actor TEXT NOT NULL,
		container TEXT NOT NULL,
		service TEXT NOT NULL,
		node TEXT NOT NULL,
		started_at TEXT NOT NULL,
		ended_at TEXT NOT NULL,
		exit_code INTEGER NOT NULL,
		truncated INTEGER NOT NULL DEFAULT 0,
		cast_data BLOB NOT NULL
	);`,

	// 5: backup runs, pinned snapshots, and how each mapping is backed up.
	`CREATE TABLE backup_runs (
		id TEXT PRIMARY KEY,
		trigger TEXT NOT NULL,
		started_at TEXT NOT NULL,
		finished_at TEXT,
		status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
		error TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE backup_pins (id TEXT PRIMARY KEY, pinned_by TEXT NOT NULL, pinned_at TEXT NOT NULL);
	ALTER TABLE volume_mappings ADD COLUMN backup_mode TEXT NOT NULL DEFAULT 'live' CHECK (backup_mode IN ('live', 'stop'));`,
	// 6: stacks deployed from compose files; their text is sealed (it may carry values).
	`CREATE TABLE stacks (
		name TEXT PRIMARY KEY,
		compose BLOB NOT NULL,
		env BLOB NOT NULL,
		owner_id INTEGER NOT NULL REFERENCES users(id),
		created_at TEXT NOT NULL,
		updated_by TEXT NOT NULL,
		updated_at TEXT NOT NULL,
		revision INTEGER NOT NULL DEFAULT 1
	);`,
	// 7: alert channels (settings sealed), alerts, and their deliveries (pending ones survive a restart).
	`CREATE TABLE alert_channels (
		id INTEGER PRIMARY KEY,
		kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
		name TEXT NOT NULL,
		settings BLOB NOT NULL,
		created_by TEXT NOT NULL,
		created_at TEXT NOT NULL
	);
	CREATE TABLE alerts (
		id INTEGER PRIMARY KEY,
		kind TEXT NOT NULL,
		object TEXT NOT NULL,
		title TEXT NOT NULL,
		detail TEXT NOT NULL DEFAULT '',
		opened_at TEXT NOT NULL,
		resolved_at TEXT,
		last_sent_at TEXT,
		acked_by TEXT NOT NULL DEFAULT '',
		acked_at TEXT
	);
	CREATE INDEX alerts_open ON alerts (kind, object) WHERE resolved_at IS NULL;
	CREATE TABLE alert_deliveries (
		id INTEGER PRIMARY KEY,
		alert_id INTEGER NOT NULL REFERENCES alerts(id),
		channel_id INTEGER NOT NULL,
		channel_name TEXT NOT NULL,
		event TEXT NOT NULL CHECK (event IN ('open', 'repeat', 'resolved', 'test')),
		state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
		attempts INTEGER NOT NULL DEFAULT 0,
		next_at TEXT NOT NULL,
		last_error TEXT NOT NULL DEFAULT '',
		sent_at TEXT
	);
	CREATE INDEX alert_deliveries_due ON alert_deliveries (next_at) WHERE state = 'pending';`,
	// 8: the off-site bucket (settings sealed), backup keys (sealed), each snapshot's copy, restore drills.
	`CREATE TABLE offsite_target (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		settings BLOB NOT NULL,
		updated_by TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);
	CREATE TABLE backup_keys (
		id TEXT PRIMARY KEY,
		sealed BLOB NOT NULL,
		created_by TEXT NOT NULL,
		created_at TEXT NOT NULL,
		retired_at TEXT
	);
	CREATE TABLE offsite_copies (
		snapshot_id TEXT PRIMARY KEY,
		state TEXT NOT NULL CHECK (state IN ('pending', 'copying', 'copied', 'failed')),
		attempts INTEGER NOT NULL DEFAULT 0,
		next_at TEXT NOT NULL,
		bytes INTEGER NOT NULL DEFAULT 0,
		error TEXT NOT NULL DEFAULT '',
		copied_at TEXT,
		key_id TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE restore_drills (
		id INTEGER PRIMARY KEY,
		snapshot_id TEXT NOT NULL,
		source TEXT NOT NULL CHECK (source IN ('local', 'offsite')),
		trigger TEXT NOT NULL,
		started_at TEXT NOT NULL,
		finished_at TEXT,
		status TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed')),
		volumes INTEGER NOT NULL DEFAULT 0,
		files INTEGER NOT NULL DEFAULT 0,
		bytes INTEGER NOT NULL DEFAULT 0,
		detail TEXT NOT NULL DEFAULT ''
	);`,
	// 9: services' and nodes' resource use, at three resolutions (swarm/metrics keeps them bounded); a node's
	// host_memory and disk_used are its whole memory and data-root disk in use.
	`CREATE TABLE resource_samples (
		kind TEXT NOT NULL CHECK (kind IN ('service', 'node')),
		name TEXT NOT NULL,
		step INTEGER NOT NULL,
		t INTEGER NOT NULL,
		cpu REAL NOT NULL,
		memory INTEGER NOT NULL,
		memory_limit INTEGER NOT NULL DEFAULT 0,
		net_rx REAL NOT NULL DEFAULT 0,
		net_tx REAL NOT NULL DEFAULT 0,
		block_read REAL NOT NULL DEFAULT 0,
		block_write REAL NOT NULL DEFAULT 0,
		host_memory INTEGER NOT NULL DEFAULT 0,
		disk_used INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (kind, name, step, t)
	) WITHOUT ROWID;`,
	// 10: the last image-update check of each service that follows a tag: which digests its tasks run,
	// which the tag points at, and since when Berth has seen it there.
	`CREATE TABLE image_checks (
		service_id TEXT PRIMARY KEY,
		service TEXT NOT NULL,
		tagged TEXT NOT NULL,
		running TEXT NOT NULL DEFAULT '',
		latest TEXT NOT NULL DEFAULT '',
		latest_seen_at TEXT,
		checked_at TEXT NOT NULL,
		error TEXT NOT NULL DEFAULT ''
	);`,
	// 11: nodes an admin asked to remove once they are down (drained meanwhile), and who asked from where.
	`CREATE TABLE node_removals (
		node_id TEXT PRIMARY KEY,
		hostname TEXT NOT NULL,
		actor TEXT NOT NULL,
		role TEXT NOT NULL,
		source TEXT NOT NULL,
		via TEXT NOT NULL,
		asked_at TEXT NOT NULL
	);`,
	// 12: team members who sign in through the identity provider: its issuer and their subject there
	// (no password of Berth's), and the refresh token of their last sign-in, sealed, for re-checks.
	`ALTER TABLE users ADD COLUMN sso_subject TEXT;
	ALTER TABLE users ADD COLUMN sso_refresh BLOB;
	CREATE UNIQUE INDEX users_sso_subject ON users (sso_subject) WHERE sso_subject IS NOT NULL;`,
}

// migrate applies the migrations the schema_version table does not record yet.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	var current int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	for i := current; i < len(migrations); i++ {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, i+1)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %d: %w", i+1, err)
		}
	}
	return nil
}
