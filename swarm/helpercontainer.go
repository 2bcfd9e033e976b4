package swarm

import (
	"context"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

// createHelper creates a helper container whatever becomes of the request that asked
// for it: a client hanging up mid-call must not leave a container Berth never heard of.
func (e *Engine) createHelper(ctx context.Context, cfg *container.Config, host *container.HostConfig) (string, error) {
	created, err := e.cli.ContainerCreate(context.WithoutCancel(ctx), cfg, host, nil, nil, "")
	if err != nil {
		return "", e.wrap(err)
	}
	return created.ID, nil
}

// removeHelper removes a helper container, trying again for up to a minute when the
// engine is busy with it (still starting, or being killed), and logs if it stays.
func (e *Engine) removeHelper(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		err := e.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
		if err == nil || cerrdefs.IsNotFound(err) {
			return
		}
		select {
		case <-ctx.Done():
			if e.log != nil {
				e.log.Warn("a helper container could not be removed; Berth removes it at its next start", "container", id, "error", err)
			}
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}
