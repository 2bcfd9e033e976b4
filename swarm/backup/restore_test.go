package backup

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/berthhq/berth/swarm"
)

// nodesOnly answers the node list and the engine's own node; nothing else is called.
type nodesOnly struct {
	Engine
	self  string
	nodes []swarm.NodeInfo
}

func (n nodesOnly) Cached() swarm.Status                            { return swarm.Status{NodeName: n.self} }
func (n nodesOnly) LocalNode(context.Context) string                { return n.self }
func (n nodesOnly) Nodes(context.Context) ([]swarm.NodeInfo, error) { return n.nodes, nil }

// VolumesOn reaches only the engine's own node, as an engine with no agents does.
func (n nodesOnly) VolumesOn(_ context.Context, node swarm.NodeInfo, _, _ string) (swarm.VolumeWork, error) {
	if node.Hostname != n.self {
		return nil, errors.New("The Berth agent is not running on node " + node.Hostname + ": deploy it from the Nodes page.")
	}
	return nil, nil
}

func TestRestoreRefusesNodesItCannotWriteTo(t *testing.T) {
	r := &Runner{Engine: nodesOnly{self: "manager1", nodes: []swarm.NodeInfo{
		{Hostname: "manager1", Role: "manager", Status: "ready"},
		{Hostname: "worker1", Role: "worker", Status: "down"},
		{Hostname: "worker2", Role: "worker", Status: "ready"},
	}}}
	for node, want := range map[string]string{
		"manager1": "",
		"ghost":    "There is no node named ghost.",
		"worker1":  "Node worker1 is down",
		"worker2":  "The Berth agent is not running on node worker2",
	} {
		_, err := r.checkNode(context.Background(), node, "data")
		var re *RequestError
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", node, err)
		case want != "" && (!errors.As(err, &re) || re.Field != "node" || !strings.Contains(re.Msg, want)):
			t.Errorf("%s: %v, want a node field error saying %q", node, err, want)
		}
	}
}
