package swarm

import (
	"context"
	"fmt"

	dswarm "github.com/docker/docker/api/types/swarm"
)

// JoinCommand is what a new node runs to join the swarm in one role.
type JoinCommand struct {
	Role    string // worker or manager
	Token   string
	Addr    string // a manager's address, host:port
	Command string // the whole command line
}

// JoinCommands reads the swarm's join tokens and this manager's address (an action: the
// tokens are not kept in the live model's pages).
func (e *Engine) JoinCommands(ctx context.Context) (worker, manager JoinCommand, err error) {
	sw, err := e.cli.SwarmInspect(ctx)
	if err != nil {
		return worker, manager, e.wrap(err)
	}
	info, err := e.cli.Info(ctx)
	if err != nil {
		return worker, manager, e.wrap(err)
	}
	addr := ""
	for _, m := range info.Swarm.RemoteManagers {
		if addr == "" || m.NodeID == info.Swarm.NodeID {
			addr = m.Addr
		}
	}
	if addr == "" {
		return worker, manager, &engineError{msg: "This engine knows no manager address to join.", kind: ErrUnreachable}
	}
	cmd := func(role, token string) JoinCommand {
		return JoinCommand{Role: role, Token: token, Addr: addr, Command: fmt.Sprintf("docker swarm join --token %s %s", token, addr)}
	}
	return cmd("worker", sw.JoinTokens.Worker), cmd("manager", sw.JoinTokens.Manager), nil
}

// RotateJoinToken replaces the worker's or the manager's join token: the old one joins no node after.
func (e *Engine) RotateJoinToken(ctx context.Context, role string) error {
	if role != "worker" && role != "manager" {
		return &SpecError{Fields: map[string]string{"role": "Choose worker or manager."}}
	}
	sw, err := e.cli.SwarmInspect(ctx)
	if err != nil {
		return e.wrap(err)
	}
	flags := dswarm.UpdateFlags{RotateWorkerToken: role == "worker", RotateManagerToken: role == "manager"}
	if err := e.cli.SwarmUpdate(ctx, sw.Version, sw.Spec, flags); err != nil {
		return e.wrap(err)
	}
	if m := e.liveModel(); m != nil {
		m.refreshCluster(ctx)
	}
	return nil
}

// RemoveNode removes a worker that is down or has left the swarm; a node still up is
// refused with what to do first (drain it, then leave or shut it down), a manager until demoted.
func (e *Engine) RemoveNode(ctx context.Context, idOrName string) error {
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return err
	}
	n, err := FindNode(nodes, idOrName)
	if err != nil {
		return err
	}
	switch {
	case n.Role == "manager":
		return &SpecError{Fields: map[string]string{"node": "Node " + n.Hostname + " is a manager: demote it to a worker first (the quorum check shows the effect)."}}
	case n.Status != "down":
		return &SpecError{Fields: map[string]string{"node": "Node " + n.Hostname + " is " + n.Status + ": drain it, then run `docker swarm leave` on it or shut it down; it can be removed once it is down."}}
	}
	if err := e.cli.NodeRemove(ctx, n.ID, dswarm.NodeRemoveOptions{}); err != nil {
		return e.wrap(err)
	}
	return nil
}
