package volumewrite

import (
	"archive/tar"
	"io"
)

// Write runs an upload the way Berth does on a node: Stage streams a tar, the
// helper unpacks it into the volume, and Finish moves it into place or throws it away.
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
	Unpack(req.Root, stage, pr)
	io.Copy(io.Discard, pr)
	if err := <-staged; err != nil {
		Finish(req.Root, stage) // throws the partial staging folder away
		return nil, err
	}
	return Finish(req.Root, stage)
}
