// Package volumewrite writes an upload into a volume safely: everything lands in a
// staging folder first, archive entries that would escape the destination are
// refused, and only a complete upload is moved into place; anything else leaves
// the volume as it was. It runs inside a helper container on the volume's node.
package volumewrite

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
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
}

// Written is one file the upload wrote.
type Written struct {
	Path   string `json:"path"` // inside the volume
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Write reads the upload from r and moves it into place, or changes nothing.
func Write(req Request, r io.Reader) (out []Written, err error) {
	dest, err := safeJoin(req.Root, req.Dest)
	if err != nil {
		return nil, err
	}
	stage := filepath.Join(req.Root, ".berth-upload-"+randomSuffix())
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return nil, fmt.Errorf("create staging folder: %w", err)
	}
	defer os.RemoveAll(stage)
	st := &staging{dir: stage, files: map[string]Written{}}
	switch req.Kind {
	case KindFile:
		err = st.writeFile(req.Name, req.Size, r)
	case KindTar:
		err = st.extractTar(r)
	case KindTgz:
		var gz *gzip.Reader
		if gz, err = gzip.NewReader(r); err == nil {
			err = st.extractTar(gz)
		} else {
			err = fmt.Errorf("not a gzip archive: %w", err)
		}
	case KindZip:
		err = st.extractZip(r)
	default:
		err = fmt.Errorf("unknown kind %q", req.Kind)
	}
	if err != nil {
		return nil, err
	}
	return st.finish(dest, req.Root, req.Overwrite)
}

// staging is the folder an upload is written into, with the files written so far
// (by path inside it), their sizes and checksums taken while they were written.
type staging struct {
	dir   string
	files map[string]Written
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

func (st *staging) writeFile(name string, size int64, r io.Reader) error {
	if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
		return fmt.Errorf("%q is not a file name", name)
	}
	dst := filepath.Join(st.dir, name)
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, size+1))
	if err != nil {
		return fmt.Errorf("the upload broke off after %d bytes: %w", n, err)
	}
	if n != size {
		return fmt.Errorf("the upload broke off: %d of %d bytes arrived", n, size)
	}
	st.record(dst, n, hex.EncodeToString(h.Sum(nil)))
	return f.Sync()
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

// linkInside reports whether a link placed at where with the given target stays inside stage.
func linkInside(stage, where, target string) bool {
	if strings.HasPrefix(target, "/") {
		return false
	}
	resolved := filepath.Clean(filepath.Join(filepath.Dir(where), filepath.FromSlash(target)))
	return resolved == stage || strings.HasPrefix(resolved, stage+string(filepath.Separator))
}

func (st *staging) extractTar(r io.Reader) error {
	stage := st.dir
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("the archive is corrupt or broke off: %w", err)
		}
		dst, err := entryPath(stage, h.Name)
		if err != nil || dst == "" {
			if err != nil {
				return err
			}
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := st.writeEntry(dst, h.FileInfo().Mode().Perm(), tr, h.Size); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if !linkInside(stage, dst, h.Linkname) {
				return fmt.Errorf("archive link %q points outside the destination (%s)", h.Name, h.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return err
			}
		case tar.TypeLink:
			src, err := entryPath(stage, h.Linkname)
			if err != nil || src == "" {
				return fmt.Errorf("archive link %q points outside the destination", h.Name)
			}
			if err := os.Link(src, dst); err != nil {
				return err
			}
			if rel, err := filepath.Rel(stage, src); err == nil {
				if w, ok := st.files[filepath.ToSlash(rel)]; ok {
					st.record(dst, w.Size, w.SHA256)
				}
			}
		default:
			return fmt.Errorf("archive entry %q is a kind of file Berth does not write (devices, fifos)", h.Name)
		}
	}
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

// extractZip spools the zip next to the staging folder (a zip's index is at its end) and extracts it.
func (st *staging) extractZip(r io.Reader) error {
	stage := st.dir
	spool := stage + ".zip"
	f, err := os.Create(spool)
	if err != nil {
		return err
	}
	defer os.Remove(spool)
	defer f.Close()
	size, err := io.Copy(f, r)
	if err != nil {
		return fmt.Errorf("the upload broke off: %w", err)
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return fmt.Errorf("not a zip archive, or a cut-off one: %w", err)
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
