package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AuditRecord is one entry of the append-only audit log.
type AuditRecord struct {
	ID      int64
	At      time.Time
	Actor   string // username, or "setup" / "system"
	Role    string
	Source  string // client address, or "cli"
	Via     string // ui, api, webhook, cli, system
	Action  string // for example "user.create"
	Object  string // what was acted on, for example "user:alice"
	Outcome string // "ok", or "denied: ..." / "failed: ..."
	Detail  string
}

// Audit appends a record, stamped with the time it is written, and returns once it is committed.
func (s *Store) Audit(ctx context.Context, r AuditRecord) error {
	if r.Outcome == "" {
		r.Outcome = "ok"
	}
	return s.appendAudit(r)
}

// AuditFilter narrows the audit listing; zero fields do not filter.
type AuditFilter struct {
	Actor  string
	Action string // prefix, so "user." matches every user action
	Object string // substring
	From   time.Time
	To     time.Time // exclusive
	Before int64     // id cursor for the next page
	Limit  int
}

// AuditRecords lists matching records, newest first.
func (s *Store) AuditRecords(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	var where []string
	var args []any
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Action != "" {
		where, args = append(where, "action LIKE ? ESCAPE '\\'"), append(args, escapeLike(f.Action)+"%")
	}
	if f.Object != "" {
		where, args = append(where, "object LIKE ? ESCAPE '\\'"), append(args, "%"+escapeLike(f.Object)+"%")
	}
	if !f.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, formatTime(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, formatTime(f.To))
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	q := `SELECT id, at, actor, role, source, via, action, object, outcome, detail FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit records: %w", err)
	}
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		var r AuditRecord
		var at string
		if err := rows.Scan(&r.ID, &at, &r.Actor, &r.Role, &r.Source, &r.Via, &r.Action, &r.Object, &r.Outcome, &r.Detail); err != nil {
			return nil, fmt.Errorf("list audit records: %w", err)
		}
		r.At = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
