// Package swarm is the Docker engine in Berth's words: it owns the client and
// answers in the portal's own types, never in Docker API structs.
package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// ManagedLabel marks every object Berth creates.
const ManagedLabel = "berth.managed"

// DefaultNetwork is the encrypted overlay network services join by default.
const DefaultNetwork = "berth"

// Engine is Berth's connection to one Docker engine.
type Engine struct {
	cli *client.Client
	log *slog.Logger

	mu   sync.RWMutex
	last Status

	// model, when running, answers reads from memory.
	model *Model
	// helperBinary is the static Berth binary helper containers run ("" is this executable).
	helperBinary string
	// pipeDir is where uploads pass to their helper through named pipes ("": not at all).
	pipeDir string
	// agents reaches the Berth agents on other nodes (nil: none configured); replaced whole when keys change.
	agents atomic.Pointer[agentLink]
	// remote is set when this engine is another node's, reached through its agent.
	remote *remoteNode
	// socket is the engine socket's host path once known (EngineSocket): it does not change while Berth runs.
	socket atomic.Pointer[string]
	// facts holds each node's volumes as last read in the background (volumefacts.go).
	facts volumeFacts
	// dataRoot is where this node's engine keeps its data, as this process sees it (hostuse.go).
	dataRoot atomic.Pointer[string]
	// calls counts engine API calls by the route that made them (origin.go).
	calls sync.Map
}

// Connect creates a client from the standard DOCKER_HOST environment (through
// getenv) with API version negotiation; it does not need the engine to be up.
func Connect(getenv func(string) string, log *slog.Logger) (*Engine, error) {
	host := getenv("DOCKER_HOST")
	if host == "" {
		host = client.DefaultDockerHost
	}
	e := &Engine{log: log, last: Status{Error: "not checked yet"}}
	base, counted := newTransport(&e.calls)
	cli, err := client.NewClientWithOpts(client.WithAPIVersionNegotiation(),
		client.WithHTTPClient(&http.Client{Transport: base, CheckRedirect: client.CheckRedirect}),
		client.WithHost(host), // configures base for the host's scheme
		client.WithHTTPClient(&http.Client{Transport: counted, CheckRedirect: client.CheckRedirect}))
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	e.cli = cli
	return e, nil
}

// link is the engine's agent setup (nil when none).
func (e *Engine) link() *agentLink { return e.agents.Load() }

// Close releases the client.
func (e *Engine) Close() error { return e.cli.Close() }

// Status is what the dashboard and the banner show about the engine.
type Status struct {
	Reachable     bool
	Error         string // why the engine is unreachable, in plain words
	CheckedAt     time.Time
	EngineVersion string
	APIVersion    string
	SwarmState    string // "inactive", "pending", "active", "error", "locked"
	IsManager     bool
	NodeName      string
	NodeAddr      string
	Nodes         int
	Managers      int
	Services      int
	Tasks         int
	RunningTasks  int
	HasNetwork    bool // the encrypted overlay network exists
}

// SwarmActive reports whether the engine is part of a swarm.
func (s Status) SwarmActive() bool { return s.SwarmState == "active" }

// Cached returns the last known status without calling the engine.
func (e *Engine) Cached() Status {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.last
}

// Current is the last known status with the live model's counts, without calling the engine.
func (e *Engine) Current() Status {
	st := e.Cached()
	if m := e.liveModel(); m != nil && st.SwarmActive() && st.IsManager {
		st.Services, st.Tasks, st.RunningTasks = m.counts()
		st.HasNetwork = m.hasNetwork(DefaultNetwork)
	}
	return st
}

// LocalNode is the hostname of the node this engine runs on, asking the engine when its status was not read yet.
func (e *Engine) LocalNode(ctx context.Context) string {
	if name := e.Cached().NodeName; name != "" {
		return name
	}
	return e.Refresh(ctx).NodeName
}

// Refresh asks the engine for its current status and remembers it.
func (e *Engine) Refresh(ctx context.Context) Status {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	st := e.status(ctx)
	st.CheckedAt = time.Now()
	e.mu.Lock()
	was := e.last.Reachable
	e.last = st
	e.mu.Unlock()
	if was != st.Reachable && e.log != nil {
		if st.Reachable {
			e.log.Info("docker engine reachable", "version", st.EngineVersion, "swarm", st.SwarmState)
		} else {
			e.log.Warn("docker engine unreachable", "error", st.Error)
		}
	}
	return st
}

