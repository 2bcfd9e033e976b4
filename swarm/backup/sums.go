package backup

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/klauspost/compress/zstd"
)

// FileSum is one file of a volume as its archive holds it.
type FileSum struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"` // of a regular file's content
	Link   string `json:"link,omitempty"`   // a symbolic link's target
}

// SumsCopy names the file listing every file of a volume archive with its checksum,
// which a restore drill compares the restored volume against.
type SumsCopy struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Files  int    `json:"files"`
}

// tarSums lists the regular files and links of a tar stream with their checksums, by path.
func tarSums(r io.Reader) ([]FileSum, error) {
	tr := tar.NewReader(r)
	var out []FileSum
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		p := path.Clean(h.Name)
		switch h.Typeflag {
		case tar.TypeReg:
			sum := sha256.New()
			n, err := io.Copy(sum, tr)
			if err != nil {
				return nil, err
			}
			out = append(out, FileSum{Path: p, Size: n, SHA256: hex.EncodeToString(sum.Sum(nil))})
		case tar.TypeSymlink:
			out = append(out, FileSum{Path: p, Link: h.Linkname})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// writeSums reads a volume's archive back from the draft and writes the list of its
// files beside it, recording that list's checksum in the manifest.
func writeSums(draft Draft, v *VolumeCopy) error {
	dir, ok := draft.(interface{ Local() string })
	if !ok {
		return nil
	}
	f, err := os.Open(filepath.Join(dir.Local(), v.File))
	if err != nil {
		return err
	}
	defer f.Close()
	dec, err := zstd.NewReader(f)
	if err != nil {
		return err
	}
	defer dec.Close()
	sums, err := tarSums(dec)
	if err != nil {
		return fmt.Errorf("reading the archive back: %w", err)
	}
	raw, err := json.Marshal(sums)
	if err != nil {
		return err
	}
	name := v.File + ".files.json"
	sum, err := writeDraftFile(draft, name, raw)
	if err != nil {
		return err
	}
	v.Sums = &SumsCopy{File: name, SHA256: sum, Files: len(sums)}
	return nil
}

// writeDraftFile writes one small file into the draft and returns its SHA-256 in hex.
func writeDraftFile(draft Draft, name string, raw []byte) (string, error) {
	w, err := draft.Create(name)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(raw); err != nil {
		w.Close()
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// firstDifference names the first file where two lists differ, or "".
func firstDifference(want, got []FileSum) string {
	have := map[string]FileSum{}
	for _, g := range got {
		have[g.Path] = g
	}
	for _, w := range want {
		g, ok := have[w.Path]
		switch {
		case !ok:
			return w.Path + ": missing from the restored volume"
		case g.Link != w.Link:
			return fmt.Sprintf("%s: links to %q, the snapshot says %q", w.Path, g.Link, w.Link)
		case g.SHA256 != w.SHA256 || g.Size != w.Size:
			return fmt.Sprintf("%s: restored with checksum %s (%d bytes), the snapshot recorded %s (%d bytes)", w.Path, short(g.SHA256), g.Size, short(w.SHA256), w.Size)
		}
		delete(have, w.Path)
	}
	for p := range have {
		return p + ": in the restored volume but not in the snapshot"
	}
	return ""
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}
