package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
)

// Port is where agents listen, on the overlay network (and published on the node when the portal runs outside it).
const Port = 7441

// Config says where an agent finds its keys and engine and where it listens.
type Config struct {
	Addr       string // ":7441"
	SecretsDir string // holds ca.pem, agent.pem, agent-key.pem and grant.pub
	Socket     string // the engine's unix socket
	Log        *slog.Logger
}

// Run serves the agent until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(cfg.SecretsDir, name))
		if err != nil {
			return nil, fmt.Errorf("the agent's keys are missing (%w): deploy the agent from Berth's Nodes page", err)
		}
		return b, nil
	}
	files := map[string][]byte{}
	for _, name := range []string{"ca.pem", "agent.pem", "agent-key.pem", "grant.pub"} {
		b, err := read(name)
		if err != nil {
			return err
		}
		files[name] = b
	}
	tlsConf, err := ServerTLS(files["ca.pem"], files["agent.pem"], files["agent-key.pem"])
	if err != nil {
		return err
	}
	grantKey, err := ParseGrantKey(files["grant.pub"])
	if err != nil {
		return err
	}
	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+cfg.Socket), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	look := engineLookup{cli}
	nodeID, selfImage, err := look.whoAmI(ctx)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr: cfg.Addr, TLSConfig: tlsConf, ReadHeaderTimeout: 10 * time.Second,
		Handler:      &Server{NodeID: nodeID, SelfImage: selfImage, GrantKey: grantKey, Socket: cfg.Socket, Look: look, Log: cfg.Log, Now: time.Now},
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1 only: streams are hijacked
		ErrorLog:     slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	cfg.Log.Info("berth agent listening", "addr", cfg.Addr, "node", nodeID)
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	}
}

// engineLookup answers the rules' questions from the node's engine.
type engineLookup struct{ cli *client.Client }

func (l engineLookup) Container(ctx context.Context, ref string) (ContainerFacts, error) {
	c, err := l.cli.ContainerInspect(ctx, ref)
	if err != nil {
		return ContainerFacts{}, err
	}
	f := ContainerFacts{ID: c.ID, Helper: c.Config != nil && c.Config.Labels[HelperLabel] != "",
		Task: c.Config != nil && c.Config.Labels["com.docker.swarm.task.id"] != "", Escapes: ContainerEscapes(c.HostConfig, c.Mounts)}
	for _, m := range c.Mounts {
		if m.Type == mount.TypeVolume {
			f.Volumes = append(f.Volumes, m.Name)
		} else {
			f.Other = true
		}
	}
	return f, nil
}

func (l engineLookup) ExecContainer(ctx context.Context, id string) (string, error) {
	x, err := l.cli.ContainerExecInspect(ctx, id)
	return x.ContainerID, err
}

func (l engineLookup) ImageID(ctx context.Context, ref string) (string, error) {
	img, err := l.cli.ImageInspect(ctx, ref)
	return img.ID, err
}

// whoAmI finds the node's swarm id and the agent's own image (its container is named by the host name).
func (l engineLookup) whoAmI(ctx context.Context) (nodeID, image string, err error) {
	info, err := l.cli.Info(ctx)
	if err != nil {
		return "", "", fmt.Errorf("the node's engine: %w", err)
	}
	if info.Swarm.NodeID == "" {
		return "", "", errors.New("the node's engine is not part of a swarm")
	}
	host, _ := os.Hostname()
	c, err := l.cli.ContainerInspect(ctx, host)
	if err != nil {
		return "", "", fmt.Errorf("the agent must run in a container of the berth-agent service (%w)", err)
	}
	return info.Swarm.NodeID, strings.TrimSpace(c.Image), nil
}
