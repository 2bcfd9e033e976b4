package swarm

import (
	"context"
	"errors"
	"sync"
	"time"
)

// VolumeFactsInterval is how often each node's volumes and their sizes are read in
// the background for the Volumes and node pages (sizes walk the volumes, so not per view).
const VolumeFactsInterval = 2 * time.Minute

// errNotReadYet means a node's volumes were not read since Berth started.
var errNotReadYet = errors.New("Berth has not read this node's volumes yet: it reads them every 2 minutes")

// volumeFacts holds each node's volume listing as last read.
type volumeFacts struct {
	mu     sync.Mutex
	byNode map[string]nodeVolumes
	poke   chan struct{}
}

type nodeVolumes struct {
	vols []NodeVolume
	err  error
	at   time.Time
}

// volumes is the node's listing as last read, when, and why it could not be read.
func (f *volumeFacts) volumes(node string) ([]NodeVolume, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.byNode[node]
	if !ok {
		return nil, time.Time{}, errNotReadYet
	}
	return v.vols, v.at, v.err
}

func (f *volumeFacts) set(node string, v nodeVolumes) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byNode == nil {
		f.byNode = map[string]nodeVolumes{}
	}
	f.byNode[node] = v
}

// pokeChan is the channel that asks the loop for a read now.
func (f *volumeFacts) pokeChan() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.poke == nil {
		f.poke = make(chan struct{}, 1)
	}
	return f.poke
}

// VolumeFacts reads every node's volumes every interval, and at once after Berth
// changed a volume, until ctx ends.
func (e *Engine) VolumeFacts(ctx context.Context, interval time.Duration) {
	poke := e.facts.pokeChan()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if nodes, err := e.Nodes(ctx); err == nil {
			for _, n := range nodes {
				rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				vols, err := e.volumesOf(rctx, n)
				cancel()
				e.facts.set(n.Hostname, nodeVolumes{vols: vols, err: err, at: time.Now()})
			}
			if e.model != nil {
				e.model.notify(Change{Kind: "volume"})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-poke:
		}
	}
}

// rereadLocalVolumes reads this engine's node's volumes again after Berth changed one
// there, so the next page shows the change, and asks the loop to read the others.
func (e *Engine) rereadLocalVolumes(ctx context.Context) {
	if node := e.Cached().NodeName; node != "" && e.remote == nil {
		vols, err := e.localVolumes(ctx)
		e.facts.set(node, nodeVolumes{vols: vols, err: err, at: time.Now()})
	}
	e.pokeVolumeFacts()
}

// pokeVolumeFacts asks the loop to read every node's volumes now.
func (e *Engine) pokeVolumeFacts() {
	select {
	case e.facts.pokeChan() <- struct{}{}:
	default:
	}
}

// KnownNodeVolumes is the node's volumes with their sizes as last read in the
// background, and when (zero, with an error, before the first read).
func (e *Engine) KnownNodeVolumes(ctx context.Context, node string) ([]NodeVolume, time.Time, error) {
	if nodes, err := e.Nodes(ctx); err == nil { // from the live model: a node that went down says so at once
		if n, err := FindNode(nodes, node); err == nil && !n.Ready() && n.Hostname != e.Cached().NodeName {
			return nil, time.Time{}, nodeAway(n)
		}
	}
	return e.facts.volumes(node)
}
