package backup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Target is where snapshots are kept (a local directory now; off-machine targets later).
type Target interface {
	// Begin opens a snapshot under construction; nothing of it is listed until Commit.
	Begin(id string) (Draft, error)
	// List returns the ids of complete snapshots.
	List() ([]string, error)
	// Open reads one file of a complete snapshot.
	Open(id, name string) (io.ReadCloser, error)
	// Remove deletes a complete snapshot.
	Remove(id string) error
	// Clean throws away drafts an interrupted run left behind, and says how many.
	Clean() (int, error)
	// Describe says where snapshots go, for pages and errors.
	Describe() string
	// Stamp changes whenever a snapshot's manifest or signature changes (size and time).
	Stamp(id string) (string, error)
}

// Draft is a snapshot being written.
type Draft interface {
	Create(name string) (io.WriteCloser, error)
	Commit() error
	Abort() error
}

// Dir keeps snapshots as folders of a local directory: a draft is written under a
// hidden name, every file is synced, and the folder is renamed into place.
type Dir struct{ Path string }

const draftPrefix = ".partial-"

func (d Dir) Describe() string { return d.Path }

// Begin creates the draft folder, checking the directory is writable.
func (d Dir) Begin(id string) (Draft, error) {
	if !validID(id) {
		return nil, fmt.Errorf("bad snapshot id %q", id)
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return nil, fmt.Errorf("the backup directory %s cannot be created: %w", d.Path, err)
	}
	tmp := filepath.Join(d.Path, draftPrefix+id)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("the backup directory %s is not writable: %w", d.Path, err)
	}
	return &dirDraft{dir: d, id: id, tmp: tmp}, nil
}

// List returns complete snapshot ids, oldest first.
func (d Dir) List() ([]string, error) {
	entries, err := os.ReadDir(d.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && validID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func (d Dir) Open(id, name string) (io.ReadCloser, error) {
	if !validID(id) || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("bad snapshot file %s/%s", id, name)
	}
	return os.Open(filepath.Join(d.Path, id, name))
}

// Stamp is the manifest's and signature's sizes and modification times.
func (d Dir) Stamp(id string) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("bad snapshot id %q", id)
	}
	var b strings.Builder
	for _, name := range []string{manifestFile, signatureFile} {
		st, err := os.Stat(filepath.Join(d.Path, id, name))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%d.%d;", st.Size(), st.ModTime().UnixNano())
	}
	return b.String(), nil
}

// SnapshotDir is a complete snapshot's folder on this machine, for helpers that read it directly.
func (d Dir) SnapshotDir(id string) string { return filepath.Join(d.Path, id) }

func (d Dir) Remove(id string) error {
	if !validID(id) {
		return fmt.Errorf("bad snapshot id %q", id)
	}
	return os.RemoveAll(filepath.Join(d.Path, id))
}

func (d Dir) Clean() (int, error) {
	entries, err := os.ReadDir(d.Path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), draftPrefix) {
			if err := os.RemoveAll(filepath.Join(d.Path, e.Name())); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// validID accepts the ids NewID makes: digits, letters, '-' (never a path).
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-') {
			return false
		}
	}
	return true
}

type dirDraft struct {
	dir     Dir
	id, tmp string
}

// Create opens a file of the draft; Close syncs it to disk.
func (d *dirDraft) Create(name string) (io.WriteCloser, error) {
	if strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("bad snapshot file name %q", name)
	}
	f, err := os.OpenFile(filepath.Join(d.tmp, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return syncedFile{f}, nil
}

type syncedFile struct{ *os.File }

func (f syncedFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	if errors.Is(err, syscall.ENOSPC) {
		err = fmt.Errorf("the backup disk is full: %w", err)
	}
	return n, err
}

func (f syncedFile) Close() error {
	if err := f.File.Sync(); err != nil {
		f.File.Close()
		return err
	}
	return f.File.Close()
}

// Commit renames the draft into place and syncs the directory, so the snapshot appears whole or not at all.
func (d *dirDraft) Commit() error {
	if err := syncDir(d.tmp); err != nil {
		return err
	}
	if err := os.Rename(d.tmp, filepath.Join(d.dir.Path, d.id)); err != nil {
		return err
	}
	return syncDir(d.dir.Path)
}

func (d *dirDraft) Abort() error { return os.RemoveAll(d.tmp) }

// Local is the draft's folder on this machine, for helpers that write into it directly.
func (d *dirDraft) Local() string { return d.tmp }

func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
