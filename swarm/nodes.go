package swarm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// NodeInfo is a swarm node as the nodes page shows it.
type NodeInfo struct {
	ID            string
	SpecStamp     string // what the page's actions are based on: changes only when someone changes the node's spec
	Hostname      string
	Role          string // manager or worker
	Leader        bool
	Status        string // ready, down, unknown, disconnected
	Availability  string // active, pause, drain
	Reachability  string // managers: reachable, unreachable, unknown
	Addr          string
	EngineVersion string
	Labels        map[string]string
	CPUs          float64
	MemoryBytes   int64
	RunningTasks  int
}

// Manager reports whether the node is a manager.
func (n NodeInfo) Manager() bool { return n.Role == string(dswarm.NodeRoleManager) }

// Ready reports whether the node is up.
func (n NodeInfo) Ready() bool { return n.Status == string(dswarm.NodeStateReady) }

// Nodes lists the swarm's nodes, managers first, without their task counts.
func (e *Engine) Nodes(ctx context.Context) ([]NodeInfo, error) {
	var list []dswarm.Node
	if m := e.liveModel(); m != nil {
		list = m.rawNodes()
	} else {
		var err error
		if list, err = e.cli.NodeList(ctx, dswarm.NodeListOptions{}); err != nil {
			return nil, e.wrap(err)
		}
	}
	out := make([]NodeInfo, 0, len(list))
	for _, n := range list {
		out = append(out, nodeInfo(n, 0))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Manager() != out[j].Manager() {
			return out[i].Manager()
		}
		return out[i].Hostname < out[j].Hostname
	})
	return out, nil
}

// NodeInfos lists the nodes with their running task counts, managers first.
func (e *Engine) NodeInfos(ctx context.Context) ([]NodeInfo, error) {
	out, err := e.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	tasks, err := e.tasks(ctx, "", "", true)
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		for i := range out {
			if out[i].ID == t.NodeID {
				out[i].RunningTasks++
			}
		}
	}
	return out, nil
}

func nodeInfo(n dswarm.Node, running int) NodeInfo {
	i := NodeInfo{ID: n.ID, SpecStamp: specStamp(n.Spec), Hostname: n.Description.Hostname, Role: string(n.Spec.Role),
		Status: string(n.Status.State), Availability: string(n.Spec.Availability), Addr: n.Status.Addr,
		EngineVersion: n.Description.Engine.EngineVersion, Labels: n.Spec.Labels, RunningTasks: running,
		CPUs: float64(n.Description.Resources.NanoCPUs) / 1e9, MemoryBytes: n.Description.Resources.MemoryBytes}
	if m := n.ManagerStatus; m != nil {
		i.Leader, i.Reachability = m.Leader, string(m.Reachability)
		if a := m.Addr; a != "" && i.Addr == "" {
			i.Addr = a
		}
	}
	return i
}

// tasks lists the tasks the swarm wants running (and, with running, that do), on one
// node and of one service when given (ids), from the live model when it runs; only the
// tasks asked for are copied out of it.
func (e *Engine) tasks(ctx context.Context, nodeID, serviceID string, running bool) ([]dswarm.Task, error) {
	keep := func(t *dswarm.Task) bool {
		return t.DesiredState == dswarm.TaskStateRunning && (!running || t.Status.State == dswarm.TaskStateRunning) &&
			(nodeID == "" || t.NodeID == nodeID) && (serviceID == "" || t.ServiceID == serviceID)
	}
	if m := e.liveModel(); m != nil {
		return m.rawTasks(keep), nil
	}
	f := filters.NewArgs(filters.Arg("desired-state", "running"))
	if nodeID != "" {
		f.Add("node", nodeID)
	}
	if serviceID != "" {
		f.Add("service", serviceID)
	}
	list, err := e.cli.TaskList(ctx, dswarm.TaskListOptions{Filters: f})
	if err != nil {
		return nil, e.wrap(err)
	}
	var out []dswarm.Task
	for i := range list {
		if keep(&list[i]) {
			out = append(out, list[i])
		}
	}
	return out, nil
}

// ErrNoNode means no node has the name or id given.
var ErrNoNode = fmt.Errorf("%w: no such node", ErrNotFound)

// FindNode picks a node by id or hostname from a listing.
func FindNode(nodes []NodeInfo, idOrName string) (NodeInfo, error) {
	for _, n := range nodes {
		if n.ID == idOrName || n.Hostname == idOrName {
			return n, nil
		}
	}
	return NodeInfo{}, &engineError{msg: "No node named " + idOrName + ".", kind: ErrNoNode}
}

