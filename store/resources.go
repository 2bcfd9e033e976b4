package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ResourceSample is a service's or a node's resource use averaged over Step from T.
type ResourceSample struct {
	Kind        string // service or node
	Name        string
	T           time.Time
	Step        time.Duration
	CPU         float64 // cores
	Memory      int64   // bytes in use
	MemoryLimit int64   // bytes (0: no limit)
	NetRx       float64 // bytes per second
	NetTx       float64
	BlockRead   float64
	BlockWrite  float64
	HostMemory  int64 // a node's: memory in use on the whole node
	DiskUsed    int64 // a node's: bytes in use on the disk of Docker's data root
}

// ResourceTier keeps samples of one resolution for a while; the next tier averages them after.
type ResourceTier struct{ Step, Keep time.Duration }

// SaveResourceSamples adds samples (one reading replaces another of the same series and time).
func (s *Store) SaveResourceSamples(ctx context.Context, samples []ResourceSample) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO resource_samples (kind, name, step, t, cpu, memory, memory_limit, net_rx, net_tx, block_read, block_write, host_memory, disk_used)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("save resource samples: %w", err)
		}
		defer stmt.Close()
		for _, r := range samples {
			if _, err := stmt.ExecContext(ctx, r.Kind, r.Name, int64(r.Step/time.Second), r.T.Unix(), r.CPU, r.Memory, r.MemoryLimit, r.NetRx, r.NetTx, r.BlockRead, r.BlockWrite, r.HostMemory, r.DiskUsed); err != nil {
				return fmt.Errorf("save resource samples: %w", err)
			}
		}
		return nil
	})
}

// DownsampleResources moves every complete bucket of a tier older than its keep into the
// next tier as averages (the peak for limits), and drops what the last tier no longer keeps.
func (s *Store) DownsampleResources(ctx context.Context, now time.Time, tiers []ResourceTier) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for i, tier := range tiers {
			step := int64(tier.Step / time.Second)
			if i == len(tiers)-1 {
				if _, err := tx.ExecContext(ctx, `DELETE FROM resource_samples WHERE step = ? AND t < ?`, step, now.Add(-tier.Keep).Unix()); err != nil {
					return fmt.Errorf("drop old resource samples: %w", err)
				}
				break
			}
			next := int64(tiers[i+1].Step / time.Second)
			cutoff := now.Add(-tier.Keep).Unix() / next * next // only whole buckets move
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO resource_samples (kind, name, step, t, cpu, memory, memory_limit, net_rx, net_tx, block_read, block_write, host_memory, disk_used)
				SELECT kind, name, ?, t / ? * ?, avg(cpu), CAST(avg(memory) AS INTEGER), max(memory_limit), avg(net_rx), avg(net_tx), avg(block_read), avg(block_write),
					CAST(avg(host_memory) AS INTEGER), CAST(avg(disk_used) AS INTEGER)
				FROM resource_samples WHERE step = ? AND t < ? GROUP BY kind, name, t / ?`, next, next, next, step, cutoff, next); err != nil {
				return fmt.Errorf("downsample resource samples: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM resource_samples WHERE step = ? AND t < ?`, step, cutoff); err != nil {
				return fmt.Errorf("downsample resource samples: %w", err)
			}
		}
		return nil
	})
}

// ResourceSamples returns a series from a time on in buckets of step, oldest first: each
// bucket averages the samples of whichever resolution holds that time.
func (s *Store) ResourceSamples(ctx context.Context, kind, name string, step time.Duration, from time.Time) ([]ResourceSample, error) {
	all, err := s.resourceSeries(ctx, kind, name, step, from)
	return all[name], err
}

// ResourceSeries is ResourceSamples for every series of a kind at once, by name.
func (s *Store) ResourceSeries(ctx context.Context, kind string, step time.Duration, from time.Time) (map[string][]ResourceSample, error) {
	return s.resourceSeries(ctx, kind, "", step, from)
}

// resourceSeries reads one series by name, or every series of the kind when name is "".
func (s *Store) resourceSeries(ctx context.Context, kind, name string, step time.Duration, from time.Time) (map[string][]ResourceSample, error) {
	sec := int64(step / time.Second)
	which, args := "", []any{sec, sec, kind, sec, from.Unix()}
	if name != "" { // a condition of its own, so the primary key finds the series
		which, args = "AND name = ?", []any{sec, sec, kind, name, sec, from.Unix()}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name, t / ? * ? AS b, avg(cpu), CAST(avg(memory) AS INTEGER), max(memory_limit), avg(net_rx), avg(net_tx), avg(block_read), avg(block_write),
		CAST(avg(host_memory) AS INTEGER), CAST(avg(disk_used) AS INTEGER)
		FROM resource_samples WHERE kind = ? `+which+` AND step <= ? AND t >= ? GROUP BY name, b ORDER BY name, b`, args...)
	if err != nil {
		return nil, fmt.Errorf("read resource samples: %w", err)
	}
	defer rows.Close()
	out := map[string][]ResourceSample{}
	for rows.Next() {
		r := ResourceSample{Kind: kind, Step: step}
		var t int64
		if err := rows.Scan(&r.Name, &t, &r.CPU, &r.Memory, &r.MemoryLimit, &r.NetRx, &r.NetTx, &r.BlockRead, &r.BlockWrite, &r.HostMemory, &r.DiskUsed); err != nil {
			return nil, fmt.Errorf("read resource samples: %w", err)
		}
		r.T = time.Unix(t, 0).UTC()
		out[r.Name] = append(out[r.Name], r)
	}
	return out, rows.Err()
}

// ResourceSampleCounts counts the samples kept at each resolution, by step in seconds.
func (s *Store) ResourceSampleCounts(ctx context.Context) (map[int64]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT step, count(*) FROM resource_samples GROUP BY step`)
	if err != nil {
		return nil, fmt.Errorf("count resource samples: %w", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var step int64
		var n int
		if err := rows.Scan(&step, &n); err != nil {
			return nil, fmt.Errorf("count resource samples: %w", err)
		}
		out[step] = n
	}
	return out, rows.Err()
}
