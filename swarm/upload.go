package swarm

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/berthhq/berth/swarm/agent"
	"github.com/berthhq/berth/swarm/volumewrite"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"
)

// helperMount is where the helper container sees the volume.
const helperMount = "/berth-volume"

// Upload says what to write into a volume mapping on the engine's node.
type Upload struct {
	Node      string // hostname or id; "" is the engine's node
	Mapping   string
	Dest      string
	Kind      string // volumewrite.KindFile, KindTar, KindTgz, KindZip
	Name      string
	Size      int64
	Overwrite bool
	MaxTotal  int64 // archives: the most their files may add up to unpacked (the upload limit)
}

// SetHelperBinary names the static Berth binary copied into helper containers
// (by default the running executable, which is static in Berth's image).
func (e *Engine) SetHelperBinary(path string) { e.helperBinary = path }

// UploadToVolume writes an upload into the mapping's volume on the node (another node's through its agent):
// through a named pipe to a helper on the node when the pipe folder is shared
// (uploadThroughPipe), else the engine's archive endpoint (what docker cp uses) writes a staging folder into
// the volume while Berth checks the stream, and a helper container created from an
// image already on the node, running Berth's own static binary and waiting on its
// stdin meanwhile, then moves it into place or throws it away. Nothing goes
// through the service's containers or is held whole in memory.
func (e *Engine) UploadToVolume(ctx context.Context, u Upload, body io.Reader) ([]volumewrite.Written, error) {
	if u.Node != "" && e.remote == nil {
		on, err := e.OnNode(ctx, u.Node, agent.Grant{Action: agent.ActUpload, Volume: u.Mapping})
		if err != nil {
			return nil, err
		}
		if on != e { // another node: the same work, through its agent
			u.Node = ""
			written, err := on.UploadToVolume(ctx, u, body)
			if err == nil {
				e.pokeVolumeFacts() // the node page shows the new size soon, not in two minutes
			}
			return written, err
		}
	}
	img, err := e.helperImage(ctx, u.Mapping)
	if err != nil {
		return nil, err
	}
	if e.pipeDir != "" {
		written, err := e.uploadThroughPipe(ctx, u, img, body)
		if !errors.Is(err, errNoPipe) {
			return written, err
		}
	}
	stage := volumewrite.NewStageName()
	id, err := e.createHelper(ctx, &container.Config{
		Image: img, Entrypoint: e.helperEntrypoint(), Cmd: []string{"volume-write", "--root", helperMount, "--finish", stage, "--wait"},
		User: "0", NetworkDisabled: true, Labels: map[string]string{ManagedLabel: "true", "berth.helper": "upload"},
		OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
	}, &container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: u.Mapping, Target: helperMount}}})
	if err != nil {
		return nil, err
	}
	// The helper has answered (or never ran) when this returns: removing it need not hold up the answer.
	defer func() { go e.removeHelper(id) }()
	// The helper starts while the upload streams, so it is ready when the stream ends.
	helper := make(chan helperRun, 1)
	go func() { helper <- e.startHelper(context.WithoutCancel(ctx), id) }()

	pipe := newBufferedPipe(8, archiveBuffer)
	staged := make(chan error, 1)
	go func() {
		tw := tar.NewWriter(pipe)
		err := volumewrite.Stage(volumewrite.Request{Dest: u.Dest, Kind: u.Kind, Name: u.Name, Size: u.Size, Overwrite: u.Overwrite, MaxTotal: u.MaxTotal}, body, tw, stage)
		if err == nil {
			err = tw.Close()
		}
		pipe.CloseWithError(err)
		staged <- err
	}()
	copyErr := e.putArchive(ctx, id, helperMount, pipe)
	pipe.CloseRead(io.ErrClosedPipe) // unblock the stager if the engine stopped reading
	stageErr := <-staged

	run := <-helper
	if run.err != nil {
		return nil, fmt.Errorf("the upload helper did not start (%w); the volume may hold a staging folder %s to delete", run.err, stage)
	}
	// The helper finishes a whole upload and throws anything else away.
	word := "finish\n"
	if stageErr != nil || copyErr != nil {
		word = "abort\n"
	}
	written, finishErr := run.finish(word)
	switch {
	case stageErr != nil:
		return nil, stageErr
	case copyErr != nil:
		return nil, fmt.Errorf("the engine could not write the upload: %s", e.plainError(copyErr))
	}
	return written, finishErr
}

