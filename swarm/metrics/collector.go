// Package metrics collects the resource use of every task container on every node,
// sums it per service and per node, keeps the latest figures in memory and the history
// in Berth's database at three resolutions.
package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/alerts"
	units "github.com/docker/go-units"
)

// Tiers are the resolutions kept: every 15 s for 6 hours, every minute for 2 days, every 10 minutes for 30 days.
var Tiers = []store.ResourceTier{{Step: 15 * time.Second, Keep: 6 * time.Hour}, {Step: time.Minute, Keep: 48 * time.Hour}, {Step: 10 * time.Minute, Keep: 30 * 24 * time.Hour}}

// Source is what the collector reads of the swarm: the live model's nodes and services, and each node's containers.
type Source interface {
	Nodes(ctx context.Context) ([]swarm.NodeInfo, error)
	Services(ctx context.Context) ([]swarm.Service, error)
	NodeUse(ctx context.Context, n swarm.NodeInfo) (swarm.NodeReading, error)
}

// Use is a service's or a node's resource use over the last collection.
type Use struct {
	CPU         float64 // cores
	Memory      int64   // bytes in use
	MemoryLimit int64   // bytes, summed over the tasks (0: no limit)
	NetRx       float64 // bytes per second
	NetTx       float64
	BlockRead   float64
	BlockWrite  float64
}

func (u *Use) add(o Use) {
	u.CPU, u.Memory, u.MemoryLimit = u.CPU+o.CPU, u.Memory+o.Memory, u.MemoryLimit+o.MemoryLimit
	u.NetRx, u.NetTx, u.BlockRead, u.BlockWrite = u.NetRx+o.NetRx, u.NetTx+o.NetTx, u.BlockRead+o.BlockRead, u.BlockWrite+o.BlockWrite
}

// TaskUse is one task's use, with where it runs.
type TaskUse struct {
	Task, Service, Node string
	Use
}

// Current is the latest collection's figures.
type Current struct {
	At        time.Time
	Services  map[string]Use           // by service name
	Nodes     map[string]Use           // by node hostname: the sums of its task containers
	Hosts     map[string]swarm.HostUse // by node hostname: its whole memory and data-root disk
	PerNode   map[[2]string]Use        // by service name and node hostname
	Tasks     map[string]TaskUse       // by task id
	NodeError map[string]string        // nodes that could not be read, and why
}

// Collector reads every node's task containers every Every and stores the sums.
type Collector struct {
	Source Source
	Store  *store.Store
	Log    *slog.Logger
	Every  time.Duration
	// Collected, when set, is called after every collection (pages showing figures redraw).
	Collected func()

	mu      sync.RWMutex
	prev    map[string]swarm.ContainerUse // by container id: the last reading, for rates
	current Current
	tasks   taskHistory // the last hour per task, for the graphs' hover
}

// Latest returns the newest figures (zero before two collections have run).
func (c *Collector) Latest() Current {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.current
}

