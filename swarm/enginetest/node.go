// Package enginetest starts disposable Docker engines, each in its own network
// namespace, and joins them into swarms for Berth's integration tests.
package enginetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/client"
)

// Root is where engines keep their data and sockets; short, because unix socket paths are limited.
const (
	dataRoot   = "/var/lib/berth-test"
	runRoot    = "/run/bt"
	bridgeName = "berthbr0"
	bridgeAddr = "10.213.0.1"
)

// Node is one disposable dockerd in its own network namespace.
type Node struct {
	Index    int    `json:"index"`
	Name     string `json:"name"`     // network namespace, cgroup parent and containerd namespace
	Hostname string `json:"hostname"` // what swarm shows as the node name
	Addr     string `json:"addr"`     // address on the test bridge
	Socket   string `json:"socket"`   // unix socket path of the engine API
	Pulls    bool   `json:"pulls"`    // its swarm tasks pull their image (else they run the engine's copy only)
}

// newNode describes the engine with the given allocation index.
func newNode(index int, hostname string) *Node {
	name := fmt.Sprintf("bt%d", index)
	return &Node{
		Index:    index,
		Name:     name,
		Hostname: hostname,
		Addr:     fmt.Sprintf("10.213.0.%d", 10+index),
		Socket:   filepath.Join(runRoot, name+".sock"),
	}
}

// Host is the DOCKER_HOST value that reaches this engine.
func (n *Node) Host() string { return "unix://" + n.Socket }

// Client returns a Docker client for this engine with API version negotiation.
func (n *Node) Client() (*client.Client, error) {
	return client.NewClientWithOpts(client.WithHost(n.Host()), client.WithAPIVersionNegotiation())
}

func (n *Node) dir() string      { return filepath.Join(dataRoot, n.Name) }
func (n *Node) execRoot() string { return filepath.Join(runRoot, n.Name) }
func (n *Node) pidFile() string  { return filepath.Join(runRoot, n.Name+".pid") }
func (n *Node) logFile() string  { return filepath.Join(n.dir(), "dockerd.log") }

// createNetwork makes the namespace and wires it to the shared test bridge.
func (n *Node) createNetwork() error {
	if err := ensureBridge(); err != nil {
		return err
	}
	veth := "bv-" + n.Name
	steps := [][]string{
		{"ip", "netns", "add", n.Name},
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", n.Name},
		{"ip", "link", "set", veth, "master", bridgeName, "up"},
		{"ip", "-n", n.Name, "addr", "add", n.Addr + "/24", "dev", "eth0"},
		{"ip", "-n", n.Name, "link", "set", "eth0", "up"},
		{"ip", "-n", n.Name, "link", "set", "lo", "up"},
		{"ip", "-n", n.Name, "route", "add", "default", "via", bridgeAddr},
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			return err
		}
	}
	return nil
}

// Start launches dockerd inside the namespace and waits until its API answers.
func (n *Node) Start(ctx context.Context) error {
	if err := os.MkdirAll(n.dir(), 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(runRoot, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(n.dir(), "daemon.json")
	if err := os.WriteFile(conf, []byte(daemonConfig), 0o600); err != nil {
		return err
	}
	script, err := cgroupMountScript()
	if err != nil {
		return err
	}
	args := []string{
		"--data-root", filepath.Join(n.dir(), "data"),
		"--exec-root", n.execRoot(),
		"--pidfile", n.pidFile(),
		"-H", n.Host(),
		"--config-file", conf,
		"--containerd-namespace", n.Name,
		"--containerd-plugins-namespace", n.Name + "p",
		"--cgroup-parent", n.Name,
		"--bip", fmt.Sprintf("172.31.%d.1/24", n.Index),
		"--default-address-pool", fmt.Sprintf("base=10.%d.0.0/16,size=24", 100+n.Index),
	}
	remote, err := n.remoteArgs()
	if err != nil {
		return err
	}
	args = append(args, remote...)
	offline := "export DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1\n" // swarm tasks never pull: there is no registry
	if n.Pulls {
		offline = ""
	}
	script += fmt.Sprintf("hostname %s\n%sexec dockerd %s\n", n.Hostname, offline, strings.Join(args, " "))
	logf, err := os.OpenFile(n.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("ip", "netns", "exec", n.Name, "unshare", "--uts", "sh", "-c", script)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dockerd %s: %w", n.Name, err)
	}
	go cmd.Wait() //nolint:errcheck // reaped here; liveness is checked through the API
	return n.waitReady(ctx)
}

// waitReady polls the engine's ping endpoint until it answers or time runs out.
func (n *Node) waitReady(ctx context.Context) error {
	cli, err := n.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = cli.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(200 * time.Millisecond)
	}
	logTail, _ := os.ReadFile(n.logFile())
	if len(logTail) > 2000 {
		logTail = logTail[len(logTail)-2000:]
	}
	return fmt.Errorf("engine %s did not answer within 60s: %v\n%s", n.Name, err, logTail)
}

// Stop ends dockerd (its containers first, so shutdown is quick) and keeps its data.
func (n *Node) Stop() {
	killCgroup(n.Name)
	pid := readPid(n.pidFile())
	if pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 100 && processAlive(pid); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if processAlive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	killNamespace(n.Name)
	os.Remove(n.pidFile())
	os.Remove(n.Socket)
}

// Destroy stops the engine and removes its namespace, links, mounts and files.
func (n *Node) Destroy() {
	n.Stop()
	unmountUnder(n.execRoot())
	unmountUnder(n.dir())
	removeCgroup(n.Name)
	_ = run("ip", "link", "del", "bv-"+n.Name)
	_ = run("ip", "netns", "del", n.Name)
	os.RemoveAll(n.execRoot())
	os.RemoveAll(n.dir())
}

// daemonConfig lets engines pull from registry stand-ins that tests run on the host side of the bridge.
const daemonConfig = `{"insecure-registries": ["10.213.0.0/24"]}` + "\n"
