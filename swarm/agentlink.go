package swarm

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/berthhq/berth/swarm/agent"
	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// grantLifetime bounds one piece of node-local work: its last call (closing a terminal,
// removing a helper after a long copy) must still be allowed, so it outlives the longest
// terminal session the settings allow and a day of copying.
func grantLifetime(action string) time.Duration {
	if action == agent.ActTerminal {
		return 73 * time.Hour
	}
	return 24 * time.Hour
}

// OnNode returns an engine for node-local work on the node (by hostname or id):
// this engine for its own node, else one that reaches the node's engine through
// its agent and may do only what the grant allows there.
func (e *Engine) OnNode(ctx context.Context, node string, g agent.Grant) (*Engine, error) {
	if node == "" || node == e.LocalNode(ctx) {
		return e, nil
	}
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	n, err := FindNode(nodes, node)
	if err != nil {
		return nil, err
	}
	return e.On(ctx, n, g)
}

// nodeAway says that a node which is not ready cannot be reached.
func nodeAway(n NodeInfo) error {
	return &engineError{msg: "Node " + n.Hostname + " is " + n.Status + ": its containers, images and volumes cannot be reached until it is back.", kind: ErrUnreachable}
}

// On is OnNode for a node the caller has listed already.
func (e *Engine) On(ctx context.Context, n NodeInfo, g agent.Grant) (*Engine, error) {
	if n.Hostname == e.LocalNode(ctx) {
		return e, nil
	}
	if !n.Ready() {
		return nil, nodeAway(n)
	}
	missing := &engineError{msg: "The Berth agent is not running on node " + n.Hostname + ": deploy it from the Nodes page (or wait for it to start there).", kind: ErrAgentMissing}
	l := e.link()
	if l == nil {
		return nil, missing
	}
	tasks, err := e.cli.TaskList(ctx, dswarm.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("service", AgentService), filters.Arg("node", n.ID), filters.Arg("desired-state", "running"))})
	if err != nil {
		return nil, e.wrap(err)
	}
	addr, image := "", ""
	for _, t := range tasks {
		if t.Status.State != dswarm.TaskStateRunning {
			continue
		}
		image = t.Spec.ContainerSpec.Image // helpers there run the agent's own image
		if l.setup.Publish {
			addr = net.JoinHostPort(n.Addr, strconv.Itoa(agent.Port))
		} else {
			addr = overlayAddr(t)
		}
	}
	if addr == "" {
		return nil, missing
	}
	g.Node, g.Expires = n.ID, time.Now().Add(grantLifetime(g.Action)).Unix()
	signed := agent.Sign(l.grant, g)
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+addr), client.WithHTTPClient(&http.Client{Transport: l.pool(addr)}),
		client.WithAPIVersionNegotiation(), client.WithHTTPHeaders(map[string]string{agent.Header: signed}))
	if err != nil {
		return nil, err
	}
	return &Engine{cli: cli, log: e.log, last: Status{Reachable: true, SwarmState: "active", NodeName: n.Hostname},
		remote: &remoteNode{node: n.Hostname, image: image, grant: signed, url: agentURL(l.tls != nil, addr)}}, nil
}

// overlayAddr is the agent task's address on Berth's overlay network.
func overlayAddr(t dswarm.Task) string {
	for _, na := range t.NetworksAttachments {
		if na.Network.Spec.Name != DefaultNetwork {
			continue
		}
		for _, a := range na.Addresses {
			if ip, _, err := net.ParseCIDR(a); err == nil {
				return net.JoinHostPort(ip.String(), strconv.Itoa(agent.Port))
			}
		}
	}
	return ""
}

// pool is the connection pool to one agent, shared by every grant's client.
func (l *agentLink) pool(addr string) *http.Transport {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.pools[addr]; ok {
		return t
	}
	t := &http.Transport{TLSClientConfig: l.tls, MaxIdleConnsPerHost: statsAtOnce, IdleConnTimeout: 30 * time.Second, TLSHandshakeTimeout: 10 * time.Second}
	l.pools[addr] = t
	return t
}

// remoteNode is set on an engine that reaches another node through its agent.
type remoteNode struct {
	node  string // hostname
	image string // the agents' image, which helpers there run
	grant string // the signed grant every call carries
	url   string // the agent's own address, for its answers that are not engine calls
}

// agentURL is an agent's base address.
func agentURL(tls bool, addr string) string {
	if tls {
		return "https://" + addr
	}
	return "http://" + addr
}
