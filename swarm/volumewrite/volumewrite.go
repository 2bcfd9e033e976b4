// Package volumewrite writes an upload into a volume safely: everything lands in a
// staging folder first, archive entries that would escape the destination are
// refused, and only a complete upload is moved into place; anything else leaves
// the volume as it was. It runs inside a helper container on the volume's node.
package volumewrite

import (
	"archive/zip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Kinds of upload.
const (
	KindFile = "file"
	KindTar  = "tar"
	KindTgz  = "tgz"
	KindZip  = "zip"
)

// Request says what to write where.
type Request struct {
	Root      string // the volume's mount point
	Dest      string // folder inside the volume, "/" for its top
	Kind      string
	Name      string // KindFile: the file's name
	Size      int64  // KindFile: the exact size expected
	Overwrite bool   // replace what exists; otherwise refuse
	MaxTotal  int64  // archives: the most their files may add up to when unpacked (0: no cap)
}

// Written is one file the upload wrote.
type Written struct {
	Path   string `json:"path"` // inside the volume
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// stagePattern is what a staging folder's name looks like; Finish touches nothing else.
var stagePattern = regexp.MustCompile(`^\.berth-upload-[0-9a-f]{8,}$`)

// NewStageName names a fresh staging folder.
func NewStageName() string { return ".berth-upload-" + randomSuffix() }

// Finish completes an upload that Stage streamed into the volume at root: it
// extracts a staged zip, moves everything into place by the overwrite policy,
// and always removes the staging folder; an upload that did not arrive whole
// (no manifest) is thrown away.
func Finish(root, stage string) ([]Written, error) {
	if !stagePattern.MatchString(stage) {
		return nil, fmt.Errorf("%q is not a staging folder", stage)
	}
	dir := filepath.Join(root, stage)
	defer os.RemoveAll(dir)
	raw, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, errors.New("the upload did not arrive whole: nothing was written")
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("the upload's manifest is unreadable: %w", err)
	}
	if err := os.Remove(filepath.Join(dir, manifestName)); err != nil {
		return nil, err
	}
	dest, err := safeJoin(root, m.Dest)
	if err != nil {
		return nil, err
	}
	st := &staging{dir: dir, files: m.Files, maxTotal: m.MaxTotal}
	if st.files == nil {
		st.files = map[string]Written{}
	}
	if m.Kind == KindZip {
		zipPath := filepath.Join(dir, zipName)
		if err := st.extractZip(zipPath); err != nil {
			return nil, err
		}
		if err := os.Remove(zipPath); err != nil {
			return nil, err
		}
	}
	return st.finish(dest, root, m.Overwrite)
}

// Discard throws a staged upload away.
func Discard(root, stage string) error {
	if !stagePattern.MatchString(stage) {
		return fmt.Errorf("%q is not a staging folder", stage)
	}
	return os.RemoveAll(filepath.Join(root, stage))
}

// staging is the folder an upload is written into, with the files written so far
// (by path inside it), their sizes and checksums taken while they were written.
type staging struct {
	dir      string
	files    map[string]Written
	maxTotal int64 // the most the extracted files may add up to (0: no cap)
}

// record notes a file written at dst.
func (st *staging) record(dst string, size int64, sum string) {
	rel, _ := filepath.Rel(st.dir, dst)
	st.files[filepath.ToSlash(rel)] = Written{Size: size, SHA256: sum}
}

// safeJoin joins a path inside the volume, refusing one that leaves it.
func safeJoin(root, rel string) (string, error) {
	clean := path.Clean("/" + strings.ReplaceAll(rel, "\\", "/"))
	if strings.Contains(rel, "..") {
		return "", fmt.Errorf("%q leaves the volume: use a folder inside it", rel)
	}
	return filepath.Join(root, filepath.FromSlash(clean)), nil
}

func randomSuffix() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// entryPath checks an archive entry's name and returns where it goes in the staging folder.
func entryPath(stage, name string) (string, error) {
	n := strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(n, "/") || strings.HasPrefix(path.Clean(n), "../") || path.Clean(n) == ".." || strings.Contains(n, "/../") {
		return "", fmt.Errorf("archive entry %q points outside the destination", name)
	}
	clean := path.Clean(n)
	if clean == "." {
		return "", nil
	}
	return filepath.Join(stage, filepath.FromSlash(clean)), nil
}

func (st *staging) writeEntry(dst string, mode os.FileMode, r io.Reader, size int64) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// An earlier link at this path must not redirect the write outside.
	if fi, err := os.Lstat(dst); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("archive entry %s would write through a link", dst)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o200)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil || n != size {
		return fmt.Errorf("the archive broke off inside %s", filepath.Base(dst))
	}
	st.record(dst, n, hex.EncodeToString(h.Sum(nil)))
	return nil
}

// extractZip extracts the staged zip into the staging folder, checking every entry.
func (st *staging) extractZip(zipPath string) error {
	stage := st.dir
	f, err := os.Open(zipPath)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, info.Size())
	if err != nil {
		return fmt.Errorf("not a zip archive, or a cut-off one: %w", err)
	}
	var total uint64
	for _, zf := range zr.File {
		total += zf.UncompressedSize64
		if st.maxTotal > 0 && total > uint64(st.maxTotal) {
			return &TooLargeError{Limit: st.maxTotal}
		}
	}
	for _, zf := range zr.File {
		dst, err := entryPath(stage, zf.Name)
		if err != nil {
			return err
		}
		if dst == "" {
			continue
		}
		if zf.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if zf.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("archive entry %q is a link: zip links are not written", zf.Name)
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("archive entry %q: %w", zf.Name, err)
		}
		err = st.writeEntry(dst, zf.Mode().Perm()|0o400, rc, int64(zf.UncompressedSize64))
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// finish moves the staged entries into the destination, refusing to replace unless asked.
func (st *staging) finish(dest, root string, overwrite bool) ([]Written, error) {
	entries, err := os.ReadDir(st.dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return nil, err
	}
	if !overwrite {
		var clash []string
		for _, e := range entries {
			if _, err := os.Lstat(filepath.Join(dest, e.Name())); err == nil {
				clash = append(clash, e.Name())
			}
		}
		if len(clash) > 0 {
			return nil, fmt.Errorf("already in the volume: %s (choose replace to overwrite)", strings.Join(clash, ", "))
		}
	}
	for _, e := range entries {
		target := filepath.Join(dest, e.Name())
		if overwrite {
			if err := os.RemoveAll(target); err != nil {
				return nil, err
			}
		}
		if err := os.Rename(filepath.Join(st.dir, e.Name()), target); err != nil {
			return nil, err
		}
	}
	out := make([]Written, 0, len(st.files))
	for rel, w := range st.files {
		inVolume, _ := filepath.Rel(root, filepath.Join(dest, filepath.FromSlash(rel)))
		w.Path = "/" + filepath.ToSlash(inVolume)
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// TooLargeError is an archive whose files add up to more than the upload limit when unpacked.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the archive unpacks to more than %s, the most an upload may write here: nothing was written", sizeText(e.Limit))
}

// sizeText writes a byte count the way the upload limit is set.
func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
