package swarm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stdcopy"
)

// volumeHelper creates a helper container (never started) from an image already on
// the node, with the volume mounted, and returns its id and a function removing it.
func (e *Engine) volumeHelper(ctx context.Context, volume, purpose string) (string, func(), error) {
	img, err := e.helperImage(ctx, volume)
	if err != nil {
		return "", nil, err
	}
	id, err := e.createHelper(ctx, &container.Config{
		Image: img, Entrypoint: e.helperEntrypoint(), NetworkDisabled: true,
		Labels: map[string]string{ManagedLabel: "true", "berth.helper": purpose},
	}, &container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: volume, Target: helperMount, ReadOnly: purpose == "backup"}}})
	if err != nil {
		return "", nil, err
	}
	return id, func() { e.removeHelper(id) }, nil
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
	if err := e.ensureVolume(ctx, volume); err != nil {
		return err
	}
	id, remove, err := e.volumeHelper(ctx, volume, "restore")
	if err != nil {
		return err
	}
	defer remove()
	return e.putArchive(ctx, id, helperMount, r)
}

// ensureVolume creates a missing volume as Berth's (its managed label), so a restore's
// new volume can be mapped later without being adopted; an existing one stays as it is.
func (e *Engine) ensureVolume(ctx context.Context, name string) error {
	if ok, err := e.VolumeExists(ctx, name); err != nil || ok {
		return err
	}
	if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: name, Driver: "local", Labels: map[string]string{ManagedLabel: "true"}}); err != nil {
		return e.wrap(err)
	}
	return nil
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

// VolumeMadeByBerth says whether the volume exists on the engine's node and whether Berth created it (its managed label).
func (e *Engine) VolumeMadeByBerth(ctx context.Context, volume string) (exists, made bool, err error) {
	v, err := e.cli.VolumeInspect(ctx, volume)
	if cerrdefs.IsNotFound(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, e.wrap(err)
	}
	return true, v.Labels[ManagedLabel] == "true", nil
}

// ArchiveAnswer is the backup helper's report on the archive it wrote.
type ArchiveAnswer struct {
	Size      int64  `json:"size"`
	DataBytes int64  `json:"data_bytes"`
	SHA256    string `json:"sha256"`
	Error     string `json:"error,omitempty"`
}

// ArchiveVolumeInto runs Berth's own binary in a helper container on the volume's
// node to write a compressed archive of the volume straight into hostDir/name
// (hostDir, the backup directory as the node sees it, is mounted; probe names a
// file Berth put there, so a wrong folder is refused rather than written to).
func (e *Engine) ArchiveVolumeInto(ctx context.Context, volume, hostDir, name, probe string) (ArchiveAnswer, error) {
	img, err := e.helperImage(ctx, volume)
	if err != nil {
		return ArchiveAnswer{}, err
	}
	id, err := e.createHelper(ctx, &container.Config{
		Image: img, Entrypoint: e.helperEntrypoint(), User: "0", NetworkDisabled: true,
		Cmd: []string{"volume-archive", "--root", helperMount, "--out", "/berth-backup/" + name, "--probe", "/berth-backup/" + probe,
			"--uid", strconv.Itoa(os.Getuid()), "--gid", strconv.Itoa(os.Getgid())},
		Labels: map[string]string{ManagedLabel: "true", "berth.helper": "backup"},
	}, &container.HostConfig{Mounts: []mount.Mount{
		{Type: mount.TypeVolume, Source: volume, Target: helperMount, ReadOnly: true},
		{Type: mount.TypeBind, Source: hostDir, Target: "/berth-backup"},
	}})
	if err != nil {
		return ArchiveAnswer{}, err
	}
	defer e.removeHelper(id)
	if err := e.copyHelper(ctx, id); err != nil {
		return ArchiveAnswer{}, err
	}
	var answer ArchiveAnswer
	if err := e.runHelperJSON(ctx, id, &answer); err != nil {
		return answer, err
	}
	if answer.Error != "" {
		return answer, errors.New(answer.Error)
	}
	return answer, nil
}

// runHelperJSON starts a helper container, waits for it to end and decodes its JSON answer.
func (e *Engine) runHelperJSON(ctx context.Context, id string, answer any) error {
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return e.wrap(err)
	}
	waitC, errC := e.cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		return e.wrap(err)
	}
	return e.helperAnswer(ctx, id, answer)
}

// helperAnswer decodes the JSON a helper container printed before it ended.
func (e *Engine) helperAnswer(ctx context.Context, id string, answer any) error {
	logs, err := e.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return e.wrap(err)
	}
	defer logs.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, logs); err != nil {
		return err
	}
	if err := json.Unmarshal(stdout.Bytes(), answer); err != nil {
		return fmt.Errorf("the helper gave no answer: %s", bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// RestoreArchiveInto runs Berth's own binary in a helper container on the engine's
// node: it checks the archive hostDir/name (mounted read-only) against sha256 and
// writes it into the volume, which is created if missing. It answers the bytes written.
func (e *Engine) RestoreArchiveInto(ctx context.Context, volume, hostDir, name, sha256 string) (int64, error) {
	if err := e.ensureVolume(ctx, volume); err != nil {
		return 0, err
	}
	img, err := e.helperImage(ctx, volume)
	if err != nil {
		return 0, err
	}
	id, err := e.createHelper(ctx, &container.Config{
		Image: img, Entrypoint: e.helperEntrypoint(), User: "0", NetworkDisabled: true,
		Cmd:    []string{"volume-restore", "--root", helperMount, "--archive", "/berth-backup/" + name, "--sha256", sha256},
		Labels: map[string]string{ManagedLabel: "true", "berth.helper": "restore"},
	}, &container.HostConfig{Mounts: []mount.Mount{
		{Type: mount.TypeVolume, Source: volume, Target: helperMount},
		{Type: mount.TypeBind, Source: hostDir, Target: "/berth-backup", ReadOnly: true},
	}})
	if err != nil {
		return 0, err
	}
	defer e.removeHelper(id)
	if err := e.copyHelper(ctx, id); err != nil {
		return 0, err
	}
	var answer struct {
		Bytes int64  `json:"bytes"`
		Error string `json:"error"`
	}
	if err := e.runHelperJSON(ctx, id, &answer); err != nil {
		return 0, err
	}
	if answer.Error != "" {
		return answer.Bytes, errors.New(answer.Error)
	}
	return answer.Bytes, nil
}

// RemoveLeftoverHelpers removes helper containers a stopped Berth left behind (a
// backup helper keeps running when Berth is killed) and says how many.
func (e *Engine) RemoveLeftoverHelpers(ctx context.Context) (int, error) {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "berth.helper"))})
	if err != nil {
		return 0, e.wrap(err)
	}
	for _, c := range list {
		if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return 0, e.wrap(err)
		}
	}
	return len(list), nil
}
