package swarm

import (
	"context"
	"os"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
)

// EngineSocket is the host path of the engine socket Berth itself uses, for the load
// balancer's mount: the socket Berth's own container mounts when it runs in one, else the
// path in DOCKER_HOST, else Docker's default.
// It is asked of the engine once, not per page view (an engine that did not answer is asked again).
func (e *Engine) EngineSocket(ctx context.Context) string {
	if known := e.socket.Load(); known != nil {
		return *known
	}
	host := e.cli.DaemonHost()
	path, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return lbSocketPath
	}
	found := path
	if name, err := os.Hostname(); err == nil {
		c, err := e.cli.ContainerInspect(ctx, name)
		if err != nil && !cerrdefs.IsNotFound(err) {
			return path // no answer: say the likely path, and ask again next time
		}
		if err == nil {
			for _, m := range c.Mounts {
				if m.Destination == path {
					found = m.Source
				}
			}
		}
	}
	e.socket.Store(&found)
	return found
}

// checkImageOnNode refuses a load balancer image that the node Berth runs on neither has nor can pull,
// before any task fails on it; another node's images are its own to check.
func (e *Engine) checkImageOnNode(ctx context.Context, lb LoadBalancer) error {
	if lb.Node != e.Cached().NodeName {
		return nil
	}
	if _, err := e.cli.ImageInspect(ctx, lb.Image); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return e.wrap(err)
	}
	if err := e.PullImage(ctx, lb.Image, nil); err != nil {
		return &SpecError{Fields: map[string]string{"image": "The image " + lb.Image + " is not on " + lb.Node + " and could not be pulled (" + e.plainError(err) +
			"): load it onto the node, or choose an image it has."}}
	}
	return nil
}
