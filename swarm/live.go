package swarm

import (
	"context"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// How the live model keeps up with the engine.
const (
	taskPollInterval  = 500 * time.Millisecond // the events stream carries no task changes
	reconcileInterval = 30 * time.Second
	maxBackoff        = 5 * time.Second
)

// Change says what moved in the swarm, for pages that follow it live.
type Change struct {
	Kind      string // service, task, node, config, secret, network, model, resources (Announce)
	ID        string
	ServiceID string // for task changes (and service changes, the service itself)
}

// Model is an in-memory view of the swarm, built by a full listing, kept current
// from the engine's events stream and a task poll, reconciled periodically and
// rebuilt whenever the stream drops. Pages read it instead of calling the engine.
type Model struct {
	e *Engine

	mu        sync.RWMutex
	services  map[string]dswarm.Service
	tasks     map[string]*dswarm.Task // pointers: a big swarm's reads walk them without copying
	nodes     map[string]dswarm.Node
	networks  map[string]string
	netInfo   map[string]network.Summary // the networks' details by id, for the Networks page
	configs   map[string]dswarm.Config
	secrets   map[string]dswarm.Secret
	cluster   *dswarm.Swarm // the swarm's settings (autolock), re-read at every rebuild and after Berth changes them
	ready     bool
	syncedAt  time.Time
	lastError string
	snapshot  []Service // the converted list, rebuilt after changes
	dirty     bool

	subMu sync.Mutex
	subs  map[chan Change]struct{}
	// streams counts events streams opened, for tests that check a rebuild happened.
	streams int
}

// NewModel makes an empty model over the engine; Run fills it.
func NewModel(e *Engine) *Model {
	m := &Model{e: e, subs: map[chan Change]struct{}{}, dirty: true}
	e.model = m
	return m
}

// Ready reports whether the model holds a complete view, and when it was last rebuilt.
func (m *Model) Ready() (bool, time.Time, string) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.ready, m.syncedAt, m.lastError
}

// Streams is how many times the model (re)connected to the events stream.
func (m *Model) Streams() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.streams
}

// Subscribe returns a channel of changes and a function that ends the subscription.
// A slow reader misses changes rather than blocking the model; it should re-read the model.
func (m *Model) Subscribe() (<-chan Change, func()) {
	ch := make(chan Change, 64)
	m.subMu.Lock()
	m.subs[ch] = struct{}{}
	m.subMu.Unlock()
	return ch, func() {
		m.subMu.Lock()
		delete(m.subs, ch)
		m.subMu.Unlock()
	}
}

func (m *Model) notify(c Change) {
	m.subMu.Lock()
	defer m.subMu.Unlock()
	for ch := range m.subs {
		select {
		case ch <- c:
		default:
		}
	}
}

// Run keeps the model current until ctx ends.
func (m *Model) Run(ctx context.Context) {
	backoff := 200 * time.Millisecond
	go m.pollTasks(ctx)
	for ctx.Err() == nil {
		since := time.Now()
		if err := m.rebuild(ctx); err != nil {
			m.fail(err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = 200 * time.Millisecond
		m.follow(ctx, since)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (m *Model) fail(err error) {
	m.mu.Lock()
	m.ready, m.lastError = false, m.e.plainError(err)
	m.mu.Unlock()
	m.notify(Change{Kind: "model"})
}

// rebuild replaces the whole view with a fresh listing.
func (m *Model) rebuild(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	services, err := m.e.cli.ServiceList(ctx, dswarm.ServiceListOptions{})
	if err != nil {
		return err
	}
	tasks, err := m.e.cli.TaskList(ctx, dswarm.TaskListOptions{})
	if err != nil {
		return err
	}
	nodes, err := m.e.cli.NodeList(ctx, dswarm.NodeListOptions{})
	if err != nil {
		return err
	}
	nets, err := m.e.cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return err
	}
	configs, err := m.e.cli.ConfigList(ctx, dswarm.ConfigListOptions{})
	if err != nil {
		return err
	}
	secrets, err := m.e.cli.SecretList(ctx, dswarm.SecretListOptions{})
	if err != nil {
		return err
	}
	var cluster *dswarm.Swarm
	if sw, err := m.e.cli.SwarmInspect(ctx); err == nil {
		cluster = &sw
	}
	m.mu.Lock()
	m.configs = make(map[string]dswarm.Config, len(configs))
	for _, c := range configs {
		m.configs[c.ID] = c
	}
	m.secrets = make(map[string]dswarm.Secret, len(secrets))
	for _, sc := range secrets {
		m.secrets[sc.ID] = sc
	}
	m.cluster = cluster
	m.services = make(map[string]dswarm.Service, len(services))
	for _, s := range services {
		m.services[s.ID] = s
	}
	m.tasks = make(map[string]*dswarm.Task, len(tasks))
	for i := range tasks {
		m.tasks[tasks[i].ID] = &tasks[i]
	}
	m.nodes = make(map[string]dswarm.Node, len(nodes))
	for _, n := range nodes {
		m.nodes[n.ID] = n
	}
	m.networks = make(map[string]string, len(nets))
	m.netInfo = make(map[string]network.Summary, len(nets))
	for _, n := range nets {
		m.networks[n.ID], m.netInfo[n.ID] = n.Name, n
	}
	m.ready, m.syncedAt, m.lastError, m.dirty = true, time.Now(), "", true
	m.mu.Unlock()
	m.notify(Change{Kind: "model"})
	return nil
}

// follow applies the events stream until it drops or a reconcile is due.
func (m *Model) follow(ctx context.Context, since time.Time) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := filters.NewArgs()
	for _, t := range []string{"service", "node", "network", "config", "secret"} {
		f.Add("type", t)
	}
	msgs, errs := m.e.cli.Events(ctx, events.ListOptions{Since: since.Format(time.RFC3339Nano), Filters: f})
	m.mu.Lock()
	m.streams++
	m.mu.Unlock()
	reconcile := time.NewTimer(reconcileInterval)
	defer reconcile.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-errs:
			if ctx.Err() == nil {
				m.e.log.Warn("docker events stream ended; rebuilding the live model", "error", err)
				m.fail(err)
			}
			return
		case <-reconcile.C:
			return // Run rebuilds from a full listing, then follows again
		case msg := <-msgs:
			m.apply(ctx, msg)
		}
	}
}

