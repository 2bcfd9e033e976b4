package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/agent"
)

// runAgent serves the node agent until ctx ends (the berth-agent service runs it on every node).
func runAgent(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	addr := fs.String("addr", envOr(getenv, "BERTH_AGENT_ADDR", ":7441"), "listen address (BERTH_AGENT_ADDR)")
	secrets := fs.String("secrets", envOr(getenv, "BERTH_AGENT_SECRETS", "/run/secrets"), "folder holding the agent's keys (BERTH_AGENT_SECRETS)")
	socket := fs.String("socket", envOr(getenv, "BERTH_AGENT_SOCKET", "/var/run/docker.sock"), "the node engine's socket (BERTH_AGENT_SOCKET)")
	format := fs.String("log-format", envOr(getenv, "BERTH_LOG_FORMAT", "text"), "log lines as text or json (BERTH_LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(*format, stderr)
	if err != nil {
		return err
	}
	return agent.Run(ctx, agent.Config{Addr: *addr, SecretsDir: *secrets, Socket: *socket, Log: log})
}

// agentOptions are serve's settings for the agents.
type agentOptions struct {
	Image   string
	Publish bool
	Socket  string
}

func agentFlags(fs *flag.FlagSet, o *agentOptions, getenv func(string) string) {
	fs.StringVar(&o.Image, "agent-image", getenv("BERTH_AGENT_IMAGE"), "image the node agents run (BERTH_AGENT_IMAGE; default: Berth's own when it runs as a service)")
	fs.BoolVar(&o.Publish, "agent-publish", getenv("BERTH_AGENT_PUBLISH") == "true", "publish the agents' port 7441 on each node, for a Berth outside the overlay network (BERTH_AGENT_PUBLISH=true)")
	fs.StringVar(&o.Socket, "agent-socket", getenv("BERTH_AGENT_SOCKET"), "the engine socket's path on the nodes (BERTH_AGENT_SOCKET; default /var/run/docker.sock)")
}

// setUpAgents gives the engine the agents' keys (made and sealed in the store the first
// time), image (Berth's own container's when not given) and version.
func setUpAgents(ctx context.Context, st *store.Store, engine *swarm.Engine, o agentOptions, log *slog.Logger) error {
	raw, err := st.AgentKeys(ctx, func() ([]byte, error) {
		k, err := agent.NewKeys(time.Now())
		if err != nil {
			return nil, err
		}
		return k.Marshal()
	})
	if err != nil {
		return err
	}
	keys, err := agent.UnmarshalKeys(raw)
	if err != nil {
		return err
	}
	return engine.SetAgents(swarm.AgentSetup{Keys: keys, Image: o.Image, Version: binaryVersion(), Publish: o.Publish, Socket: o.Socket})
}

// binaryVersion identifies this build by a hash of its executable: agents are redeployed when it changes.
func binaryVersion() string {
	path, err := os.Executable()
	if err != nil {
		return "unknown"
	}
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unknown"
	}
	return strings.ToLower(hex.EncodeToString(h.Sum(nil))[:12])
}

// upgradeAgents redeploys deployed agents that do not match this portal, once the engine answers.
func upgradeAgents(ctx context.Context, engine *swarm.Engine, log *slog.Logger) {
	for ctx.Err() == nil && !engine.Cached().SwarmActive() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(3 * time.Second):
		}
	}
	changed, err := engine.UpgradeAgents(ctx)
	switch {
	case err != nil:
		log.Warn("agents not upgraded", "error", err)
	case changed:
		log.Info("agents upgraded to this Berth's image and version")
	}
}
