package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/agent"
	"github.com/labstack/echo/v4"
)

// AgentEngine deploys, upgrades, re-keys and removes the agents, and says what they can do.
type AgentEngine interface {
	Agents(ctx context.Context) (bool, map[string]swarm.AgentState, error)
	DeployAgent(ctx context.Context) (bool, error)
	UpgradeAgents(ctx context.Context) (bool, error)
	RemoveAgent(ctx context.Context) error
	ReplaceAgentKeys(k agent.Keys) error
	AgentsUnavailable(ctx context.Context) string
	HelperProblem() string
}

// agentsObject names the agents in the audit log.
const agentsObject = "service:" + swarm.AgentService

// agentsFailed audits a failed agents action and shows the Nodes page with the reason.
func (h *Handlers) agentsFailed(c echo.Context, action, detail, msg string, err error) error {
	h.audit(c, action, agentsObject, "failed: "+err.Error(), detail)
	lock, lerr := h.swarmLock(c)
	if lerr != nil {
		return lerr
	}
	return h.renderNodes(c, http.StatusUnprocessableEntity, lock, msg+err.Error())
}

// DeployAgents creates or upgrades the agent service on every node.
func (h *Handlers) DeployAgents(c echo.Context) error {
	changed, err := h.engine.DeployAgent(c.Request().Context())
	if err != nil {
		return h.agentsFailed(c, "agents.deploy", "", "The agents were not deployed: ", err)
	}
	if !changed {
		return h.redirectNotice(c, "/nodes", "The agents already run this Berth's version.")
	}
	h.audit(c, "agents.deploy", agentsObject, "ok", "global service with this Berth's image and keys")
	return h.redirectNotice(c, "/nodes", "The agents are starting on every node; the table shows each one's state.")
}

// RotateAgentKeys makes new agent keys, keeps them, and redeploys deployed agents with them.
func (h *Handlers) RotateAgentKeys(c echo.Context) error {
	ctx := c.Request().Context()
	if ok, err := h.askFirst(c, "Rotate the agents' keys? Every agent is redeployed; terminals and uploads on other nodes pause meanwhile.", "/nodes"); !ok {
		return err
	}
	keys, err := agent.NewKeys(time.Now())
	if err != nil {
		return err
	}
	raw, err := keys.Marshal()
	if err != nil {
		return err
	}
	// Kept first: should the redeployment fail, the Nodes page shows the agents as another version to upgrade.
	if err := h.store.ReplaceAgentKeys(ctx, raw); err != nil {
		return err
	}
	if err := h.engine.ReplaceAgentKeys(keys); err != nil {
		return err
	}
	if _, err := h.engine.UpgradeAgents(ctx); err != nil {
		return h.agentsFailed(c, "agents.rotate-keys", "new keys "+keys.Fingerprint()+" kept", "New keys are kept, but the agents were not redeployed with them: ", err)
	}
	h.audit(c, "agents.rotate-keys", agentsObject, "ok", "new keys "+keys.Fingerprint())
	return h.redirectNotice(c, "/nodes", "New agent keys are in use; the agents restart with them node by node and the old keys' secrets are removed.")
}

// RemoveAgents removes the agent service and its keys' secrets.
func (h *Handlers) RemoveAgents(c echo.Context) error {
	if ok, err := h.askFirst(c, "Remove the agents? Terminals, uploads, backups and restores then work only on this node.", "/nodes"); !ok {
		return err
	}
	if err := h.engine.RemoveAgent(c.Request().Context()); err != nil {
		return h.agentsFailed(c, "agents.remove", "", "The agents were not removed: ", err)
	}
	h.audit(c, "agents.remove", agentsObject, "ok", "")
	return h.redirectNotice(c, "/nodes", "The agents are removed: other nodes' terminals, uploads, volumes and backups are unavailable until they are deployed again.")
}
