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

	"github.com/berthhq/berth/swarm/volumewrite"
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
	Mapping   string
	Dest      string
	Kind      string // volumewrite.KindFile, KindTar, KindTgz, KindZip
	Name      string
	Size      int64
	Overwrite bool
}

// SetHelperBinary names the static Berth binary copied into helper containers
// (by default the running executable, which is static in Berth's image).
func (e *Engine) SetHelperBinary(path string) { e.helperBinary = path }

// UploadToVolume writes an upload into the mapping's volume on the engine's node:
// the engine's archive endpoint (what docker cp uses) writes a staging folder into
// the volume while Berth checks the stream, then a helper container created from an
// image already on the node, running Berth's own static binary, moves it into
// place. Nothing goes through the service's containers or is held whole in memory.
func (e *Engine) UploadToVolume(ctx context.Context, u Upload, body io.Reader) ([]volumewrite.Written, error) {
	img, err := e.helperImage(ctx, u.Mapping)
	if err != nil {
		return nil, err
	}
	stage := volumewrite.NewStageName()
	created, err := e.cli.ContainerCreate(ctx, &container.Config{
		Image: img, Entrypoint: []string{"/berth-helper"}, Cmd: []string{"volume-write", "--root", helperMount, "--finish", stage},
		User: "0", NetworkDisabled: true, Labels: map[string]string{ManagedLabel: "true", "berth.helper": "upload"},
	}, &container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: u.Mapping, Target: helperMount}}}, nil, nil, "")
	if err != nil {
		return nil, e.wrap(err)
	}
	defer e.cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	if err := e.copyHelper(ctx, created.ID); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	staged := make(chan error, 1)
	go func() {
		tw := tar.NewWriter(pw)
		err := volumewrite.Stage(volumewrite.Request{Dest: u.Dest, Kind: u.Kind, Name: u.Name, Size: u.Size, Overwrite: u.Overwrite}, body, tw, stage)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
		staged <- err
	}()
	copyErr := e.cli.CopyToContainer(ctx, created.ID, helperMount, pr, container.CopyToContainerOptions{})
	pr.CloseWithError(io.ErrClosedPipe) // unblock the stager if the engine stopped reading
	stageErr := <-staged
	// The helper runs either way: it finishes a whole upload and throws a partial one away.
	written, finishErr := e.runHelper(context.WithoutCancel(ctx), created.ID)
	switch {
	case stageErr != nil:
		return nil, stageErr
	case copyErr != nil:
		return nil, fmt.Errorf("the engine could not write the upload: %s", e.plainError(copyErr))
	}
	return written, finishErr
}

// runHelper starts the helper container, waits for it and reads its JSON answer.
func (e *Engine) runHelper(ctx context.Context, id string) ([]volumewrite.Written, error) {
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return nil, e.wrap(err)
	}
	waitC, errC := e.cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		return nil, e.wrap(err)
	}
	logs, err := e.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, e.wrap(err)
	}
	defer logs.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, logs); err != nil {
		return nil, err
	}
	var res struct {
		Written []volumewrite.Written `json:"written"`
		Error   string                `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("the helper gave no answer: %s", bytes.TrimSpace(stderr.Bytes()))
	}
	if res.Error != "" {
		return nil, errors.New(res.Error)
	}
	return res.Written, nil
}

// helperImage picks an image already on the node: one of a container that mounts the mapping, else any.
func (e *Engine) helperImage(ctx context.Context, mapping string) (string, error) {
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

// copyHelper puts the static Berth binary into the helper container, streamed from disk.
func (e *Engine) copyHelper(ctx context.Context, id string) error {
	path := e.helperBinary
	if path == "" {
		var err error
		if path, err = os.Executable(); err != nil {
			return err
		}
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
	if err := e.cli.CopyToContainer(ctx, id, "/", pr, container.CopyToContainerOptions{}); err != nil {
		return e.wrap(err)
	}
	return nil
}
