package store

import (
	"context"
	"fmt"
	"time"
)

// NodeRemoval is a node an admin asked to remove once it is down.
type NodeRemoval struct {
	NodeID, Hostname string
	Asked            AuditRecord // who asked, with which role, from where and through what
	AskedAt          time.Time
}

// AddNodeRemoval records that the node is to be removed once it is down (asking again keeps the first request).
func (s *Store) AddNodeRemoval(ctx context.Context, r NodeRemoval) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO node_removals (node_id, hostname, actor, role, source, via, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(node_id) DO NOTHING`, r.NodeID, r.Hostname, r.Asked.Actor, r.Asked.Role, r.Asked.Source, r.Asked.Via, formatTime(s.now()))
	if err != nil {
		return fmt.Errorf("record the removal of node %s: %w", r.Hostname, err)
	}
	return nil
}

// NodeRemovals lists the removals waiting for their node to be down.
func (s *Store) NodeRemovals(ctx context.Context) ([]NodeRemoval, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT node_id, hostname, actor, role, source, via, asked_at FROM node_removals ORDER BY asked_at`)
	if err != nil {
		return nil, fmt.Errorf("list node removals: %w", err)
	}
	defer rows.Close()
	var out []NodeRemoval
	for rows.Next() {
		var r NodeRemoval
		var at string
		if err := rows.Scan(&r.NodeID, &r.Hostname, &r.Asked.Actor, &r.Asked.Role, &r.Asked.Source, &r.Asked.Via, &at); err != nil {
			return nil, fmt.Errorf("list node removals: %w", err)
		}
		r.AskedAt = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteNodeRemoval forgets a removal (done, or called off).
func (s *Store) DeleteNodeRemoval(ctx context.Context, nodeID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM node_removals WHERE node_id = ?`, nodeID); err != nil {
		return fmt.Errorf("forget the removal of node %s: %w", nodeID, err)
	}
	return nil
}