func (e *Engine) status(ctx context.Context) Status {
	info, err := e.cli.Info(ctx)
	if err != nil {
		return Status{Error: e.plainError(err)}
	}
	st := Status{
		Reachable:     true,
		EngineVersion: info.ServerVersion,
		APIVersion:    e.cli.ClientVersion(),
		SwarmState:    string(info.Swarm.LocalNodeState),
		IsManager:     info.Swarm.ControlAvailable,
		NodeName:      info.Name,
		NodeAddr:      info.Swarm.NodeAddr,
		Nodes:         info.Swarm.Nodes,
		Managers:      info.Swarm.Managers,
	}
	if !st.SwarmActive() || !st.IsManager {
		return st
	}
	if m := e.liveModel(); m != nil {
		st.Services, st.Tasks, st.RunningTasks = m.counts()
		st.HasNetwork = m.hasNetwork(DefaultNetwork)
		return st
	}
	services, err := e.cli.ServiceList(ctx, dswarm.ServiceListOptions{})
	if err != nil {
		st.Error = e.plainError(err)
		return st
	}
	st.Services = len(services)
	tasks, err := e.cli.TaskList(ctx, dswarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("desired-state", "running"))})
	if err != nil {
		st.Error = e.plainError(err)
		return st
	}
	st.Tasks = len(tasks)
	for _, t := range tasks {
		if t.Status.State == dswarm.TaskStateRunning {
			st.RunningTasks++
		}
	}
	nets, err := e.cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", DefaultNetwork))})
	if err == nil {
		for _, n := range nets {
			st.HasNetwork = st.HasNetwork || n.Name == DefaultNetwork
		}
	}
	return st
}

// Watch refreshes the status every interval until ctx ends, so the banner
// clears by itself when the engine comes back.
func (e *Engine) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for first := true; ; first = false {
		e.Refresh(ctx)
		if first {
			e.EngineSocket(ctx) // asked once, here, so no page has to
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Initialize makes the engine a single-manager swarm (unless it already is one)
// and creates the encrypted overlay network for services.
func (e *Engine) Initialize(ctx context.Context, advertiseAddr string) error {
	info, err := e.cli.Info(ctx)
	if err != nil {
		return e.wrap(err)
	}
	if info.Swarm.LocalNodeState == dswarm.LocalNodeStateInactive {
		_, err := e.cli.SwarmInit(ctx, dswarm.InitRequest{ListenAddr: "0.0.0.0:2377", AdvertiseAddr: advertiseAddr})
		if err != nil {
			return fmt.Errorf("swarm init: %s", e.plainError(err))
		}
	} else if !info.Swarm.ControlAvailable {
		return errors.New("this engine is a swarm worker: connect Berth to a manager")
	}
	if err := e.ensureNetwork(ctx); err != nil {
		return fmt.Errorf("swarm is active, but %w", err)
	}
	return nil
}

// ensureNetwork creates the encrypted overlay network unless it exists.
func (e *Engine) ensureNetwork(ctx context.Context) error {
	_, err := e.cli.NetworkCreate(ctx, DefaultNetwork, network.CreateOptions{
		Driver:     "overlay",
		Attachable: true,
		Options:    map[string]string{"encrypted": ""},
		Labels:     map[string]string{ManagedLabel: "true"},
	})
	if err != nil && !cerrdefs.IsConflict(err) && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("creating the %q network failed: %s", DefaultNetwork, e.plainError(err))
	}
	return nil
}

// ValidateAdvertiseAddr returns a message saying what is wrong with an advertise address, or "".
func ValidateAdvertiseAddr(addr string) string {
	if addr == "" {
		return ""
	}
	host := addr
	if h, port, err := net.SplitHostPort(addr); err == nil {
		host = h
		if p, err := net.LookupPort("tcp", port); err != nil || p < 1 {
			return "The port must be a number from 1 to 65535."
		}
	}
	if net.ParseIP(host) == nil {
		return "Enter an IP address of this machine, such as 10.0.0.5 or 10.0.0.5:2377."
	}
	return ""
}

// SuggestAdvertiseAddr returns the first global unicast IPv4 address of this machine, or "".
func SuggestAdvertiseAddr() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
			return ipn.IP.String()
		}
	}
	return ""
}

// isUnreachable reports whether err means the engine could not be reached at all.
func isUnreachable(err error) bool {
	msg := err.Error()
	return client.IsErrConnectionFailed(err) || strings.Contains(msg, "connect: no such file") || strings.Contains(msg, "connection refused")
}

// plainError turns client errors into a sentence for the page.
func (e *Engine) plainError(err error) string {
	msg := err.Error()
	switch {
	case e.remote != nil && (strings.Contains(msg, "tls: ") || strings.Contains(msg, "x509: ")):
		return "The Berth agent on node " + e.remote.node + " and this portal do not hold matching keys (redeploy the agent from the Nodes page): " + msg
	case e.remote != nil && isUnreachable(err):
		return "The Berth agent on node " + e.remote.node + " did not answer: " + msg
	case isUnreachable(err):
		return "Cannot connect to the Docker engine at " + e.cli.DaemonHost() + ". Check that dockerd is running and that Berth can reach its socket."
	case errors.Is(err, context.DeadlineExceeded):
		return "The Docker engine did not answer in time."
	}
	return strings.TrimPrefix(msg, "Error response from daemon: ")
}
