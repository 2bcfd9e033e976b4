package swarm

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// Service is a swarm service with its state, in Berth's terms.
type Service struct {
	ID       string
	Spec     ServiceSpec
	Managed  bool
	Owner    string
	Warnings []string
	// Reserved says why the service is Berth's own ("" for the environment's): no generic page or API call touches it.
	Reserved string
	// Escapes are what in its spec Berth would refuse to deploy: an operator may not change it or open its terminal.
	Escapes   []string
	Version   uint64
	CreatedAt time.Time
	UpdatedAt time.Time
	Running   int
	Desired   int
	Tasks     []Task
	// UpdateState is the last rollout's state (updating, completed, paused, rollback_*), "" if none.
	UpdateState   string
	UpdateMessage string
}

// Task is one task of a service: a container on a node, or the attempt at one.
type Task struct {
	ID           string
	Service      string // the service's name, in node listings
	Slot         int
	NodeID       string
	Node         string
	State        string
	DesiredState string
	Message      string
	Error        string
	ContainerID  string
	Image        string
	UpdatedAt    time.Time
}

// SpecError is a service spec the engine side refused, with a message per field.
type SpecError struct{ Fields map[string]string }

func (e *SpecError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return strings.Join(parts, " ")
}

func (e *Engine) liveModel() *Model {
	if e.model == nil {
		return nil
	}
	if ok, _, _ := e.model.Ready(); !ok {
		return nil
	}
	return e.model
}

// modelSaw re-reads one service (by id) into the live model after Berth changed it, so
// the page after the action shows the change before its event arrives.
func (e *Engine) modelSaw(ctx context.Context, id string) {
	if e.model != nil && id != "" {
		e.model.refreshService(ctx, id)
	}
}

// rawService is one service's engine spec by name, from the live model when it runs.
func (e *Engine) rawService(ctx context.Context, name string) (dswarm.Service, bool, error) {
	if m := e.liveModel(); m != nil {
		s, ok := m.rawService(name)
		return s, ok, nil
	}
	s, _, err := e.cli.ServiceInspectWithRaw(ctx, name, dswarm.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return s, false, nil
	}
	if err != nil {
		return s, false, e.wrap(err)
	}
	return s, true, nil
}

// Service returns one service (by name or id) with its tasks, from the live model when it runs.
func (e *Engine) Service(ctx context.Context, nameOrID string) (Service, error) {
	if m := e.liveModel(); m != nil {
		if s, ok := m.Service(nameOrID); ok {
			return s, nil
		}
		// Writers refresh the model before they return, and the events stream brings the rest.
		return Service{}, &engineError{msg: "No service named " + nameOrID + ".", kind: ErrNotFound}
	}
	return e.inspectService(ctx, nameOrID)
}

// inspectService asks the engine for one service and its tasks, and refreshes the model with it.
func (e *Engine) inspectService(ctx context.Context, nameOrID string) (Service, error) {
	svc, _, err := e.cli.ServiceInspectWithRaw(ctx, nameOrID, dswarm.ServiceInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return Service{}, &engineError{msg: "No service named " + nameOrID + ".", kind: ErrNotFound}
		}
		return Service{}, e.wrap(err)
	}
	tasks, err := e.cli.TaskList(ctx, dswarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		return Service{}, e.wrap(err)
	}
	names, err := e.names(ctx)
	if err != nil {
		return Service{}, err
	}
	if e.model != nil {
		e.model.putService(svc) // just read: the model takes it as it is
		e.model.mergeServiceTasks(svc.ID, tasks)
	}
	return serviceFrom(svc, tasks, names), nil
}

// Services lists every service with its running and desired task counts, by name,
// from the live model when it runs.
func (e *Engine) Services(ctx context.Context) ([]Service, error) {
	if m := e.liveModel(); m != nil {
		return m.Services(), nil
	}
	list, err := e.cli.ServiceList(ctx, dswarm.ServiceListOptions{})
	if err != nil {
		return nil, e.wrap(err)
	}
	tasks, err := e.cli.TaskList(ctx, dswarm.TaskListOptions{})
	if err != nil {
		return nil, e.wrap(err)
	}
	names, err := e.names(ctx)
	if err != nil {
		return nil, err
	}
	byService := map[string][]dswarm.Task{}
	for _, t := range tasks {
		byService[t.ServiceID] = append(byService[t.ServiceID], t)
	}
	out := make([]Service, 0, len(list))
	for _, s := range list {
		out = append(out, serviceFrom(s, byService[s.ID], names))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
	return out, nil
}

// nameMaps resolves node and network ids to names.
type nameMaps struct{ nodes, networks map[string]string }

func (e *Engine) names(ctx context.Context) (nameMaps, error) {
	if lm := e.liveModel(); lm != nil {
		return lm.names(), nil
	}
	m := nameMaps{nodes: map[string]string{}, networks: map[string]string{}}
	nodes, err := e.cli.NodeList(ctx, dswarm.NodeListOptions{})
	if err != nil {
		return m, e.wrap(err)
	}
	for _, n := range nodes {
		m.nodes[n.ID] = n.Description.Hostname
	}
	nets, err := e.cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return m, e.wrap(err)
	}
	for _, n := range nets {
		m.networks[n.ID] = n.Name
	}
	return m, nil
}

func serviceFrom(s dswarm.Service, tasks []dswarm.Task, names nameMaps) Service {
	spec, warn := fromDocker(s.Spec, names.networks)
	out := Service{ID: s.ID, Spec: spec, Managed: s.Spec.Labels[ManagedLabel] == "true", Owner: s.Spec.Labels[OwnerLabel], Warnings: warn,
		Version: s.Version.Index, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		Reserved: reservedService(s.Spec.Name, s.Spec.Labels), Escapes: escapes(s.Spec, names.networks)}
	if us := s.UpdateStatus; us != nil {
		out.UpdateState, out.UpdateMessage = string(us.State), us.Message
	}
	if spec.Replicas != nil {
		out.Desired = int(*spec.Replicas)
	}
	for _, t := range tasks {
		task := Task{ID: t.ID, Slot: t.Slot, NodeID: t.NodeID, Node: names.nodes[t.NodeID], State: string(t.Status.State),
			DesiredState: string(t.DesiredState), Message: t.Status.Message, Error: t.Status.Err, UpdatedAt: t.Status.Timestamp}
		if t.Status.ContainerStatus != nil {
			task.ContainerID = t.Status.ContainerStatus.ContainerID
		}
		if t.Spec.ContainerSpec != nil {
			task.Image = t.Spec.ContainerSpec.Image
		}
		out.Tasks = append(out.Tasks, task)
		if t.DesiredState == dswarm.TaskStateRunning {
			if spec.Mode == "global" {
				out.Desired++
			}
			if t.Status.State == dswarm.TaskStateRunning {
				out.Running++
			}
		}
	}
	sort.Slice(out.Tasks, func(i, j int) bool { return out.Tasks[i].UpdatedAt.After(out.Tasks[j].UpdatedAt) })
	return out
}

// IsSpecError reports whether err is a refused spec and returns its field messages.
func IsSpecError(err error) (map[string]string, bool) {
	var se *SpecError
	if errors.As(err, &se) {
		return se.Fields, true
	}
	return nil, false
}