// Run collects every Every until ctx ends, and downsamples the history once a minute.
func (c *Collector) Run(ctx context.Context) {
	tick := time.NewTicker(c.Every)
	defer tick.Stop()
	last := time.Now()
	for {
		if err := c.CollectOnce(ctx); err != nil && ctx.Err() == nil {
			c.Log.Warn("collecting resource use", "error", err)
		}
		if time.Since(last) > time.Minute {
			last = time.Now()
			if err := c.Store.DownsampleResources(ctx, last, Tiers); err != nil && ctx.Err() == nil {
				c.Log.Warn("downsampling resource use", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// CollectOnce reads every ready node, turns the counters into rates against the previous
// reading, sums them per service and node, and stores the sums.
func (c *Collector) CollectOnce(ctx context.Context) error {
	nodes, err := c.Source.Nodes(ctx)
	if err != nil {
		return err
	}
	services, err := c.Source.Services(ctx)
	if err != nil {
		return err
	}
	limits := memoryLimits(services)
	readings, hosts, failed := c.readNodes(ctx, nodes)
	now := time.Now()
	cur := Current{At: now, Services: map[string]Use{}, Nodes: map[string]Use{}, Hosts: hosts, PerNode: map[[2]string]Use{},
		Tasks: map[string]TaskUse{}, NodeError: failed}
	c.mu.Lock()
	prev := c.prev
	c.prev = map[string]swarm.ContainerUse{}
	for node, uses := range readings {
		total := Use{}
		for _, u := range uses {
			c.prev[u.Container] = u
			p, seen := prev[u.Container]
			if !seen || !u.At.After(p.At) {
				continue // the first reading of a container gives no rate yet
			}
			one := rates(p, u)
			one.MemoryLimit = limits[u.Service]
			total.add(one)
			s := cur.Services[u.Service]
			s.add(one)
			cur.Services[u.Service] = s
			k := [2]string{u.Service, node}
			pn := cur.PerNode[k]
			pn.add(one)
			cur.PerNode[k] = pn
			tu := cur.Tasks[u.Task]
			tu.Task, tu.Service, tu.Node = u.Task, u.Service, node
			tu.add(one)
			cur.Tasks[u.Task] = tu
		}
		cur.Nodes[node] = total
	}
	if prev != nil {
		c.current = cur
		c.tasks.add(cur, Tiers[0].Step, time.Hour)
	}
	c.mu.Unlock()
	if prev == nil {
		return nil // nothing to compare with yet
	}
	err = c.Store.SaveResourceSamples(ctx, samples(cur, Tiers[0].Step))
	if c.Collected != nil {
		c.Collected()
	}
	return err
}

// TaskHistory is a service's tasks' figures from a time on (the last hour at most), oldest first.
func (c *Collector) TaskHistory(service string, from time.Time) []TaskPoint {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tasks.of(service, from)
}

// readNodes reads the ready nodes at once, their containers and their memory and disk;
// a node that cannot be read is named with the reason.
func (c *Collector) readNodes(ctx context.Context, nodes []swarm.NodeInfo) (map[string][]swarm.ContainerUse, map[string]swarm.HostUse, map[string]string) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out, hosts, failed := map[string][]swarm.ContainerUse{}, map[string]swarm.HostUse{}, map[string]string{}
	for _, n := range nodes {
		if !n.Ready() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Source.NodeUse(ctx, n)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failed[n.Hostname] = err.Error()
				return
			case r.HostError != "":
				failed[n.Hostname] = r.HostError // an agent of an older Berth answers no memory or disk
			default:
				hosts[n.Hostname] = r.Host
			}
			out[n.Hostname] = r.Containers
		}()
	}
	wg.Wait()
	return out, hosts, failed
}

// rates turns two readings of a container into its use between them.
func rates(p, u swarm.ContainerUse) Use {
	dt := u.At.Sub(p.At).Seconds()
	per := func(a, b uint64) float64 {
		if b < a {
			return 0 // the container restarted its counters
		}
		return float64(b-a) / dt
	}
	return Use{CPU: per(p.CPUNanos, u.CPUNanos) / 1e9, Memory: u.Memory, NetRx: per(p.NetRx, u.NetRx), NetTx: per(p.NetTx, u.NetTx),
		BlockRead: per(p.BlockRead, u.BlockRead), BlockWrite: per(p.BlockWrite, u.BlockWrite)}
}

// memoryLimits is each service's memory limit per task, from its spec.
func memoryLimits(services []swarm.Service) map[string]int64 {
	out := map[string]int64{}
	for _, s := range services {
		if r := s.Spec.Resources; r != nil && r.LimitMemory != "" {
			if n, err := units.RAMInBytes(r.LimitMemory); err == nil {
				out[s.Spec.Name] = n
			}
		}
	}
	return out
}

// samples are the collection's sums as rows of the finest tier.
func samples(cur Current, step time.Duration) []store.ResourceSample {
	t := cur.At.Truncate(step)
	var out []store.ResourceSample
	add := func(kind, name string, u Use) {
		out = append(out, store.ResourceSample{Kind: kind, Name: name, T: t, Step: step, CPU: u.CPU, Memory: u.Memory, MemoryLimit: u.MemoryLimit,
			NetRx: u.NetRx, NetTx: u.NetTx, BlockRead: u.BlockRead, BlockWrite: u.BlockWrite})
	}
	for name, u := range cur.Services {
		add("service", name, u)
	}
	for name, u := range cur.Nodes {
		add("node", name, u)
		out[len(out)-1].HostMemory, out[len(out)-1].DiskUsed = cur.Hosts[name].MemoryUsed, cur.Hosts[name].DiskUsed
	}
	return out
}

// MemoryFacts hands the alert checks each service's memory against its limit, from the latest collection.
func (c *Collector) MemoryFacts() map[string]alerts.MemoryFact {
	out := map[string]alerts.MemoryFact{}
	for name, u := range c.Latest().Services {
		out[name] = alerts.MemoryFact{Used: u.Memory, Limit: u.MemoryLimit}
	}
	return out
}
