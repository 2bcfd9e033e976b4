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
	"strconv"

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

// UploadToVolume streams an upload into the mapping's volume through a helper
// container created from an image already on the node: never through the
// service's own containers, and never held whole in memory.
func (e *Engine) UploadToVolume(ctx context.Context, u Upload, body io.Reader) ([]volumewrite.Written, error) {
	img, err := e.helperImage(ctx, u.Mapping)
	if err != nil {
		return nil, err
	}
	args := []string{"volume-write", "--root", helperMount, "--dest", u.Dest, "--kind", u.Kind, "--name", u.Name,
		"--size", strconv.FormatInt(u.Size, 10), "--overwrite=" + strconv.FormatBool(u.Overwrite)}
	created, err := e.cli.ContainerCreate(ctx, &container.Config{
		Image: img, Entrypoint: []string{"/berth-helper"}, Cmd: args, User: "0", NetworkDisabled: true,
		OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Labels: map[string]string{ManagedLabel: "true", "berth.helper": "upload"},
	}, &container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: u.Mapping, Target: helperMount}}}, nil, nil, "")
	if err != nil {
		return nil, e.wrap(err)
	}
	defer e.cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	if err := e.copyHelper(ctx, created.ID); err != nil {
		return nil, err
	}
	att, err := e.cli.ContainerAttach(ctx, created.ID, container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, e.wrap(err)
	}
	defer att.Close()
	if err := e.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return nil, e.wrap(err)
	}
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(att.Conn, body)
		att.CloseWrite()
		sent <- err
	}()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); err != nil {
		return nil, fmt.Errorf("reading the helper's answer: %w", err)
	}
	sendErr := <-sent
	var res struct {
		Written []volumewrite.Written `json:"written"`
		Error   string                `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		if sendErr != nil {
			return nil, fmt.Errorf("the upload broke off: %v", sendErr)
		}
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
