package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// VolumeMapping is a named local volume that services mount; it exists on every node that runs such a task.
type VolumeMapping struct {
	Name      string
	CreatedBy string
	CreatedAt time.Time
}

// ErrMappingExists means a mapping with that name exists.
var ErrMappingExists = errors.New("a volume mapping with this name exists")

// CreateVolumeMapping records a mapping.
func (s *Store) CreateVolumeMapping(ctx context.Context, name, createdBy string) (VolumeMapping, error) {
	now := s.now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO volume_mappings (name, created_by, created_at) VALUES (?, ?, ?)`, name, createdBy, formatTime(now))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return VolumeMapping{}, ErrMappingExists
		}
		return VolumeMapping{}, fmt.Errorf("create volume mapping %s: %w", name, err)
	}
	return VolumeMapping{Name: name, CreatedBy: createdBy, CreatedAt: parseTime(formatTime(now))}, nil
}

// VolumeMappings lists every mapping by name.
func (s *Store) VolumeMappings(ctx context.Context) ([]VolumeMapping, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, created_by, created_at FROM volume_mappings ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list volume mappings: %w", err)
	}
	defer rows.Close()
	var out []VolumeMapping
	for rows.Next() {
		var m VolumeMapping
		var created string
		if err := rows.Scan(&m.Name, &m.CreatedBy, &created); err != nil {
			return nil, fmt.Errorf("list volume mappings: %w", err)
		}
		m.CreatedAt = parseTime(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

// VolumeMapping returns one mapping.
func (s *Store) VolumeMapping(ctx context.Context, name string) (VolumeMapping, error) {
	var m VolumeMapping
	var created string
	err := s.db.QueryRowContext(ctx, `SELECT name, created_by, created_at FROM volume_mappings WHERE name = ?`, name).Scan(&m.Name, &m.CreatedBy, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("volume mapping %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("load volume mapping %s: %w", name, err)
	}
	m.CreatedAt = parseTime(created)
	return m, nil
}

// DeleteVolumeMapping forgets a mapping.
func (s *Store) DeleteVolumeMapping(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM volume_mappings WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete volume mapping %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("volume mapping %s: %w", name, ErrNotFound)
	}
	return nil
}
