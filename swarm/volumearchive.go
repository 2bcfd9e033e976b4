package swarm

import (
	"context"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// volumeHelper creates a helper container (never started) from an image already on
// the node, with the volume mounted, and returns its id and a function removing it.
func (e *Engine) volumeHelper(ctx context.Context, volume, purpose string) (string, func(), error) {
	img, err := e.helperImage(ctx, volume)
	if err != nil {
		return "", nil, err
	}
	created, err := e.cli.ContainerCreate(ctx, &container.Config{
		Image: img, Entrypoint: []string{"/berth-helper"}, NetworkDisabled: true,
		Labels: map[string]string{ManagedLabel: "true", "berth.helper": purpose},
	}, &container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: volume, Target: helperMount}}}, nil, nil, "")
	if err != nil {
		return "", nil, e.wrap(err)
	}
	return created.ID, func() {
		e.cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	}, nil
}

// ExportVolume writes a tar archive of the volume's data on the engine's node
// (entries relative to the volume's root), through a helper container.
func (e *Engine) ExportVolume(ctx context.Context, volume string, w io.Writer) error {
	if ok, err := e.VolumeExists(ctx, volume); err != nil {
		return err
	} else if !ok {
		return &engineError{msg: "There is no volume " + volume + " on " + e.Cached().NodeName + ".", kind: ErrNotFound}
	}
	id, remove, err := e.volumeHelper(ctx, volume, "backup")
	if err != nil {
		return err
	}
	defer remove()
	rc, _, err := e.cli.CopyFromContainer(ctx, id, helperMount+"/.")
	if err != nil {
		return e.wrap(err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("reading volume %s: %w", volume, err)
	}
	return nil
}

// ImportVolume writes a tar archive (as ExportVolume makes) into the volume on the
// engine's node, creating the volume if it does not exist; files of the same name are replaced.
func (e *Engine) ImportVolume(ctx context.Context, volume string, r io.Reader) error {
	id, remove, err := e.volumeHelper(ctx, volume, "restore")
	if err != nil {
		return err
	}
	defer remove()
	return e.putArchive(ctx, id, helperMount, r)
}

// VolumeExists reports whether the engine's node has the volume.
func (e *Engine) VolumeExists(ctx context.Context, volume string) (bool, error) {
	_, err := e.cli.VolumeInspect(ctx, volume)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, e.wrap(err)
	}
	return true, nil
}
