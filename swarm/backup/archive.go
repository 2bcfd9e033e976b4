package backup

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/berthhq/berth/swarm/volumewrite"
	"github.com/klauspost/compress/zstd"
)

// ArchiveResult is what writing a volume's compressed archive produced.
type ArchiveResult struct {
	Size      int64  `json:"size"`
	DataBytes int64  `json:"data_bytes"`
	SHA256    string `json:"sha256"`
	Error     string `json:"error,omitempty"`
}

// ErrNotBackupDir is the helper's answer when the mounted folder is not Berth's backup directory.
const ErrNotBackupDir = "the mounted folder is not Berth's backup directory"

// newEncoder compresses for backups: the fastest level, on half the cores.
func newEncoder(w io.Writer) (*zstd.Encoder, error) {
	return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(max(1, runtime.NumCPU()/2)))
}

// WriteArchive writes a zstd-compressed tar of the folder root (entries relative to
// it, owners, modes, times and links kept) to w, and reports sizes and checksum.
func WriteArchive(root string, w io.Writer) (ArchiveResult, error) {
	var res ArchiveResult
	sum := sha256.New()
	compressed := &countingWriter{w: io.MultiWriter(w, sum)}
	enc, err := newEncoder(compressed)
	if err != nil {
		return res, err
	}
	raw := &countingWriter{w: enc}
	tw := tar.NewWriter(raw)
	buf := make([]byte, 1<<20)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		if volumewrite.InStaging(filepath.ToSlash(rel)) {
			return filepath.SkipDir // an upload's staging folder is not the volume's data
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyBuffer(tw, io.LimitReader(f, h.Size), buf)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		return res, err
	}
	return ArchiveResult{Size: compressed.n, DataBytes: raw.n, SHA256: hex.EncodeToString(sum.Sum(nil))}, nil
}
