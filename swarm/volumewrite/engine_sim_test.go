package volumewrite

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
)

// Write runs an upload the way Berth does on a node: Stage streams a tar, the
// engine's archive endpoint (simulated by unpack) writes it into the volume, and
// Finish moves it into place or throws it away.
func Write(req Request, r io.Reader) ([]Written, error) {
	stage := NewStageName()
	pr, pw := io.Pipe()
	staged := make(chan error, 1)
	go func() {
		tw := tar.NewWriter(pw)
		err := Stage(req, r, tw, stage)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
		staged <- err
	}()
	unpack(req.Root, pr)
	io.Copy(io.Discard, pr)
	if err := <-staged; err != nil {
		Finish(req.Root, stage) // throws the partial staging folder away
		return nil, err
	}
	return Finish(req.Root, stage)
}

// unpack writes a tar stream under root as the engine does, stopping where the stream breaks.
func unpack(root string, r io.Reader) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			return
		}
		dst := filepath.Join(root, filepath.FromSlash(h.Name))
		os.MkdirAll(filepath.Dir(dst), 0o755)
		switch h.Typeflag {
		case tar.TypeDir:
			os.MkdirAll(dst, 0o755)
		case tar.TypeReg:
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode))
			if err != nil {
				return
			}
			_, err = io.Copy(f, tr)
			f.Close()
			if err != nil {
				return
			}
		case tar.TypeSymlink:
			os.Symlink(h.Linkname, dst)
		case tar.TypeLink:
			os.Link(filepath.Join(root, filepath.FromSlash(h.Linkname)), dst)
		}
	}
}