// NodeTasks lists the tasks the swarm wants running on a node.
func (e *Engine) NodeTasks(ctx context.Context, id string) ([]Task, error) {
	tasks, err := e.tasks(ctx, id, "", false)
	if err != nil {
		return nil, err
	}
	services, err := e.Services(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, s := range services {
		names[s.ID] = s.Spec.Name
	}
	out := make([]Task, 0, len(tasks))
	for _, t := range tasks {
		task := Task{ID: t.ID, Node: id, State: string(t.Status.State), DesiredState: string(t.DesiredState), Message: t.Status.Message,
			Error: t.Status.Err, UpdatedAt: t.UpdatedAt, Service: names[t.ServiceID]}
		if t.Status.ContainerStatus != nil {
			task.ContainerID = t.Status.ContainerStatus.ContainerID
		}
		out = append(out, task)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out, nil
}

// ErrStale means the node changed since the view an action was based on.
var ErrStale = errors.New("the node changed since this page was loaded")

// specStamp digests what people change on a node (role, availability, labels): the
// swarm's version index also moves with status updates, which are no one's edit.
func specStamp(spec dswarm.NodeSpec) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s", spec.Role, spec.Availability, spec.Name)
	keys := make([]string, 0, len(spec.Labels))
	for k := range spec.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "|%q=%q", k, spec.Labels[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// UpdateNode changes a node's spec, refusing when the spec is no longer the one the caller saw.
// NodeChange is one change to a node's spec, in Berth's terms; fields left empty stay as they are.
type NodeChange struct {
	Role         string // manager or worker
	Availability string // active, pause or drain
	SetLabel     string // a label key to set to LabelValue
	LabelValue   string
	RemoveLabel  string // a label key to remove
}

// apply makes the change to a spec.
func (ch NodeChange) apply(s *dswarm.NodeSpec) {
	if ch.Role != "" {
		s.Role = dswarm.NodeRole(ch.Role)
	}
	if ch.Availability != "" {
		s.Availability = dswarm.NodeAvailability(ch.Availability)
	}
	if ch.SetLabel != "" {
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[ch.SetLabel] = ch.LabelValue
	}
	if ch.RemoveLabel != "" {
		delete(s.Labels, ch.RemoveLabel)
	}
}

// UpdateNode applies a change to a node whose spec is still the one stamp names (ErrStale otherwise).
func (e *Engine) UpdateNode(ctx context.Context, id, stamp string, change NodeChange) error {
	for attempt := 0; ; attempt++ {
		n, _, err := e.cli.NodeInspectWithRaw(ctx, id)
		if err != nil {
			return e.wrap(err)
		}
		if specStamp(n.Spec) != stamp {
			return ErrStale
		}
		spec := n.Spec
		change.apply(&spec)
		err = e.cli.NodeUpdate(ctx, id, n.Version, spec)
		if err != nil && strings.Contains(err.Error(), "out of sequence") && attempt < 3 {
			continue // a status update moved the version: read again, the spec check decides
		}
		if err != nil {
			return e.wrap(err)
		}
		return nil
	}
}

// RoleChange says whether a promotion or demotion may go ahead, and what it risks.
type RoleChange struct {
	Refusal  string   // set: the change must not happen
	Warnings []string // the user confirms these first
}

// CheckRoleChange weighs promoting or demoting a node against the managers' quorum.
func CheckRoleChange(nodes []NodeInfo, id, role string) RoleChange {
	var target *NodeInfo
	managers, reachable := 0, 0
	for i := range nodes {
		n := &nodes[i]
		if n.ID == id {
			target = n
		}
		if n.Manager() {
			managers++
			if n.Reachability == "reachable" {
				reachable++
			}
		}
	}
	var rc RoleChange
	switch {
	case target == nil:
		rc.Refusal = "There is no such node."
		return rc
	case target.Role == role:
		rc.Refusal = fmt.Sprintf("%s is already a %s.", target.Hostname, role)
		return rc
	case role == "manager" && target.Status != "ready":
		rc.Refusal = fmt.Sprintf("%s is %s: a node must be up to join the managers.", target.Hostname, target.Status)
		return rc
	case role == "worker" && managers == 1:
		rc.Refusal = fmt.Sprintf("%s is the last manager: the swarm cannot run without one. Promote another node first.", target.Hostname)
		return rc
	}
	after, reachableAfter := managers+1, reachable+1
	if role == "worker" {
		after, reachableAfter = managers-1, reachable
		if target.Reachability == "reachable" {
			reachableAfter--
		}
	}
	quorum := after/2 + 1
	if role == "worker" && reachableAfter < quorum {
		rc.Refusal = fmt.Sprintf("Demoting %s would leave %d reachable managers of %d, fewer than the %d a quorum needs: the swarm would stop accepting changes.", target.Hostname, reachableAfter, after, quorum)
		return rc
	}
	if after%2 == 0 {
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("This leaves %d managers, an even number: it tolerates no more manager failures than %d would (%d), while one more manager must agree on every change.", after, after-1, (after-1)/2))
	}
	if reachableAfter-1 < quorum {
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("With %d managers, losing one more would lose the quorum (%d needed): the swarm would stop accepting changes until it returns.", after, quorum))
	}
	if role == "worker" && target.Leader {
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("%s is the leader: the managers elect another, and changes pause for a few seconds.", target.Hostname))
	}
	return rc
}

var labelKey = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$`)

// ValidateNodeLabel checks a label the way placement constraints can use it.
func ValidateNodeLabel(key, value string) (field, msg string) {
	switch {
	case !labelKey.MatchString(key):
		return "key", "Use lower-case letters, digits, '.', '_' and '-', starting and ending with a letter or digit (at most 128), such as zone or berth.data."
	case strings.HasPrefix(key, "com.docker.") || strings.HasPrefix(key, "io.docker.") || strings.HasPrefix(key, "org.dockerproject."):
		return "key", "Docker reserves this prefix."
	case len(value) > 1024 || strings.ContainsAny(value, "=\x00\n\r\t"):
		return "value", "A value has at most 1024 characters, no '=' or control characters."
	}
	return "", ""
}
