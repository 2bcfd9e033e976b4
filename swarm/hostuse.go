package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/berthhq/berth/swarm/agent"
)

// HostUse is a node's memory and data-root disk use (agent.HostUse).
type HostUse = agent.HostUse

// hostOf reads a node's memory and the disk under Docker's data root: this node's
// directly, another's from its agent (on is that node's engine, from On with the stats grant).
func (e *Engine) hostOf(ctx context.Context, on *Engine) (HostUse, error) {
	if on.remote == nil {
		return agent.ReadHost(e.localDataRoot(ctx))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, on.remote.url+agent.HostPath, nil)
	if err != nil {
		return HostUse{}, err
	}
	req.Header.Set(agent.Header, on.remote.grant)
	res, err := on.cli.HTTPClient().Do(req)
	if err != nil {
		return HostUse{}, fmt.Errorf("read node %s's memory and disk: %w", on.remote.node, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return HostUse{}, fmt.Errorf("read node %s's memory and disk: the agent answered %s: %s", on.remote.node, res.Status, strings.TrimSpace(string(msg)))
	}
	var u HostUse
	if err := json.NewDecoder(res.Body).Decode(&u); err != nil {
		return HostUse{}, fmt.Errorf("read node %s's memory and disk: %w", on.remote.node, err)
	}
	return u, nil
}

// localDataRoot is the engine's data root when this process sees it (Berth run beside
// the engine), else "/" (Berth in a container, whose root lies on that data root).
func (e *Engine) localDataRoot(ctx context.Context) string {
	if p := e.dataRoot.Load(); p != nil {
		return *p
	}
	root := "/"
	if info, err := e.cli.Info(ctx); err == nil && info.DockerRootDir != "" {
		if _, err := os.Stat(info.DockerRootDir); err == nil {
			root = info.DockerRootDir
		}
		e.dataRoot.Store(&root)
	}
	return root
}