// helperRun is a started helper container, attached to its stdin and output.
type helperRun struct {
	conn types.HijackedResponse
	err  error
}

// startHelper puts Berth's binary into the helper container, attaches to it and starts it.
func (e *Engine) startHelper(ctx context.Context, id string) helperRun {
	if err := e.copyHelper(ctx, id); err != nil {
		return helperRun{err: err}
	}
	conn, err := e.cli.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return helperRun{err: e.wrap(err)}
	}
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		conn.Close()
		return helperRun{err: e.wrap(err)}
	}
	return helperRun{conn: conn}
}

// finish gives the helper its word and reads its one-line JSON answer, without
// waiting for the container to wind down.
func (r helperRun) finish(word string) ([]volumewrite.Written, error) {
	defer r.conn.Close()
	if _, err := io.WriteString(r.conn.Conn, word); err != nil {
		return nil, fmt.Errorf("the upload helper stopped early: %w", err)
	}
	r.conn.CloseWrite()
	answer := &lineWriter{}
	var stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(answer, &stderr, r.conn.Reader); err != nil && !errors.Is(err, errLineDone) {
		return nil, fmt.Errorf("the upload helper's answer broke off: %w", err)
	}
	var res struct {
		Written []volumewrite.Written `json:"written"`
		Error   string                `json:"error"`
	}
	if err := json.Unmarshal(answer.buf.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("the helper gave no answer: %s", bytes.TrimSpace(stderr.Bytes()))
	}
	if res.Error != "" {
		return nil, errors.New(res.Error)
	}
	return res.Written, nil
}

// errLineDone stops reading once a lineWriter has its line.
var errLineDone = errors.New("line complete")

// lineWriter keeps what is written up to the first newline, then refuses more.
type lineWriter struct{ buf bytes.Buffer }

func (w *lineWriter) Write(p []byte) (int, error) {
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		w.buf.Write(p[:i+1])
		return i + 1, errLineDone
	}
	return w.buf.Write(p)
}

// helperImage picks an image already on the node: one of a container that mounts the mapping, else any.
func (e *Engine) helperImage(ctx context.Context, mapping string) (string, error) {
	if e.remote != nil {
		return e.remote.image, nil // the agent lets helpers run only its own image, which is Berth's
	}
	users, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("volume", mapping))})
	if err != nil {
		return "", e.wrap(err)
	}
	for _, c := range users {
		if c.Labels["berth.helper"] == "" {
			return c.ImageID, nil
		}
	}
	images, err := e.cli.ImageList(ctx, image.ListOptions{})
	if err != nil {
		return "", e.wrap(err)
	}
	if len(images) == 0 {
		return "", errors.New("no image on this node can host the upload helper")
	}
	return images[0].ID, nil
}

// helperPath is the static Berth binary helpers run.
func (e *Engine) helperPath() (string, error) {
	if e.helperBinary != "" {
		return e.helperBinary, nil
	}
	return os.Executable()
}

// helperEntrypoint is Berth's binary in a helper: copied in by copyHelper, or the image's own on another node.
func (e *Engine) helperEntrypoint() []string {
	if e.remote != nil {
		return []string{"/berth"}
	}
	return []string{"/berth-helper"}
}

// copyHelper puts the static Berth binary into the helper container, streamed from
// disk (not needed on another node, whose helpers run the agent's image).
func (e *Engine) copyHelper(ctx context.Context, id string) error {
	if e.remote != nil {
		return nil
	}
	path, err := e.helperPath()
	if err != nil {
		return err
	}
	if p := e.HelperProblem(); p != "" {
		return errors.New(p)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("the upload helper binary: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: "berth-helper", Mode: 0o755, Size: st.Size()})
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return e.putArchive(ctx, id, "/", pr)
}
