package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/swarm/backup/offsite"
)

// indexFile is written last into a snapshot's copy: a copy without one is not complete.
const indexFile = "index"

// copyIndex is a copy's table of contents, encrypted like every object: each file's
// checksum and size, and the snapshot's sealed values opened, so a Berth with another
// master key (a new VM) can restore them with the backup key alone.
type copyIndex struct {
	Snapshot string            `json:"snapshot"`
	Started  time.Time         `json:"started"`
	Copied   time.Time         `json:"copied"`
	KeyID    string            `json:"key_id"`
	Files    []copyFile        `json:"files"`
	Values   map[string][]byte `json:"values"` // seal context -> value
}

type copyFile struct {
	Name   string `json:"name"`
	Object string `json:"object"` // its object's random name: the bucket learns no mapping's name
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func (ix copyIndex) file(name string) (copyFile, bool) {
	for _, f := range ix.Files {
		if f.Name == name {
			return f, true
		}
	}
	return copyFile{}, false
}

// objectName is where a snapshot's file lies in the bucket (under its prefix).
func objectName(id, name string) string { return "snapshots/" + id + "/" + name }

// Remote is the bucket seen as a Target: complete copies listed, opened decrypted.
// It cannot take snapshots (Begin); copies are written by the Copier.
type Remote struct {
	Bucket *offsite.Bucket
	Keys   []offsite.Key

	indexes sync.Map // id -> copyIndex
}

// NewRemote is the bucket's copies, opened with the keys given.
func NewRemote(b *offsite.Bucket, keys []offsite.Key) *Remote { return &Remote{Bucket: b, Keys: keys} }

func (t *Remote) Describe() string { return t.Bucket.Settings().Describe() }

func (t *Remote) Begin(string) (Draft, error) {
	return nil, errors.New("snapshots are taken locally and copied to the bucket")
}

func (t *Remote) Clean() (int, error) { return 0, nil }

// List returns the ids of complete copies (those with an index), oldest first.
func (t *Remote) List() ([]string, error) {
	objs, err := t.Bucket.List(context.Background(), "snapshots/")
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, o := range objs {
		id, name, ok := strings.Cut(strings.TrimPrefix(o.Name, "snapshots/"), "/")
		if ok && name == indexFile && validID(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Open downloads and decrypts one file of a copy (found through the copy's index).
func (t *Remote) Open(id, name string) (io.ReadCloser, error) {
	if !validID(id) || strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("bad snapshot file %s/%s", id, name)
	}
	object := indexFile
	if name != indexFile {
		ix, err := t.index(id)
		if err != nil {
			return nil, err
		}
		f, ok := ix.file(name)
		if !ok {
			return nil, fmt.Errorf("the copy of %s holds no %s", id, name)
		}
		object = f.Object
	}
	obj, err := t.Bucket.Get(context.Background(), objectName(id, object))
	if err != nil {
		return nil, err
	}
	plain, err := offsite.Decrypt(obj, t.Keys, id+"/"+name)
	if err != nil {
		obj.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{plain, obj}, nil
}

// Stamp is the copy's index as the bucket tags it.
func (t *Remote) Stamp(id string) (string, error) {
	objs, err := t.Bucket.List(context.Background(), objectName(id, indexFile))
	if err != nil {
		return "", err
	}
	for _, o := range objs {
		if o.Name == objectName(id, indexFile) {
			return o.ETag, nil
		}
	}
	return "", fmt.Errorf("no complete copy of %s in the bucket", id)
}

// Remove deletes a copy, its index first, so a half-removed copy is never listed.
func (t *Remote) Remove(id string) error {
	ctx := context.Background()
	if err := t.Bucket.Remove(ctx, objectName(id, indexFile)); err != nil {
		return err
	}
	t.indexes.Delete(id)
	objs, err := t.Bucket.List(ctx, objectName(id, ""))
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := t.Bucket.Remove(ctx, o.Name); err != nil {
			return err
		}
	}
	return nil
}

// index reads a copy's index once.
func (t *Remote) index(id string) (copyIndex, error) {
	if v, ok := t.indexes.Load(id); ok {
		return v.(copyIndex), nil
	}
	f, err := t.Open(id, indexFile)
	if err != nil {
		return copyIndex{}, err
	}
	defer f.Close()
	var ix copyIndex
	if err := json.NewDecoder(io.LimitReader(f, 256<<20)).Decode(&ix); err != nil {
		return ix, fmt.Errorf("the copy's index: %w", err)
	}
	if ix.Snapshot != id {
		return ix, fmt.Errorf("the copy's index is %s's, not %s's", ix.Snapshot, id)
	}
	t.indexes.Store(id, ix)
	return ix, nil
}

// remoteKeys opens a copy's sealed values from its index and trusts a manifest whose
// checksum the index records: no master key is needed, only the backup key.
type remoteKeys struct{ t *Remote }

func (k remoteKeys) Seal([]byte, string) []byte { return nil } // copies are never sealed into

func (k remoteKeys) Open(_ []byte, context string) ([]byte, error) {
	parts := strings.SplitN(context, ":", 3) // backup:<id>:...
	if len(parts) < 3 {
		return nil, errors.New("not a snapshot's value")
	}
	ix, err := k.t.index(parts[1])
	if err != nil {
		return nil, err
	}
	v, ok := ix.Values[context]
	if !ok {
		return nil, errors.New("the copy's index holds no such value")
	}
	return v, nil
}

func (k remoteKeys) Hash(string) string { return "" }

// Trusts checks the manifest against the checksum in the copy's index.
func (k remoteKeys) Trusts(id string, manifest, _ []byte) bool {
	ix, err := k.t.index(id)
	if err != nil {
		return false
	}
	f, ok := ix.file(manifestFile)
	sum := sha256.Sum256(manifest)
	return ok && f.SHA256 == hex.EncodeToString(sum[:])
}

// RemoteRunner reads, verifies and restores the bucket's copies, with the same engine
// and database as r: the page's actions on a copy are the local ones.
func (r *Runner) RemoteRunner(t *Remote) *Runner {
	return &Runner{Engine: r.Engine, Vault: r.Vault, Target: t, Keys: remoteKeys{t}, Now: r.Now, local: r.home()}
}
