package enginetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// EnvCluster names the environment variable holding the shared cluster's description file.
const EnvCluster = "BERTH_TEST_CLUSTER"

// Cluster is a swarm of disposable engines; Nodes[0] is the first manager.
type Cluster struct {
	Nodes []*Node `json:"nodes"`
}

// Manager is the node the swarm was initialised on.
func (c *Cluster) Manager() *Node { return c.Nodes[0] }

// StartCluster starts size engines, joins them into one swarm (the first one a
// manager, the others workers) and loads the busybox test image on each.
func StartCluster(ctx context.Context, size int) (c *Cluster, err error) {
	c = &Cluster{}
	defer func() {
		if err != nil {
			c.Destroy()
		}
	}()
	for i := 0; i < size; i++ {
		n, err := StartNode(ctx, fmt.Sprintf("node%d", i+1))
		if err != nil {
			return c, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	if err := c.formSwarm(ctx); err != nil {
		return c, err
	}
	return c, nil
}

// StartNode allocates, wires and starts one engine with the busybox image loaded, outside any swarm.
func StartNode(ctx context.Context, hostname string) (*Node, error) {
	return startNode(ctx, hostname, false)
}

// StartPullingNode is StartNode for an engine whose swarm tasks pull their image before
// starting, as production engines do (the suite's engines run offline images only).
func StartPullingNode(ctx context.Context, hostname string) (*Node, error) {
	return startNode(ctx, hostname, true)
}

func startNode(ctx context.Context, hostname string, pulls bool) (*Node, error) {
	index, err := allocateIndex()
	if err != nil {
		return nil, err
	}
	n := newNode(index, hostname)
	n.Pulls = pulls
	if err := n.createNetwork(); err != nil {
		n.Destroy()
		return nil, err
	}
	if err := n.Start(ctx); err != nil {
		n.Destroy()
		return nil, err
	}
	if err := BuildBusybox(ctx, n); err != nil {
		n.Destroy()
		return nil, err
	}
	return n, nil
}

// formSwarm initialises the swarm on the first node and joins the others as workers.
func (c *Cluster) formSwarm(ctx context.Context) error {
	mgr, err := c.Manager().Client()
	if err != nil {
		return err
	}
	defer mgr.Close()
	if _, err := mgr.SwarmInit(ctx, swarm.InitRequest{
		ListenAddr:    "0.0.0.0:2377",
		AdvertiseAddr: c.Manager().Addr,
	}); err != nil {
		return fmt.Errorf("swarm init: %w", err)
	}
	sw, err := mgr.SwarmInspect(ctx)
	if err != nil {
		return err
	}
	for _, n := range c.Nodes[1:] {
		if err := c.joinWorker(ctx, n, sw.JoinTokens.Worker); err != nil {
			return err
		}
	}
	return nil
}

// JoinWorker joins an engine started outside the swarm (StartNode) as a worker.
func (c *Cluster) JoinWorker(ctx context.Context, n *Node) error {
	mgr, err := c.Manager().Client()
	if err != nil {
		return err
	}
	defer mgr.Close()
	sw, err := mgr.SwarmInspect(ctx)
	if err != nil {
		return err
	}
	return c.joinWorker(ctx, n, sw.JoinTokens.Worker)
}

func (c *Cluster) joinWorker(ctx context.Context, n *Node, token string) error {
	if !reachable(n.Name, c.Manager().Addr+":2377", 5*time.Second) {
		if hint := firewallHint(); hint != "" {
			return fmt.Errorf("swarm join %s: %s", n.Name, hint)
		}
		return fmt.Errorf("swarm join %s: the manager's port %s:2377 does not answer from %s", n.Name, c.Manager().Addr, n.Name)
	}
	cli, err := n.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	err = cli.SwarmJoin(ctx, swarm.JoinRequest{ListenAddr: "0.0.0.0:2377", AdvertiseAddr: n.Addr, RemoteAddrs: []string{c.Manager().Addr + ":2377"}, JoinToken: token})
	if err != nil {
		return fmt.Errorf("swarm join %s: %w", n.Name, err)
	}
	return nil
}

// Destroy tears down every engine of the cluster.
func (c *Cluster) Destroy() {
	for _, n := range c.Nodes {
		n.Destroy()
	}
}

// Save writes the cluster description for test processes to load.
func (c *Cluster) Save(path string) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// Load reads a cluster description written by Save.
func Load(path string) (*Cluster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Cluster
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(c.Nodes) == 0 {
		return nil, errors.New("cluster description lists no node")
	}
	return &c, nil
}

// maxIndex keeps every derived address valid: the address pool 10.(100+index).0.0/16 and the bridge address 10.213.0.(10+index).
const maxIndex = 150

// allocateIndex hands out engine numbers unique across concurrent test processes.
func allocateIndex() (int, error) {
	if err := os.MkdirAll(runRoot, 0o700); err != nil {
		return 0, err
	}
	lock, err := os.OpenFile(filepath.Join(runRoot, "alloc.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 0, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return 0, err
	}
	counter := filepath.Join(runRoot, "alloc.next")
	data, _ := os.ReadFile(counter)
	next, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	for tries := 0; tries < maxIndex; tries++ {
		if next < 1 || next > maxIndex {
			next = 1
		}
		idx := next
		next++
		if _, err := os.Stat("/run/netns/bt" + strconv.Itoa(idx)); err == nil {
			continue
		}
		if err := os.WriteFile(counter, []byte(strconv.Itoa(next)), 0o600); err != nil {
			return 0, err
		}
		return idx, nil
	}
	return 0, errors.New("no free engine index: too many test engines running")
}

// DestroyLeftovers tears down every test engine still present, such as the
// dedicated engines of a test process that was killed before its cleanups ran.
func DestroyLeftovers() {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		var idx int
		if _, err := fmt.Sscanf(e.Name(), "bt%d", &idx); err == nil && e.Name() == fmt.Sprintf("bt%d", idx) {
			newNode(idx, "").Destroy()
		}
	}
	RemoveBridge()
}
