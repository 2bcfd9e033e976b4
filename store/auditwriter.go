package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// auditBatchMost bounds how many records one transaction of the audit writer holds.
const auditBatchMost = 256

// auditWrite is one record waiting for the audit writer, and where its outcome goes.
type auditWrite struct {
	record AuditRecord
	done   chan error
}

// auditWriter appends the audit records handed to it, all that are waiting in one
// transaction, so many requests audited at once share a commit instead of queueing
// on SQLite's write lock; each caller still returns only once its record is written.
type auditWriter struct {
	queue   chan auditWrite
	closing chan struct{}
	stopped chan struct{}
	stop    *sync.Once
}

func (s *Store) startAuditWriter() {
	s.audits = auditWriter{queue: make(chan auditWrite), closing: make(chan struct{}), stopped: make(chan struct{}), stop: &sync.Once{}}
	go s.writeAudits()
}

// stopAuditWriter lets the record being written finish and refuses later ones.
func (s *Store) stopAuditWriter() {
	s.audits.stop.Do(func() { close(s.audits.closing) })
	<-s.audits.stopped
}

// appendAudit hands a record to the writer and waits until it is committed.
func (s *Store) appendAudit(r AuditRecord) error {
	w := auditWrite{record: r, done: make(chan error, 1)}
	select {
	case s.audits.queue <- w:
		return <-w.done
	case <-s.audits.closing:
		return fmt.Errorf("write audit record %s: the database is closed", r.Action)
	}
}

func (s *Store) writeAudits() {
	defer close(s.audits.stopped)
	for {
		var batch []auditWrite
		select {
		case w := <-s.audits.queue:
			batch = append(batch, w)
		case <-s.audits.closing:
			return
		}
	gather:
		for len(batch) < auditBatchMost {
			select {
			case w := <-s.audits.queue:
				batch = append(batch, w)
			default:
				break gather
			}
		}
		s.commitAudits(batch)
	}
}

// commitAudits writes a batch in one transaction; if it fails, each record is tried
// alone so one bad record cannot lose the others.
func (s *Store) commitAudits(batch []auditWrite) {
	err := s.inTx(context.Background(), func(tx *sql.Tx) error {
		for _, w := range batch {
			if err := s.insertAudit(tx, w.record); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, w := range batch {
			w.done <- err
		}
		return
	}
	for _, w := range batch {
		w.done <- s.inTx(context.Background(), func(tx *sql.Tx) error { return s.insertAudit(tx, w.record) })
	}
}

func (s *Store) insertAudit(tx *sql.Tx, r AuditRecord) error {
	_, err := tx.Exec(`INSERT INTO audit_log (at, actor, role, source, via, action, object, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		formatTime(s.now()), r.Actor, r.Role, r.Source, r.Via, r.Action, r.Object, r.Outcome, r.Detail)
	if err != nil {
		return fmt.Errorf("write audit record %s: %w", r.Action, err)
	}
	return nil
}
