package volumewrite

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// manifestName is the staging folder's last entry: only an upload that arrived whole has it.
const manifestName = ".berth-manifest.json"

// zipName is where a zip waits in the staging folder to be extracted (its index is at its end).
const zipName = ".berth-upload.zip"

// Manifest says how to finish a staged upload.
type Manifest struct {
	Dest      string             `json:"dest"`
	Kind      string             `json:"kind"`
	Overwrite bool               `json:"overwrite"`
	Files     map[string]Written `json:"files"` // by path inside the staging folder
	MaxTotal  int64              `json:"max_total,omitempty"`
}

// Stage turns an upload into a tar stream of the staging folder named stage (to be
// written into the volume by the engine's archive endpoint), checking every archive
// entry as it passes and taking checksums on the way. The manifest goes last, so a
// stream that breaks off leaves a staging folder Finish knows to throw away.
func Stage(req Request, r io.Reader, tw *tar.Writer, stage string) error {
	if _, err := safeJoin("/", req.Dest); err != nil {
		return err
	}
	m := Manifest{Dest: req.Dest, Kind: req.Kind, Overwrite: req.Overwrite, Files: map[string]Written{}, MaxTotal: req.MaxTotal}
	s := &tarStager{tw: tw, stage: stage, m: &m, links: map[string]bool{}}
	if err := tw.WriteHeader(&tar.Header{Name: stage + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Now()}); err != nil {
		return err
	}
	var err error
	switch req.Kind {
	case KindFile:
		if req.Name == "" || strings.ContainsAny(req.Name, "/\\") || req.Name == "." || req.Name == ".." {
			return fmt.Errorf("%q is not a file name", req.Name)
		}
		err = s.file(req.Name, 0o644, req.Size, r)
	case KindTar:
		err = s.archive(tar.NewReader(r))
	case KindTgz:
		gz, gerr := gzip.NewReader(r)
		if gerr != nil {
			return fmt.Errorf("not a gzip archive: %w", gerr)
		}
		err = s.archive(tar.NewReader(gz))
	case KindZip:
		err = s.raw(zipName, req.Size, r)
	default:
		err = fmt.Errorf("unknown kind %q", req.Kind)
	}
	if err != nil {
		return err
	}
	body, _ := json.Marshal(m)
	if err := tw.WriteHeader(&tar.Header{Name: stage + "/" + manifestName, Mode: 0o600, Size: int64(len(body)), ModTime: time.Now()}); err != nil {
		return err
	}
	_, err = tw.Write(body)
	return err
}

type tarStager struct {
	buf   []byte // large copies mean fewer hand-offs to the engine's stream
	tw    *tar.Writer
	stage string
	m     *Manifest
	links map[string]bool // symlink entries: nothing may be written through them
	total int64           // bytes of the archive's files so far
}

// file writes one regular file of exactly size bytes into the stream, with its checksum.
func (s *tarStager) file(rel string, mode int64, size int64, r io.Reader) error {
	if err := s.tw.WriteHeader(&tar.Header{Name: s.stage + "/" + rel, Mode: mode, Size: size, ModTime: time.Now()}); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(s.tw, h), io.LimitReader(r, size), s.buffer())
	if err == nil && n < size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("the upload broke off: %d of %d bytes arrived", n, size)
	}
	s.m.Files[rel] = Written{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	return nil
}

func (s *tarStager) buffer() []byte {
	if s.buf == nil {
		s.buf = make([]byte, 1<<20)
	}
	return s.buf
}

// raw passes bytes through without recording them as a file of the upload.
func (s *tarStager) raw(rel string, size int64, r io.Reader) error {
	if err := s.tw.WriteHeader(&tar.Header{Name: s.stage + "/" + rel, Mode: 0o600, Size: size, ModTime: time.Now()}); err != nil {
		return err
	}
	n, err := io.CopyBuffer(s.tw, io.LimitReader(r, size), s.buffer())
	if err == nil && n < size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("the upload broke off: %d of %d bytes arrived", n, size)
	}
	return nil
}

// check validates an archive entry's name and returns it cleaned, "" for the archive's root.
func (s *tarStager) check(name string) (string, error) {
	n := strings.ReplaceAll(name, "\\", "/")
	clean := path.Clean(n)
	if strings.HasPrefix(n, "/") || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(n, "/../") {
		return "", fmt.Errorf("archive entry %q points outside the destination", name)
	}
	if clean == "." {
		return "", nil
	}
	for p := clean; p != "." && p != "/"; p = path.Dir(p) {
		if s.links[p] {
			return "", fmt.Errorf("archive entry %q would write through the link %s", name, p)
		}
	}
	if clean == manifestName || clean == zipName {
		return "", fmt.Errorf("archive entry %q has a name Berth reserves", name)
	}
	return clean, nil
}

func (s *tarStager) archive(tr *tar.Reader) error {
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("the archive is corrupt or broke off: %w", err)
		}
		rel, err := s.check(h.Name)
		if err != nil {
			return err
		}
		if rel == "" {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := s.tw.WriteHeader(&tar.Header{Name: s.stage + "/" + rel + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: h.ModTime}); err != nil {
				return err
			}
		case tar.TypeReg:
			if s.total += h.Size; s.m.MaxTotal > 0 && s.total > s.m.MaxTotal {
				return &TooLargeError{Limit: s.m.MaxTotal}
			}
			if err := s.file(rel, h.Mode&0o777|0o600, h.Size, tr); err != nil {
				return fmt.Errorf("the archive broke off inside %s", rel)
			}
		case tar.TypeSymlink:
			if strings.HasPrefix(h.Linkname, "/") {
				return fmt.Errorf("archive link %q points outside the destination (%s)", h.Name, h.Linkname)
			}
			if t := path.Clean(path.Join(path.Dir(rel), h.Linkname)); t == ".." || strings.HasPrefix(t, "../") {
				return fmt.Errorf("archive link %q points outside the destination (%s)", h.Name, h.Linkname)
			}
			s.links[rel] = true
			if err := s.tw.WriteHeader(&tar.Header{Name: s.stage + "/" + rel, Typeflag: tar.TypeSymlink, Linkname: h.Linkname, Mode: 0o777, ModTime: h.ModTime}); err != nil {
				return err
			}
		case tar.TypeLink:
			target, err := s.check(h.Linkname)
			if err != nil || target == "" {
				return fmt.Errorf("archive link %q points outside the destination", h.Name)
			}
			if err := s.tw.WriteHeader(&tar.Header{Name: s.stage + "/" + rel, Typeflag: tar.TypeLink, Linkname: s.stage + "/" + target, ModTime: h.ModTime}); err != nil {
				return err
			}
			if w, ok := s.m.Files[target]; ok {
				s.m.Files[rel] = w
			}
		default:
			return fmt.Errorf("archive entry %q is a kind of file Berth does not write (devices, fifos)", h.Name)
		}
	}
}
