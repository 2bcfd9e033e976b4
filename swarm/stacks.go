package swarm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// StackLabel is the label docker stack deploy (and Berth's stacks) put on a stack's objects.
const StackLabel = stackLabel

// StackImageLabel is the label docker stack deploy puts on a service: the image its file names.
const StackImageLabel = "com.docker.stack.image"

// stackAlias is the name a stack's service answers to on its networks: its key in the
// compose file, as docker stack deploy sets it ("db" for app_db).
func stackAlias(name string, labels map[string]string) string {
	ns := labels[stackLabel]
	if ns == "" || !strings.HasPrefix(name, ns+"_") {
		return ""
	}
	return strings.TrimPrefix(name, ns+"_")
}

// StackSummary is one stack as the swarm runs it: the services carrying its label.
type StackSummary struct {
	Name     string
	Services []Service
	Running  int
	Desired  int
}

// Stacks groups the services by the stack label they carry, from the live model.
func (e *Engine) Stacks(ctx context.Context) ([]StackSummary, error) {
	list, err := e.Services(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]*StackSummary{}
	var out []StackSummary
	for _, s := range list {
		ns := s.Spec.Labels[stackLabel]
		if ns == "" {
			continue
		}
		st, ok := byName[ns]
		if !ok {
			out = append(out, StackSummary{Name: ns})
			st = &out[len(out)-1]
			byName[ns] = st
		}
		st.Services = append(st.Services, s)
		st.Running += s.Running
		st.Desired += s.Desired
	}
	// Pointers into out moved as it grew: count again from the final slice.
	for i := range out {
		out[i].Running, out[i].Desired = 0, 0
		for _, s := range out[i].Services {
			out[i].Running += s.Running
			out[i].Desired += s.Desired
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Stack returns one stack's services (ErrNotFound when no service carries its label).
func (e *Engine) Stack(ctx context.Context, name string) (StackSummary, error) {
	list, err := e.Stacks(ctx)
	if err != nil {
		return StackSummary{}, err
	}
	for _, st := range list {
		if st.Name == name {
			return st, nil
		}
	}
	return StackSummary{Name: name}, fmt.Errorf("stack %s: %w", name, ErrNotFound)
}

// ReservedNetwork says why a network name is not a stack's to create ("" when it may be).
func ReservedNetwork(name string) string {
	switch name {
	case DefaultNetwork:
		return "it is Berth's own network: join it with external: true"
	case "ingress", "host", "bridge", "none", "docker_gwbridge":
		return "it is Docker's own network"
	}
	return ""
}

// EnsureStackNetwork creates a stack's overlay network unless one of that name exists,
// and reports whether it did.
func (e *Engine) EnsureStackNetwork(ctx context.Context, name string, attachable bool, labels map[string]string) (bool, error) {
	if why := ReservedNetwork(name); why != "" {
		return false, &Refusal{Kind: "network", Name: name, Reason: why}
	}
	if _, err := e.cli.NetworkInspect(ctx, name, network.InspectOptions{}); err == nil {
		return false, nil
	}
	l := map[string]string{ManagedLabel: "true"}
	for k, v := range labels {
		l[k] = v
	}
	_, err := e.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "overlay", Attachable: attachable, Labels: l, Scope: "swarm"})
	if err != nil && !cerrdefs.IsConflict(err) && !strings.Contains(err.Error(), "already exists") {
		return false, e.wrap(err)
	}
	if m := e.liveModel(); m != nil {
		m.refreshNetworks(ctx)
	}
	return err == nil, nil
}

// NetworkExists reports whether a network of that name exists (from the live model when it runs).
func (e *Engine) NetworkExists(ctx context.Context, name string) (bool, error) {
	if m := e.liveModel(); m != nil {
		return m.hasNetwork(name), nil
	}
	_, err := e.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	return err == nil, e.wrap(err)
}

// RemoveStackNetworks removes the networks carrying the stack's label, waiting (up to
// a minute) while the removed services' tasks still hold them, and returns their names.
func (e *Engine) RemoveStackNetworks(ctx context.Context, stack string) ([]string, error) {
	if stack == BerthStack {
		return nil, &Refusal{Kind: "stack", Name: stack, Reason: "it is Berth itself"}
	}
	list, err := e.cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", stackLabel+"="+stack))})
	if err != nil {
		return nil, e.wrap(err)
	}
	var removed []string
	deadline := time.Now().Add(time.Minute)
	for _, n := range list {
		for {
			err = e.cli.NetworkRemove(ctx, n.ID)
			if err == nil || cerrdefs.IsNotFound(err) || time.Now().After(deadline) {
				break
			}
			select { // the tasks of a removed service leave the network a moment later
			case <-ctx.Done():
				return removed, ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
		if err != nil && !cerrdefs.IsNotFound(err) {
			return removed, fmt.Errorf("remove network %s: %w", n.Name, e.wrap(err))
		}
		// The swarm accepts the removal at once and drops the network a moment later.
		for time.Now().Before(deadline) {
			if _, err := e.cli.NetworkInspect(ctx, n.ID, network.InspectOptions{}); cerrdefs.IsNotFound(err) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		removed = append(removed, n.Name)
	}
	if m := e.liveModel(); m != nil {
		m.refreshNetworks(ctx)
	}
	return removed, nil
}

// StackObjects are the configs and secrets carrying the stack's label.
func (e *Engine) StackObjects(ctx context.Context, stack string) ([]Object, error) {
	var out []Object
	for _, kind := range []Kind{KindConfig, KindSecret} {
		list, err := e.Objects(ctx, kind)
		if err != nil {
			return nil, err
		}
		for _, o := range list {
			if o.Labels[stackLabel] == stack {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// ErrStackBusy means another action on the stack is still running.
var ErrStackBusy = errors.New("another change to this stack is still running")

// TasksHolding counts the tasks meant to run (or still running) that mount a config or
// secret, from the live model: a replaced version is removed only once none does.
func (e *Engine) TasksHolding(ctx context.Context, kind Kind, name string) (int, error) {
	holds := func(t *dswarm.Task) bool {
		cs := t.Spec.ContainerSpec
		if cs == nil || (t.DesiredState != dswarm.TaskStateRunning && t.Status.State != dswarm.TaskStateRunning) {
			return false
		}
		if kind == KindConfig {
			return slices.ContainsFunc(cs.Configs, func(r *dswarm.ConfigReference) bool { return r.ConfigName == name })
		}
		return slices.ContainsFunc(cs.Secrets, func(r *dswarm.SecretReference) bool { return r.SecretName == name })
	}
	if m := e.liveModel(); m != nil {
		return len(m.rawTasks(holds)), nil
	}
	list, err := e.cli.TaskList(ctx, dswarm.TaskListOptions{})
	if err != nil {
		return 0, e.wrap(err)
	}
	n := 0
	for i := range list {
		if holds(&list[i]) {
			n++
		}
	}
	return n, nil
}
