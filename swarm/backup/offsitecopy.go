package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/backup/offsite"
)

// Run copies what is due until ctx ends, looking every interval and whenever a
// snapshot completes; first it puts copies a stopped Berth left half-done back in the queue.
func (o *Offsite) Run(ctx context.Context, every time.Duration) {
	o.poke()
	if n, err := o.St.RestartOffsiteCopies(ctx); err != nil {
		o.Log.Error("restarting interrupted off-site copies", "error", err)
	} else if n > 0 {
		o.Log.Info("off-site copies interrupted by a stop start again", "count", n)
	}
	for {
		if _, err := o.Settings(ctx); err == nil {
			o.CopyDue(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-time.After(every):
		}
	}
}

// CopyDue copies every queued snapshot whose time has come, oldest first, then prunes the bucket.
func (o *Offsite) CopyDue(ctx context.Context) {
	copies, err := o.St.OffsiteCopies(ctx)
	if err != nil {
		o.Log.Error("reading off-site copies", "error", err)
		return
	}
	local, err := o.Local.Target.List()
	if err != nil {
		o.Log.Error("listing snapshots to copy", "error", err)
		return
	}
	here := map[string]bool{}
	for _, id := range local {
		here[id] = true
	}
	for id := range copies { // retention removed it here; the bucket lists its own copies
		if !here[id] {
			if err := o.St.ForgetOffsiteCopy(ctx, id); err != nil {
				o.Log.Error("forgetting a pruned snapshot's copy", "snapshot", id, "error", err)
			}
		}
	}
	copied := false
	for _, id := range local {
		c, ok := copies[id]
		if !ok || c.State == "copied" || c.NextAt.After(time.Now()) {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		o.copyOne(ctx, c)
		copied = true
	}
	if copied {
		if err := o.prune(ctx); err != nil {
			o.Log.Error("pruning the bucket", "error", err)
		}
	}
}

// copyOne copies a snapshot and records how it went (a failure is retried with back-off).
func (o *Offsite) copyOne(ctx context.Context, c store.OffsiteCopy) {
	c.State, c.Error = "copying", ""
	o.St.SaveOffsiteCopy(ctx, c)
	n, keyID, err := o.copySnapshot(ctx, c.Snapshot)
	o.progress.Delete(c.Snapshot)
	bg := context.WithoutCancel(ctx)
	if err != nil {
		if ctx.Err() != nil {
			c.State, c.Error = "pending", "Berth stopped during the copy; it starts again"
			o.St.SaveOffsiteCopy(bg, c)
			return
		}
		c.Attempts++
		wait := min(o.Backoff<<min(c.Attempts-1, 10), time.Hour)
		c.State, c.Error, c.NextAt = "failed", err.Error(), time.Now().Add(wait)
		o.Log.Warn("off-site copy failed; it is tried again", "snapshot", c.Snapshot, "attempt", c.Attempts, "next", c.NextAt, "error", err)
		o.St.SaveOffsiteCopy(bg, c)
		return
	}
	c.State, c.Bytes, c.CopiedAt, c.KeyID, c.Error = "copied", n, time.Now(), keyID, ""
	o.St.SaveOffsiteCopy(bg, c)
}

// Copy uploads one local snapshot now, outside the queue and its records, and returns the
// bytes copied (for measuring the copy alone).
func (o *Offsite) Copy(ctx context.Context, id string) (int64, error) {
	n, _, err := o.copySnapshot(ctx, id)
	return n, err
}

// copySnapshot uploads every file of a local snapshot encrypted, then its index: a
// copy is complete, and listed, only once the index is there.
func (o *Offsite) copySnapshot(ctx context.Context, id string) (int64, string, error) {
	s, err := o.Local.Load(id)
	if err != nil {
		return 0, "", err
	}
	if s.Problem != "" {
		return 0, "", errors.New("the local snapshot cannot be trusted: " + s.Problem)
	}
	settings, err := o.Settings(ctx)
	if err != nil {
		return 0, "", err
	}
	b, err := offsite.Connect(settings)
	if err != nil {
		return 0, "", err
	}
	keys, err := o.keys(ctx)
	if err != nil || len(keys) == 0 {
		return 0, "", fmt.Errorf("no backup key to seal the copy with (%v)", err)
	}
	key := keys[0]
	ix := copyIndex{Snapshot: id, Started: s.Started, KeyID: key.ID()}
	if ix.Values, err = o.Local.openedValues(s); err != nil {
		return 0, "", err
	}
	files, want := snapshotFiles(s)
	var total, done int64
	sizes := map[string]int64{}
	for _, name := range files {
		st, err := o.Local.statFile(id, name)
		if err != nil {
			return 0, "", err
		}
		sizes[name] = st
		total += st
	}
	for _, name := range files {
		base, object := done, randomObjectName()
		sum, err := o.putFile(ctx, b, key, id, name, object, sizes[name], func(n int64) {
			o.progress.Store(id, CopyProgress{Done: base + n, Total: total})
		})
		if err != nil {
			return 0, "", fmt.Errorf("%s: %w", name, err)
		}
		if w, ok := want[name]; ok && w != sum {
			return 0, "", fmt.Errorf("the local %s %s: not copied", name, ErrChecksum)
		}
		ix.Files = append(ix.Files, copyFile{Name: name, Object: object, Size: sizes[name], SHA256: sum})
		done += sizes[name]
	}
	ix.Copied = time.Now().UTC()
	raw, err := json.Marshal(ix)
	if err != nil {
		return 0, "", err
	}
	var sealed bytes.Buffer
	w, err := offsite.Encrypt(&sealed, key, id+"/"+indexFile)
	if err != nil {
		return 0, "", err
	}
	w.Write(raw) // writes to memory cannot fail
	if err := w.Close(); err != nil {
		return 0, "", err
	}
	if err := b.Put(ctx, objectName(id, indexFile), &sealed, int64(sealed.Len()), nil); err != nil {
		return 0, "", fmt.Errorf("the copy's index: %w", err)
	}
	return total, key.ID(), nil
}

// snapshotFiles lists a snapshot's files and the checksums its manifest records for them.
func snapshotFiles(s Snapshot) ([]string, map[string]string) {
	files := []string{manifestFile, signatureFile}
	want := map[string]string{}
	if s.State != nil {
		files = append(files, s.State.File)
		want[s.State.File] = s.State.SHA256
	}
	for _, v := range s.Volumes {
		files = append(files, v.File)
		want[v.File] = v.SHA256
		if v.Sums != nil {
			files = append(files, v.Sums.File)
			want[v.Sums.File] = v.Sums.SHA256
		}
	}
	return files, want
}

// randomObjectName names a file's object in the bucket without saying what it holds.
func randomObjectName() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// putFile encrypts one file on its way to the bucket as object and returns its plaintext's SHA-256.
func (o *Offsite) putFile(ctx context.Context, b *offsite.Bucket, key offsite.Key, id, name, object string, size int64, progress func(int64)) (string, error) {
	f, err := o.Local.Target.Open(id, name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	// Up to 16 sealed chunks wait between the encryption and the upload, so each goes on
	// while the other works (about 16 MiB, besides the upload's part buffer).
	pipe := offsite.NewPipe(16)
	sealed := make(chan struct{})
	go func() {
		defer close(sealed)
		w, err := offsite.Encrypt(pipe, key, id+"/"+name)
		if err == nil {
			_, err = io.Copy(w, io.TeeReader(f, h))
		}
		if err == nil {
			err = w.Close()
		}
		pipe.CloseWithError(err)
	}()
	err = b.Put(ctx, objectName(id, object), pipe, offsite.SealedSize(size), progress)
	pipe.Abort()
	<-sealed
	return hex.EncodeToString(h.Sum(nil)), err
}

// statFile is a local snapshot file's size.
func (r *Runner) statFile(id, name string) (int64, error) {
	f, err := r.Target.Open(id, name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, ok := f.(*os.File)
	if !ok {
		return io.Copy(io.Discard, f)
	}
	info, err := st.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// openedValues opens every value the snapshot seals with Berth's key, by seal context,
// for the copy's index (which the backup key seals).
func (r *Runner) openedValues(s Snapshot) (map[string][]byte, error) {
	out := map[string][]byte{}
	open := func(sealed []byte, context string) error {
		v, err := r.Keys.Open(sealed, context)
		if err != nil {
			return fmt.Errorf("%s: %w", context, err)
		}
		out[context] = v
		return nil
	}
	for _, c := range s.Secrets {
		if c.Sealed != nil {
			if err := open(c.Sealed, sealContext(s.ID, "secret", c.Name)); err != nil {
				return nil, err
			}
		}
	}
	for _, g := range s.Registries {
		if err := open(g.Sealed, sealContext(s.ID, "registry", g.Owner+"@"+g.URL)); err != nil {
			return nil, err
		}
	}
	if s.State == nil {
		return out, nil
	}
	st, err := r.loadState(s)
	if err != nil {
		return nil, err
	}
	for _, u := range st.Users {
		if err := open(u.Password, sealContext(s.ID, "user-password", u.Username)); err != nil {
			return nil, err
		}
		if u.TOTP != nil {
			if err := open(u.TOTP, sealContext(s.ID, "user-totp", u.Username)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// prune removes the bucket's copies its retention no longer keeps: the local tiers
// (pinned copies kept), or every copy younger than the bucket's own keep_days when set.
func (o *Offsite) prune(ctx context.Context) error {
	s, err := o.Settings(ctx)
	if err != nil {
		return err
	}
	remote, err := o.Remote(ctx)
	if err != nil {
		return err
	}
	ids, err := remote.Target.List()
	if err != nil {
		return err
	}
	pinned, err := o.St.PinnedBackups(ctx)
	if err != nil {
		return err
	}
	var snaps []Snap
	for _, id := range ids {
		at, _ := IDTime(id)
		snaps = append(snaps, Snap{ID: id, At: at, Pinned: pinned[id]})
	}
	keep := Retain(snaps, time.Now())
	for _, sn := range snaps {
		if keep[sn.ID] != "" || (s.KeepDays > 0 && time.Since(sn.At) < time.Duration(s.KeepDays)*24*time.Hour) {
			continue
		}
		if err := remote.Target.Remove(sn.ID); err != nil {
			return err
		}
		rec := systemRecord
		rec.Action, rec.Object, rec.Detail = "backup.offsite.prune", "backup:"+sn.ID, "removed from the bucket by retention"
		o.St.Audit(ctx, rec)
	}
	return nil
}

// IDTime is when a snapshot started, read from its id.
func IDTime(id string) (time.Time, error) {
	if len(id) < 16 {
		return time.Time{}, errors.New("not a snapshot id")
	}
	return time.Parse("20060102T150405Z", id[:16])
}
