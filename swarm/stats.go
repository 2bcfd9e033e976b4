package swarm

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/swarm/agent"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// ContainerUse is one task container's resource use as its engine reported it at one
// moment: cumulative counters (CPU time, bytes) and the memory in use now.
type ContainerUse struct {
	Container, Task, Service string
	At                       time.Time
	CPUNanos                 uint64 // CPU time used since the container started
	Memory                   int64  // in use, less the page cache the kernel may drop (as docker stats shows)
	NetRx, NetTx             uint64 // bytes since the container started
	BlockRead, BlockWrite    uint64
}

// statsAtOnce is how many containers' figures are read at the same time on one node: the
// engine answers a one-shot reading at its stats collector's next tick (once a second), so
// readings waiting together share a tick.
const statsAtOnce = 16

// NodeReading is one node's reading: its task containers, and its memory and disk
// (HostError says why those could not be read, as from an agent of an older Berth).
type NodeReading struct {
	Containers []ContainerUse
	Host       HostUse
	HostError  string
}

// NodeUse reads a node's task containers and its memory and disk, through one grant for
// reading resource use (its agent when it is not this engine's node).
func (e *Engine) NodeUse(ctx context.Context, n NodeInfo) (NodeReading, error) {
	on, err := e.On(ctx, n, agent.Grant{Action: agent.ActStats})
	if err != nil {
		return NodeReading{}, err
	}
	containers, err := on.containersUse(ctx)
	if err != nil {
		return NodeReading{}, err
	}
	r := NodeReading{Containers: containers}
	if r.Host, err = e.hostOf(ctx, on); err != nil {
		r.HostError = err.Error()
	}
	return r, nil
}

// containersUse reads the resource use of every running task container of this engine.
func (e *Engine) containersUse(ctx context.Context) ([]ContainerUse, error) {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.task.id"))})
	if err != nil {
		return nil, e.wrap(err)
	}
	out := make([]ContainerUse, len(list))
	ok := make([]bool, len(list))
	sem := make(chan struct{}, statsAtOnce)
	var wg sync.WaitGroup
	for i, c := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			use, err := e.containerUse(ctx, c.ID)
			if err != nil {
				return // gone since the listing: the next round will not list it
			}
			use.Task, use.Service = c.Labels["com.docker.swarm.task.id"], c.Labels["com.docker.swarm.service.name"]
			out[i], ok[i] = use, true
		}()
	}
	wg.Wait()
	kept := out[:0]
	for i, u := range out {
		if ok[i] {
			kept = append(kept, u)
		}
	}
	return kept, nil
}

// containerUse reads one container's figures once (no waiting for a second reading).
func (e *Engine) containerUse(ctx context.Context, id string) (ContainerUse, error) {
	res, err := e.cli.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return ContainerUse{}, e.wrap(err)
	}
	defer res.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return ContainerUse{}, err
	}
	u := ContainerUse{Container: id, At: s.Read, CPUNanos: s.CPUStats.CPUUsage.TotalUsage,
		Memory: int64(memoryInUse(s.MemoryStats))}
	for _, n := range s.Networks {
		u.NetRx, u.NetTx = u.NetRx+n.RxBytes, u.NetTx+n.TxBytes
	}
	for _, b := range s.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(b.Op) {
		case "read":
			u.BlockRead += b.Value
		case "write":
			u.BlockWrite += b.Value
		}
	}
	if u.At.IsZero() {
		u.At = time.Now()
	}
	return u, nil
}

// memoryInUse is usage less the inactive page cache, as the docker CLI computes it
// (cgroup v1 reports total_inactive_file, v2 inactive_file).
func memoryInUse(m container.MemoryStats) uint64 {
	cache := m.Stats["total_inactive_file"]
	if v, ok := m.Stats["inactive_file"]; ok && cache == 0 {
		cache = v
	}
	if cache < m.Usage {
		return m.Usage - cache
	}
	return m.Usage
}
