package swarm

import (
	"context"
	"slices"
	"sort"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

// VolumeCopy is a mapping's volume on one node (volumes are local to their node).
type VolumeCopy struct {
	Node string
	Size int64 // bytes; -1 when the engine does not say
	// Reachable is false for nodes Berth cannot reach yet (their size and contents are unknown).
	Reachable bool
}

// MappingState is what the engine knows of a volume mapping.
type MappingState struct {
	Name   string
	Copies []VolumeCopy
	UsedBy []Usage
}

// MappingStates reports, for each mapping name, the nodes holding its volume and the services mounting it:
// read from each node's engine (through its agent) where it can be, else guessed from where tasks mounting it ran.
// It asks every node now: for actions. Pages use KnownMappingStates.
func (e *Engine) MappingStates(ctx context.Context, names []string) (map[string]MappingState, error) {
	return e.mappingStates(ctx, names, e.volumesOf)
}

// KnownMappingStates is MappingStates from each node's volume listing as last read in
// the background (VolumeFacts), without asking any node.
func (e *Engine) KnownMappingStates(ctx context.Context, names []string) (map[string]MappingState, error) {
	return e.mappingStates(ctx, names, func(_ context.Context, n NodeInfo) ([]NodeVolume, error) {
		vols, _, err := e.facts.volumes(n.Hostname)
		return vols, err
	})
}

func (e *Engine) mappingStates(ctx context.Context, names []string, read func(context.Context, NodeInfo) ([]NodeVolume, error)) (map[string]MappingState, error) {
	out := map[string]MappingState{}
	for _, n := range names {
		out[n] = MappingState{Name: n}
	}
	use, err := e.usages(ctx, false)
	if err != nil {
		return nil, err
	}
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var guessed map[string][]string // read only when a node cannot be asked
	for _, n := range nodes {
		vols, err := read(ctx, n)
		if err != nil {
			if guessed == nil {
				if guessed, err = e.taskCopies(ctx, out, nodes); err != nil {
					return nil, err
				}
			}
			for name, st := range out {
				if slices.Contains(guessed[name], n.Hostname) {
					st.Copies = append(st.Copies, VolumeCopy{Node: n.Hostname, Size: -1})
					out[name] = st
				}
			}
			continue
		}
		for _, v := range vols {
			if st, ok := out[v.Name]; ok {
				st.Copies = append(st.Copies, VolumeCopy{Node: n.Hostname, Size: v.Size, Reachable: true})
				out[v.Name] = st
			}
		}
	}
	for name, st := range out {
		st.UsedBy = use.volumes[name]
		sort.Slice(st.Copies, func(i, j int) bool { return st.Copies[i].Node < st.Copies[j].Node })
		out[name] = st
	}
	return out, nil
}

// taskCopies names, per mapping, the nodes where a task mounting it was scheduled (so its volume exists there).
func (e *Engine) taskCopies(ctx context.Context, mappings map[string]MappingState, nodes []NodeInfo) (map[string][]string, error) {
	var tasks []dswarm.Task
	if m := e.liveModel(); m != nil {
		tasks = m.rawTasks(func(t *dswarm.Task) bool { // only placed tasks that mount a volume are copied
			return t.NodeID != "" && t.Spec.ContainerSpec != nil && len(t.Spec.ContainerSpec.Mounts) > 0
		})
	} else {
		var err error
		if tasks, err = e.cli.TaskList(ctx, dswarm.TaskListOptions{}); err != nil {
			return nil, e.wrap(err)
		}
	}
	hostname := map[string]string{}
	for _, n := range nodes {
		hostname[n.ID] = n.Hostname
	}
	out := map[string][]string{}
	for _, t := range tasks {
		if t.NodeID == "" || t.Spec.ContainerSpec == nil {
			continue
		}
		for _, m := range t.Spec.ContainerSpec.Mounts {
			if _, ok := mappings[m.Source]; ok && m.Type == "volume" && !slices.Contains(out[m.Source], hostname[t.NodeID]) {
				out[m.Source] = append(out[m.Source], hostname[t.NodeID])
			}
		}
	}
	return out, nil
}

// CreateMappingVolume creates the mapping's local volume on the engine's node.
func (e *Engine) CreateMappingVolume(ctx context.Context, name string) error {
	_, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: name, Driver: "local", Labels: map[string]string{ManagedLabel: "true"}})
	if err != nil {
		return e.wrap(err)
	}
	e.rereadLocalVolumes(ctx)
	return nil
}

// RemoveMappingVolume deletes the mapping's volume on the engine's node, refusing while services mount it.
func (e *Engine) RemoveMappingVolume(ctx context.Context, name string) error {
	if e.remote == nil { // another node's engine has no service list: its own refusal names the containers
		use, err := e.usages(ctx, true)
		if err != nil {
			return err
		}
		if u := use.volumes[name]; len(u) > 0 {
			return &InUseError{Kind: KindVolume, Name: name, Services: ServiceNames(u)}
		}
	}
	err := e.cli.VolumeRemove(ctx, name, false)
	if err == nil || cerrdefs.IsNotFound(err) {
		e.rereadLocalVolumes(ctx)
		return nil
	}
	if cerrdefs.IsConflict(err) {
		users, _ := e.cli.ContainerList(ctx, containerListByVolume(name))
		var names []string
		for _, c := range users {
			names = append(names, c.Labels["com.docker.swarm.service.name"])
		}
		return &InUseError{Kind: KindVolume, Name: name, Services: names, Engine: e.plainError(err)}
	}
	return e.wrap(err)
}

func containerListByVolume(name string) (o container.ListOptions) {
	o.All = true
	o.Filters = filters.NewArgs(filters.Arg("volume", name))
	return o
}
