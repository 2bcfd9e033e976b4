package backup

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// Snapshot is a complete snapshot with its retention tier.
type Snapshot struct {
	Manifest
	Tier      string
	Pinned    bool
	Signature string // the manifest's keyed checksum
	Problem   string // set when the manifest cannot be read or its signature does not match
}

// cachedSnapshot is a checked manifest with the stamp of the files it was read from.
type cachedSnapshot struct {
	stamp string
	snap  Snapshot
}

// Load reads and checks one snapshot's manifest; an unchanged one (same stamp) is
// not read and checked again, as the backups page polls the list.
func (r *Runner) Load(id string) (Snapshot, error) {
	stamp, err := r.Target.Stamp(id)
	if err != nil {
		return Snapshot{Manifest: Manifest{ID: id}}, fmt.Errorf("snapshot %s: %w", id, err)
	}
	if c, ok := r.loaded.Load(id); ok && c.(cachedSnapshot).stamp == stamp {
		return c.(cachedSnapshot).snap, nil
	}
	s, err := r.load(id)
	if err == nil {
		r.loaded.Store(id, cachedSnapshot{stamp: stamp, snap: s})
	}
	return s, err
}

// load reads a snapshot's manifest and checks its signature.
func (r *Runner) load(id string) (Snapshot, error) {
	s := Snapshot{Manifest: Manifest{ID: id}}
	raw, err := r.readAll(id, manifestFile)
	if err != nil {
		return s, err
	}
	sig, err := r.readAll(id, signatureFile)
	if err != nil {
		return s, err
	}
	s.Signature = string(sig)
	if !r.trusts(id, raw, sig) {
		s.Problem = "the manifest was changed after the snapshot was taken (its signature does not match)"
		return s, nil
	}
	if err := json.Unmarshal(raw, &s.Manifest); err != nil {
		s.Problem = "the manifest is unreadable: " + err.Error()
	}
	return s, nil
}

// trusts checks a manifest's signature with Berth's key, or as the keys say when they
// check it another way (a bucket's copy read on another Berth).
func (r *Runner) trusts(id string, raw, sig []byte) bool {
	if k, ok := r.Keys.(interface {
		Trusts(id string, manifest, sig []byte) bool
	}); ok {
		return k.Trusts(id, raw, sig)
	}
	return hmac.Equal([]byte(r.Keys.Hash(string(raw))), sig)
}

func (r *Runner) readAll(id, name string) ([]byte, error) {
	f, err := r.Target.Open(id, name)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", id, err)
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<20))
}

// Snapshots lists complete snapshots, newest first, with the tier that keeps each.
func (r *Runner) Snapshots(ctx context.Context) ([]Snapshot, error) {
	ids, err := r.Target.List()
	if err != nil {
		return nil, err
	}
	pinned, err := r.Vault.Pinned(ctx)
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	var snaps []Snap
	for _, id := range ids {
		s, err := r.Load(id)
		if err != nil {
			s.Problem = err.Error()
		}
		s.Pinned = pinned[id]
		out = append(out, s)
		snaps = append(snaps, Snap{ID: id, At: s.Started, Pinned: s.Pinned})
	}
	keep := Retain(snaps, r.Now())
	for i := range out {
		out[i].Tier = keep[out[i].ID]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// prune deletes the snapshots retention no longer keeps and returns their ids.
func (r *Runner) prune(ctx context.Context) ([]string, error) {
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, s := range snaps {
		if s.Tier == "" && s.Problem == "" {
			if err := r.Target.Remove(s.ID); err != nil {
				return gone, err
			}
			r.loaded.Delete(s.ID)
			gone = append(gone, s.ID)
		}
	}
	return gone, nil
}

// Mismatch is a file of a snapshot whose checksum is not the recorded one.
type Mismatch struct {
	File string `json:"file"`
	Want string `json:"recorded"`
	Got  string `json:"now"`
}

// Verify recomputes every archive's checksum (and the manifest's signature) and reports mismatches.
func (r *Runner) Verify(ctx context.Context, id string) ([]Mismatch, error) {
	s, err := r.Load(id)
	if err != nil {
		return nil, err
	}
	if s.Problem != "" {
		return []Mismatch{{File: manifestFile, Want: "a signed manifest", Got: s.Problem}}, nil
	}
	var bad []Mismatch
	for _, v := range s.Volumes {
		got, _, err := r.checksum(ctx, id, v.File)
		if err != nil {
			got = "unreadable: " + err.Error()
		}
		if got != v.SHA256 {
			bad = append(bad, Mismatch{File: v.File, Want: v.SHA256, Got: got})
		}
	}
	return bad, nil
}

// checksum reads a snapshot file through and returns its SHA-256 and size.
func (r *Runner) checksum(ctx context.Context, id, name string) (string, int64, error) {
	f, err := r.Target.Open(id, name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, &ctxReader{ctx: ctx, r: f})
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// ctxReader stops a long read when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
