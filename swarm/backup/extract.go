package backup

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// ErrChecksum is the restore helper's answer when an archive does not match its recorded checksum.
const ErrChecksum = "does not match its checksum"

// VerifyFile checks a file's SHA-256 before anything of it is used.
func VerifyFile(name, want string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("the archive %s %s (tampered with or damaged): nothing was restored", filepath.Base(name), ErrChecksum)
	}
	return nil
}

// ExtractArchive writes a compressed archive (as WriteArchive makes) into root: files
// of the same name are replaced whole (written aside, then renamed), others stay;
// owners, modes and times are kept; nothing is written outside root or through a link.
func ExtractArchive(r io.Reader, root string) (int64, error) {
	dec, err := zstd.NewReader(r)
	if err != nil {
		return 0, err
	}
	defer dec.Close()
	tr := tar.NewReader(dec)
	var total int64
	buf := make([]byte, 1<<20)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("the archive is damaged: %w", err)
		}
		rel := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if rel == "." {
			continue
		}
		if path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
			return total, fmt.Errorf("archive entry %q points outside the volume", h.Name)
		}
		target := filepath.Join(root, filepath.FromSlash(rel))
		if err := noLinkParents(root, filepath.Dir(target)); err != nil {
			return total, err
		}
		mode := os.FileMode(h.Mode) & os.ModePerm
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return total, err
			}
			os.Chmod(target, mode)
		case tar.TypeReg:
			tmp := filepath.Join(filepath.Dir(target), ".berth-restore-"+filepath.Base(target))
			f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|syscallNoFollow, mode)
			if err != nil {
				return total, err
			}
			n, err := io.CopyBuffer(f, io.LimitReader(tr, h.Size), buf)
			total += n
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp, target)
			}
			if err != nil {
				os.Remove(tmp)
				return total, err
			}
			os.Chmod(target, mode)
		case tar.TypeSymlink:
			os.Remove(target)
			if err := os.Symlink(h.Linkname, target); err != nil {
				return total, err
			}
		default:
			continue // Berth's archives hold only folders, files and links
		}
		os.Lchown(target, h.Uid, h.Gid)
		if h.Typeflag != tar.TypeSymlink {
			os.Chtimes(target, h.ModTime, h.ModTime)
		}
	}
}

// noLinkParents refuses a folder under root that is, or passes through, a symbolic link.
func noLinkParents(root, dir string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." {
		return err
	}
	p := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		st, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if st.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("the archive would write through the link %s", p)
		}
	}
	return nil
}