// apply updates the model for one event by re-reading the object it names.
func (m *Model) apply(ctx context.Context, msg events.Message) {
	id := msg.Actor.ID
	switch msg.Type {
	case events.ServiceEventType:
		m.refreshService(ctx, id)
	case events.NodeEventType:
		n, _, err := m.e.cli.NodeInspectWithRaw(ctx, id)
		m.mu.Lock()
		if err != nil {
			delete(m.nodes, id)
		} else {
			m.nodes[id] = n
		}
		m.dirty = true
		m.mu.Unlock()
		m.notify(Change{Kind: "node", ID: id})
	case events.NetworkEventType:
		var details *network.Summary
		if msg.Action == events.ActionCreate || msg.Action == events.ActionUpdate {
			if n, err := m.e.cli.NetworkInspect(ctx, id, network.InspectOptions{}); err == nil {
				details = &n
			}
		}
		m.mu.Lock()
		if msg.Action == events.ActionRemove {
			delete(m.networks, id)
			delete(m.netInfo, id)
		} else if name := msg.Actor.Attributes["name"]; name != "" {
			m.networks[id] = name
		}
		if details != nil && m.netInfo != nil {
			m.netInfo[id] = *details
		}
		m.dirty = true
		m.mu.Unlock()
		m.notify(Change{Kind: "network", ID: id})
	case events.ConfigEventType, events.SecretEventType:
		m.refreshObject(ctx, Kind(msg.Type), id)
	default:
		m.notify(Change{Kind: string(msg.Type), ID: id})
	}
}

// pollTasks keeps tasks current: the events stream does not carry task changes. It
// lists them every taskPollInterval, or ten times as long as the last listing took, so
// a swarm of thousands of tasks does not keep the engine busy listing them.
func (m *Model) pollTasks(ctx context.Context) {
	t := time.NewTimer(taskPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ok, _, _ := m.Ready(); !ok {
			t.Reset(taskPollInterval)
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		start := time.Now()
		tasks, err := m.e.cli.TaskList(tctx, dswarm.TaskListOptions{})
		cancel()
		t.Reset(max(taskPollInterval, 10*time.Since(start)))
		if err != nil {
			continue // the events stream reports a dead engine
		}
		m.mergeTasks(tasks)
	}
}

// mergeTasks replaces the task set and tells subscribers which services' tasks changed.
func (m *Model) mergeTasks(tasks []dswarm.Task) {
	changed := map[string]bool{}
	next := make(map[string]*dswarm.Task, len(tasks))
	m.mu.Lock()
	for i := range tasks {
		t := &tasks[i]
		next[t.ID] = t
		if old, ok := m.tasks[t.ID]; !ok || old.Version.Index != t.Version.Index {
			changed[t.ServiceID] = true
		}
	}
	for id, old := range m.tasks {
		if _, ok := next[id]; !ok {
			changed[old.ServiceID] = true
		}
	}
	m.tasks = next
	if len(changed) > 0 {
		m.dirty = true
	}
	m.mu.Unlock()
	for sid := range changed {
		m.notify(Change{Kind: "task", ServiceID: sid})
	}
}

// mergeServiceTasks replaces one service's tasks with a fresh listing of them.
func (m *Model) mergeServiceTasks(serviceID string, tasks []dswarm.Task) {
	m.mu.Lock()
	if m.tasks == nil {
		m.mu.Unlock()
		return
	}
	for id, t := range m.tasks {
		if t.ServiceID == serviceID {
			delete(m.tasks, id)
		}
	}
	for i := range tasks {
		m.tasks[tasks[i].ID] = &tasks[i]
	}
	m.dirty = true
	m.mu.Unlock()
	m.notify(Change{Kind: "task", ServiceID: serviceID})
}
