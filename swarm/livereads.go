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
			byService[t.ServiceID] = append(byService[t.ServiceID], t)
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

// rawServices returns the engine's service specs, from memory.
func (m *Model) rawServices() []dswarm.Service {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]dswarm.Service, 0, len(m.services))
	for _, s := range m.services {
		out = append(out, s)
	}
	return out
}
