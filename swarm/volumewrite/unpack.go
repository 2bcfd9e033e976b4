package volumewrite

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Unpack writes a staged upload's tar stream (as Stage makes it) under root, the way
// the engine's archive endpoint would: only entries inside the staging folder are
// accepted, and a stream that breaks off stops it with an error (Finish then throws
// the partial staging folder away, as it has no manifest).
func Unpack(root, stage string, r io.Reader) error {
	if !stagePattern.MatchString(stage) {
		return fmt.Errorf("%q is not a staging folder", stage)
	}
	tr := tar.NewReader(r)
	buf := make([]byte, 1<<20)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("the upload stream broke off: %w", err)
		}
		name := path.Clean(h.Name)
		if name != stage && !strings.HasPrefix(name, stage+"/") || strings.Contains(name, "..") {
			return fmt.Errorf("stream entry %q is outside the staging folder", h.Name)
		}
		dst := filepath.Join(root, filepath.FromSlash(name))
		if h.Typeflag != tar.TypeDir {
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(dst, 0o755)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, os.FileMode(h.Mode)&os.ModePerm); err == nil {
				var n int64
				n, err = io.CopyBuffer(f, tr, buf)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err == nil && n < h.Size {
					err = io.ErrUnexpectedEOF
				}
			}
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, dst)
		case tar.TypeLink:
			target := path.Clean(h.Linkname)
			if !strings.HasPrefix(target, stage+"/") || strings.Contains(target, "..") {
				return fmt.Errorf("stream link %q points outside the staging folder", h.Name)
			}
			err = os.Link(filepath.Join(root, filepath.FromSlash(target)), dst)
		default:
			return fmt.Errorf("stream entry %q is of a kind Berth does not stage", h.Name)
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
}
