package swarm

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berthhq/berth/swarm/volumewrite"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"golang.org/x/sys/unix"
)

// SetUploadPipeDir names a folder on the engine's node (the same path for Berth and
// the node) where uploads pass to their helper through a named pipe, bypassing the
// engine's archive endpoint; "" (or a folder the node does not see) uses the endpoint.
func (e *Engine) SetUploadPipeDir(dir string) { e.pipeDir = dir }

// errNoPipe means the helper could not open the named pipe: use the archive endpoint.
var errNoPipe = errors.New("the upload pipe is not shared with the node")

// uploadThroughPipe streams the staged upload into a named pipe that a helper on the
// node reads and unpacks into the volume, then finishes or throws away. It returns
// errNoPipe, having read nothing of body, when the helper cannot reach the pipe.
func (e *Engine) uploadThroughPipe(ctx context.Context, u Upload, img string, body io.Reader) ([]volumewrite.Written, error) {
	stage := volumewrite.NewStageName()
	dir := filepath.Join(e.pipeDir, stage)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errNoPipe
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "pipe")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return nil, errNoPipe
	}
	bin, err := e.sharedHelper()
	if err != nil {
		return nil, errNoPipe
	}
	// Berth's binary is mounted from the shared folder rather than copied into the helper.
	id, err := e.createHelper(ctx, &container.Config{
		Image: img, Entrypoint: []string{"/berth-helper"}, User: "0", NetworkDisabled: true,
		Cmd:    []string{"volume-write", "--root", helperMount, "--finish", stage, "--fifo", "/berth-pipe/pipe", "--answer", "/berth-pipe/answer.json"},
		Labels: map[string]string{ManagedLabel: "true", "berth.helper": "upload"},
	}, &container.HostConfig{Mounts: []mount.Mount{
		{Type: mount.TypeVolume, Source: u.Mapping, Target: helperMount},
		{Type: mount.TypeBind, Source: dir, Target: "/berth-pipe"},
		{Type: mount.TypeBind, Source: bin, Target: "/berth-helper", ReadOnly: true},
	}})
	if err != nil {
		return nil, err
	}
	defer func() { go e.removeHelper(id) }()
	bg := context.WithoutCancel(ctx)
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return nil, errNoPipe // a bind source the node does not have fails here
	}
	exited, _ := e.cli.ContainerWait(bg, id, container.WaitConditionNotRunning)
	w, err := openWhenRead(ctx, fifo, exited)
	if err != nil {
		return nil, err
	}
	unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 1<<20) // fewer hand-offs between Berth and the helper
	tw := tar.NewWriter(w)
	stageErr := volumewrite.Stage(volumewrite.Request{Dest: u.Dest, Kind: u.Kind, Name: u.Name, Size: u.Size, Overwrite: u.Overwrite, MaxTotal: u.MaxTotal}, body, tw, stage)
	if stageErr == nil {
		stageErr = tw.Close()
	}
	w.Close() // the helper sees the end of the stream: whole (with its manifest) or cut short
	var answer struct {
		Written []volumewrite.Written `json:"written"`
		Error   string                `json:"error"`
	}
	if err := e.awaitAnswer(bg, id, filepath.Join(dir, "answer.json"), exited, &answer); err != nil {
		return nil, err
	}
	switch {
	case stageErr != nil:
		return nil, stageErr
	case answer.Error != "":
		return nil, errors.New(answer.Error)
	}
	return answer.Written, nil
}

// openWhenRead opens the pipe for writing once the helper has opened it for reading;
// errNoPipe if the helper ends first or does not come within 10 seconds.
func openWhenRead(ctx context.Context, fifo string, exited <-chan container.WaitResponse) (*os.File, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.ENXIO) {
			return nil, fmt.Errorf("the upload pipe: %w", err)
		}
		select {
		case <-exited:
			return nil, errNoPipe
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errNoPipe
		}
	}
}

// awaitAnswer reads the helper's answer from its file as soon as it is there, or from
// its output once it ended without writing one.
func (e *Engine) awaitAnswer(ctx context.Context, id, file string, exited <-chan container.WaitResponse, answer any) error {
	for {
		if raw, err := os.ReadFile(file); err == nil {
			return json.Unmarshal(raw, answer)
		}
		select {
		case <-exited:
			if raw, err := os.ReadFile(file); err == nil {
				return json.Unmarshal(raw, answer)
			}
			return e.helperAnswer(ctx, id, answer)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// sharedHelper keeps a copy of Berth's binary in the pipe folder, which the node sees
// at the same path (the running executable may live where it does not, in a container).
func (e *Engine) sharedHelper() (string, error) {
	src, err := e.helperPath()
	if err != nil {
		return "", err
	}
	if p := e.HelperProblem(); p != "" {
		return "", errors.New(p)
	}
	want, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(e.pipeDir, "berth-helper")
	if have, err := os.Stat(dst); err == nil && have.Size() == want.Size() && !have.ModTime().Before(want.ModTime()) {
		return dst, nil
	}
	if err := os.MkdirAll(e.pipeDir, 0o700); err != nil {
		return "", err
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(e.pipeDir, ".berth-helper-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp.Name(), dst)
}
