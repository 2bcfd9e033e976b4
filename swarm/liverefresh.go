package swarm

import (
	"context"

	"github.com/docker/docker/api/types/network"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// refreshObject re-reads one config or secret (or forgets it once removed); writers call it for read-your-writes.
func (m *Model) refreshObject(ctx context.Context, kind Kind, id string) {
	var c dswarm.Config
	var sc dswarm.Secret
	var err error
	if kind == KindConfig {
		c, _, err = m.e.cli.ConfigInspectWithRaw(ctx, id)
	} else {
		sc, _, err = m.e.cli.SecretInspectWithRaw(ctx, id)
	}
	m.mu.Lock()
	switch {
	case m.configs == nil:
	case kind == KindConfig && err != nil:
		delete(m.configs, id)
	case kind == KindConfig:
		m.configs[id] = c
	case err != nil:
		delete(m.secrets, id)
	default:
		m.secrets[id] = sc
	}
	m.mu.Unlock()
	m.notify(Change{Kind: string(kind), ID: id})
}

// refreshCluster re-reads the swarm's settings after Berth changed them.
func (m *Model) refreshCluster(ctx context.Context) {
	sw, err := m.e.cli.SwarmInspect(ctx)
	if err != nil {
		return
	}
	m.mu.Lock()
	m.cluster = &sw
	m.mu.Unlock()
	m.notify(Change{Kind: "swarm"})
}

// refreshService re-reads one service (or forgets it once removed); writers call it for read-your-writes.
func (m *Model) refreshService(ctx context.Context, id string) {
	s, _, err := m.e.cli.ServiceInspectWithRaw(ctx, id, dswarm.ServiceInspectOptions{})
	m.mu.Lock()
	if m.services == nil {
		m.mu.Unlock()
		return
	}
	if err != nil {
		delete(m.services, id)
		for tid, t := range m.tasks {
			if t.ServiceID == id {
				delete(m.tasks, tid)
			}
		}
	} else {
		m.services[s.ID] = s
		id = s.ID
	}
	m.dirty = true
	m.mu.Unlock()
	m.notify(Change{Kind: "service", ID: id, ServiceID: id})
}

// refreshNetworks re-reads the network names after Berth created or removed one.
func (m *Model) refreshNetworks(ctx context.Context) {
	list, err := m.e.cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return
	}
	m.mu.Lock()
	if m.networks != nil {
		m.networks = make(map[string]string, len(list))
		m.netInfo = make(map[string]network.Summary, len(list))
		for _, n := range list {
			m.networks[n.ID], m.netInfo[n.ID] = n.Name, n
		}
		m.dirty = true
	}
	m.mu.Unlock()
	m.notify(Change{Kind: "network"})
}

// putService takes a service Berth just read from the engine.
func (m *Model) putService(s dswarm.Service) {
	m.mu.Lock()
	if m.services == nil {
		m.mu.Unlock()
		return
	}
	m.services[s.ID] = s
	m.dirty = true
	m.mu.Unlock()
	m.notify(Change{Kind: "service", ID: s.ID, ServiceID: s.ID})
}
