package swarm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm/agent"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
)

// Container is a running container of a service, as the terminal needs it.
type Container struct {
	ID      string
	Name    string
	Service string
	TaskID  string
	Node    string
	Running bool
	// Escapes are what gives the container the node (see agent.ContainerEscapes): no terminal opens there.
	Escapes []string

	on *Engine // the engine of the container's node
}

// ErrRemoteNode means the container runs on a node whose engine Berth cannot reach.
var ErrRemoteNode = errors.New("the container runs on another node")

// Container finds a task container on any node (through the node's agent when it
// is not this engine's node) and says which service and task it belongs to.
func (e *Engine) Container(ctx context.Context, id string) (Container, error) {
	c, err := e.cli.ContainerInspect(ctx, id)
	if err != nil {
		if cerrdefs.IsNotFound(err) && e.remote == nil {
			if node, full := e.remoteNodeOf(id); node != "" {
				return e.remoteContainer(ctx, node, full)
			}
			return Container{}, &engineError{msg: "No container " + id + " on any node.", kind: ErrNotFound}
		}
		return Container{}, e.wrap(err)
	}
	out := Container{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), Service: c.Config.Labels["com.docker.swarm.service.name"],
		TaskID: c.Config.Labels["com.docker.swarm.task.id"], Node: e.LocalNode(ctx), Running: c.State != nil && c.State.Running,
		Escapes: agent.ContainerEscapes(c.HostConfig, c.Mounts), on: e}
	return out, nil
}

// remoteContainer looks the container up through its node's agent, with a grant for a terminal in it alone.
func (e *Engine) remoteContainer(ctx context.Context, node, id string) (Container, error) {
	on, err := e.OnNode(ctx, node, agent.Grant{Action: agent.ActTerminal, Container: id})
	if err != nil {
		return Container{}, fmt.Errorf("%w (%s): %w", ErrRemoteNode, node, err)
	}
	return on.Container(ctx, id)
}

// remoteNodeOf names the node and full id of a task container the live model knows of on another node.
func (e *Engine) remoteNodeOf(containerID string) (node, fullID string) {
	m := e.liveModel()
	if m == nil {
		return "", ""
	}
	for _, s := range m.Services() {
		for _, t := range s.Tasks {
			if t.ContainerID != "" && (t.ContainerID == containerID || strings.HasPrefix(t.ContainerID, containerID)) {
				return t.Node, t.ContainerID
			}
		}
	}
	return "", ""
}

// ExecOptions chooses the shell, user and working directory of a terminal.
type ExecOptions struct {
	Shell   string // one of agent.TerminalShells; "" picks the first that exists
	User    string
	WorkDir string
	Cols    uint
	Rows    uint
}

// Exec is a running process with a terminal inside a container.
type Exec struct {
	ID        string
	Shell     string
	conn      types.HijackedResponse
	e         *Engine
	container string
	marker    string // the value of sessionEnv that every process of this session inherits
}

// sessionEnv marks a terminal's processes so they can be ended when the terminal closes.
const sessionEnv = agent.TerminalEnv

func randomMarker() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// ErrNoShell means none of the wanted shells exists in the container.
var ErrNoShell = errors.New("no shell found in the container")

// StartExec starts a shell with a TTY in a running container found by Container.
func (e *Engine) StartExec(ctx context.Context, ct Container, o ExecOptions) (*Exec, error) {
	if ct.on != nil && ct.on != e {
		return ct.on.StartExec(ctx, ct, o)
	}
	containerID := ct.ID
	shells := agent.TerminalShells
	if o.Shell != "" {
		if !slices.Contains(agent.TerminalShells, o.Shell) {
			return nil, fmt.Errorf("%w: %s is not one of %s", ErrNoShell, o.Shell, strings.Join(agent.TerminalShells, ", "))
		}
		shells = []string{o.Shell}
	}
	shell := ""
	for _, s := range shells {
		if _, err := e.cli.ContainerStatPath(ctx, containerID, s); err == nil {
			shell = s
			break
		}
	}
	if shell == "" {
		return nil, fmt.Errorf("%w: tried %s", ErrNoShell, strings.Join(shells, ", "))
	}
	marker := randomMarker()
	created, err := e.cli.ContainerExecCreate(ctx, containerID, container.ExecOptions{
		Cmd: []string{shell}, Tty: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		User: o.User, WorkingDir: o.WorkDir, Env: []string{"TERM=xterm-256color", sessionEnv + "=" + marker},
	})
	if err != nil {
		return nil, e.wrap(err)
	}
	// Attaching starts the exec; API 1.41 ignores a console size here, so resize right after.
	conn, err := e.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: true})
	if err != nil {
		return nil, e.wrap(err)
	}
	x := &Exec{ID: created.ID, Shell: shell, conn: conn, e: e, container: containerID, marker: marker}
	if o.Cols > 0 && o.Rows > 0 {
		_ = x.Resize(ctx, o.Cols, o.Rows)
	}
	return x, nil
}

// Output is the terminal's output stream (raw bytes: with a TTY nothing is multiplexed).
func (x *Exec) Output() io.Reader { return x.conn.Reader }

// Input writes keystrokes to the terminal.
func (x *Exec) Input(p []byte) (int, error) { return x.conn.Conn.Write(p) }

// Resize sets the terminal's size.
func (x *Exec) Resize(ctx context.Context, cols, rows uint) error {
	return x.e.cli.ContainerExecResize(ctx, x.ID, container.ResizeOptions{Width: cols, Height: rows})
}

// Close ends the connection and, if the shell still runs, hangs up every process
// of the session (the shell and whatever it started), then kills what is left.
func (x *Exec) Close() error {
	err := x.conn.Conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res, ierr := x.e.cli.ContainerExecInspect(ctx, x.ID); ierr != nil || !res.Running {
		return err
	}
	killer, kerr := x.e.cli.ContainerExecCreate(ctx, x.container, container.ExecOptions{Cmd: []string{x.Shell, "-c", agent.CleanupScript(x.marker)}, User: "0"})
	if kerr != nil {
		x.e.log.Warn("terminal left running: cannot start its cleanup", "container", x.container, "error", kerr)
		return err
	}
	if kerr := x.e.cli.ContainerExecStart(ctx, killer.ID, container.ExecStartOptions{}); kerr != nil {
		x.e.log.Warn("terminal left running: cleanup failed", "container", x.container, "error", kerr)
	}
	return err
}

// ExitCode waits briefly for the process to end and returns its exit code (-1 if it still runs).
func (x *Exec) ExitCode(ctx context.Context) int {
	for i := 0; i < 20; i++ {
		res, err := x.e.cli.ContainerExecInspect(ctx, x.ID)
		if err == nil && !res.Running {
			return res.ExitCode
		}
		time.Sleep(50 * time.Millisecond)
	}
	return -1
}

// CheckContainer refuses a terminal in a container that is not a task of a service
// an operator may operate, or that holds a way to the node, for every role.
func (e *Engine) CheckContainer(ctx context.Context, ct Container) error {
	name := ct.Name
	if name == "" {
		name = ct.ID
	}
	switch {
	case ct.Service == "" || ct.TaskID == "":
		return &Refusal{Kind: "container", Name: name, Reason: "it is not a task of a swarm service; terminals open only in services' tasks"}
	case len(ct.Escapes) > 0:
		return &Refusal{Kind: "container", Name: name, Reason: "a shell there would reach the node: " + strings.Join(ct.Escapes, "; ")}
	}
	return e.CheckService(ctx, ct.Service, false)
}
