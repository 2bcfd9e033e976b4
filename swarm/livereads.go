package swarm

import (
	"sort"

	dswarm "github.com/docker/docker/api/types/swarm"
)

// Services returns every service with its tasks' state, from memory.
func (m *Model) Services() []Service {
	m.mu.RLock()
	if !m.dirty {
		defer m.mu.RUnlock()
		return m.snapshot
	}
	m.mu.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirty {
		names := nameMaps{nodes: make(map[string]string, len(m.nodes)), networks: m.networks}
		for id, n := range m.nodes {
			names.nodes[id] = n.Description.Hostname
		}
		byService := map[string][]dswarm.Task{}
		for _, t := range m.tasks {
			byService[t.ServiceID] = append(byService[t.ServiceID], *t)
		}
		out := make([]Service, 0, len(m.services))
		for _, s := range m.services {
			out = append(out, serviceFrom(s, byService[s.ID], names))
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
		m.snapshot, m.dirty = out, false
	}
	return m.snapshot
}

// Service returns one service by name or id, from memory.
func (m *Model) Service(nameOrID string) (Service, bool) {
	for _, s := range m.Services() {
		if s.ID == nameOrID || s.Spec.Name == nameOrID {
			return s, true
		}
	}
	return Service{}, false
}

// counts returns the service count and the tasks that should run and do, from memory.
func (m *Model) counts() (services, tasks, running int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, t := range m.tasks {
		if t.DesiredState == dswarm.TaskStateRunning {
			tasks++
			if t.Status.State == dswarm.TaskStateRunning {
				running++
			}
		}
	}
	return len(m.services), tasks, running
}

// hasNetwork reports whether a network of that name exists.
func (m *Model) hasNetwork(name string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, n := range m.networks {
		if n == name {
			return true
		}
	}
	return false
}

// readServices calls fn with each of the engine's services, in memory, under the read
// lock (fn must not call the model): for summaries that need not copy them all.
func (m *Model) readServices(fn func(dswarm.Service)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, s := range m.services {
		fn(s)
	}
}

// rawNodes returns the engine's nodes, from memory.
func (m *Model) rawNodes() []dswarm.Node {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]dswarm.Node, 0, len(m.nodes))
	for _, n := range m.nodes {
		out = append(out, n)
	}
	return out
}

// rawTasks returns copies of the tasks keep accepts, from memory.
func (m *Model) rawTasks(keep func(*dswarm.Task) bool) []dswarm.Task {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []dswarm.Task
	for _, t := range m.tasks {
		if keep(t) {
			out = append(out, *t)
		}
	}
	return out
}

// rawService returns one service's engine spec by name, from memory.
func (m *Model) rawService(name string) (dswarm.Service, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, s := range m.services {
		if s.Spec.Name == name {
			return s, true
		}
	}
	return dswarm.Service{}, false
}

// rawObjects returns the configs and secrets, from memory.
func (m *Model) rawObjects() ([]dswarm.Config, []dswarm.Secret) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	configs := make([]dswarm.Config, 0, len(m.configs))
	for _, c := range m.configs {
		configs = append(configs, c)
	}
	secrets := make([]dswarm.Secret, 0, len(m.secrets))
	for _, s := range m.secrets {
		secrets = append(secrets, s)
	}
	return configs, secrets
}

// rawCluster returns the swarm's settings as last read (nil when the engine is no manager).
func (m *Model) rawCluster() *dswarm.Swarm {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cluster
}

// names are the node and network names by id, from memory.
func (m *Model) names() nameMaps {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := nameMaps{nodes: make(map[string]string, len(m.nodes)), networks: make(map[string]string, len(m.networks))}
	for id, n := range m.nodes {
		out.nodes[id] = n.Description.Hostname
	}
	for id, n := range m.networks {
		out.networks[id] = n
	}
	return out
}
