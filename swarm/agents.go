package swarm

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/swarm/agent"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// AgentService is the global service that runs Berth's agent on every node.
const AgentService = "berth-agent"

// AgentLabel marks the agent's service and secrets (the keys' fingerprint): Berth's own, not the environment's, so backups leave them out.
const AgentLabel = "berth.agent"

// agentVersionLabel records which Berth deployed the agents, so they are upgraded with it.
const agentVersionLabel = "berth.agent.version"

// ErrAgentMissing means a node's work needs the agent and none runs there.
var ErrAgentMissing = errors.New("the Berth agent is not running on the node")

// AgentSetup is what the portal needs to deploy and reach its agents.
type AgentSetup struct {
	Keys    agent.Keys
	Image   string // Berth's image, which the agents run ("": Berth's own container's, when it runs as a service)
	Version string // Berth's version: a different one upgrades the agents
	Publish bool   // publish the agents' port on each node, for a portal outside the overlay network
	Socket  string // the engine's socket on every node ("" is /var/run/docker.sock; swarm templates such as {{.Node.Hostname}} work)
}

// agentLink is the portal's side of its agents: keys, TLS and one connection pool per agent.
type agentLink struct {
	setup AgentSetup
	tls   *tls.Config
	grant ed25519.PrivateKey

	mu           sync.Mutex
	image        string                     // the agents' image, once known
	notContainer bool                       // Berth does not run in a container of this engine: its image cannot be found
	pools        map[string]*http.Transport // by agent address
}

// SetAgents gives the engine the keys and image for its agents.
func (e *Engine) SetAgents(s AgentSetup) error {
	conf, err := s.Keys.ClientTLS()
	if err != nil {
		return err
	}
	e.agents.Store(&agentLink{setup: s, tls: conf, grant: ed25519.PrivateKey(s.Keys.GrantKey), image: s.Image, pools: map[string]*http.Transport{}})
	return nil
}

// ReplaceAgentKeys makes the engine use new keys from now on, keeping the rest of its agent setup.
func (e *Engine) ReplaceAgentKeys(k agent.Keys) error {
	l := e.agents.Load()
	if l == nil {
		return errors.New("this Berth has no agent setup")
	}
	s := l.setup
	s.Keys, s.Image = k, l.knownImage()
	return e.SetAgents(s)
}

// knownImage is the agents' image as far as it is known.
func (l *agentLink) knownImage() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.image
}

// agentImage is the image agents run: the one configured, else that of Berth's own
// container (a service task's host name is its container's id); "" when neither is known.
func (e *Engine) agentImage(ctx context.Context) string {
	l := e.link()
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.image == "" && !l.notContainer {
		host, _ := os.Hostname()
		img, err := e.ContainerImage(ctx, host)
		l.image, l.notContainer = img, errors.Is(err, ErrNotFound) // asked again only after the engine failed to answer
	}
	return l.image
}

// AgentState is how the agent fares on one node.
type AgentState struct {
	Node    string // node id
	State   string // running, starting, failed, missing
	Image   string
	Current bool   // runs the portal's image and version
	Error   string // the task's last error
}

// Agents reports whether the agent service is deployed and how it fares on each node (by node id).
func (e *Engine) Agents(ctx context.Context) (bool, map[string]AgentState, error) {
	svc, found, err := e.rawService(ctx, AgentService)
	if err != nil {
		return false, nil, err
	}
	if !found {
		return false, map[string]AgentState{}, nil
	}
	tasks, err := e.tasks(ctx, "", svc.ID, false)
	if err != nil {
		return true, nil, err
	}
	image, l := e.agentImage(ctx), e.link()
	current := l != nil && l.current(svc.Spec, image)
	out := map[string]AgentState{}
	for _, t := range tasks {
		cs := t.Spec.ContainerSpec
		st := AgentState{Node: t.NodeID, State: "starting", Image: cs.Image, Error: t.Status.Err,
			Current: current && cs.Image == image && cs.Labels[AgentLabel] == l.setup.Keys.Fingerprint() && cs.Labels[agentVersionLabel] == l.setup.Version}
		switch t.Status.State {
		case dswarm.TaskStateRunning:
			st.State = "running"
		case dswarm.TaskStateFailed, dswarm.TaskStateRejected:
			st.State = "failed"
		}
		if prev, ok := out[t.NodeID]; !ok || prev.State != "running" {
			out[t.NodeID] = st
		}
	}
	return true, out, nil
}

// DeployAgent creates or upgrades the agent service: the keys go in as secrets,
// the engine socket is mounted, and it joins the overlay network. It changes
// nothing when the running agents already match the portal.
func (e *Engine) DeployAgent(ctx context.Context) (bool, error) { return e.deployAgents(ctx, false) }

// UpgradeAgents redeploys the agents when they run another image, version or keys than the portal (nothing when none are deployed).
func (e *Engine) UpgradeAgents(ctx context.Context) (bool, error) { return e.deployAgents(ctx, true) }

func (e *Engine) deployAgents(ctx context.Context, onlyUpgrade bool) (changed bool, err error) {
	cur, _, err := e.cli.ServiceInspectWithRaw(ctx, AgentService, dswarm.ServiceInspectOptions{})
	found := err == nil
	switch {
	case err != nil && !cerrdefs.IsNotFound(err):
		return false, e.wrap(err)
	case !found && onlyUpgrade:
		return false, nil
	case found && cur.Spec.Labels[AgentLabel] == "":
		return false, errors.New("a service named " + AgentService + " exists that Berth did not deploy: remove or rename it first")
	}
	if why := e.AgentsUnavailable(ctx); why != "" {
		return false, errors.New(why)
	}
	l := e.link() // AgentsUnavailable saw a setup: links are replaced, never removed
	s := l.setup
	s.Image = e.agentImage(ctx)
	fp := s.Keys.Fingerprint()
	if found && l.current(cur.Spec, s.Image) {
		e.pruneAgentSecrets(ctx, fp)
		return false, nil
	}
	if err := e.ensureNetwork(ctx); err != nil {
		return false, err
	}
	var refs []*dswarm.SecretReference
	for file, data := range s.Keys.SecretFiles() {
		name := "berth-agent-" + strings.TrimSuffix(strings.ReplaceAll(file, ".", "-"), "-pem") + "-" + fp
		id, err := e.CreateObject(ctx, KindSecret, name, data, map[string]string{AgentLabel: fp})
		if errors.Is(err, ErrExists) {
			obj, _, oerr := e.cli.SecretInspectWithRaw(ctx, name)
			id, err = obj.ID, oerr
		}
		if err != nil {
			return false, fmt.Errorf("the agent's secret %s: %w", name, err)
		}
		refs = append(refs, &dswarm.SecretReference{SecretID: id, SecretName: name,
			File: &dswarm.SecretReferenceFileTarget{Name: file, UID: "0", GID: "0", Mode: 0o400}})
	}
	slices.SortFunc(refs, func(a, b *dswarm.SecretReference) int { return strings.Compare(a.File.Name, b.File.Name) })
	labels := map[string]string{ManagedLabel: "true", AgentLabel: fp, agentVersionLabel: s.Version}
	spec := dswarm.ServiceSpec{
		Annotations: dswarm.Annotations{Name: AgentService, Labels: labels},
		Mode:        dswarm.ServiceMode{Global: &dswarm.GlobalService{}},
		TaskTemplate: dswarm.TaskSpec{
			ContainerSpec: &dswarm.ContainerSpec{
				Image: s.Image, Args: []string{"agent"}, Secrets: refs,
				Labels: labels, // per task too: which keys and build it runs
				Mounts: []mount.Mount{{Type: mount.TypeBind, Source: s.socket(), Target: "/var/run/docker.sock"}},
			},
			Networks:      []dswarm.NetworkAttachmentConfig{{Target: DefaultNetwork}},
			RestartPolicy: &dswarm.RestartPolicy{Condition: dswarm.RestartPolicyConditionAny},
		},
		UpdateConfig: &dswarm.UpdateConfig{Parallelism: 1, Order: dswarm.UpdateOrderStopFirst, FailureAction: dswarm.UpdateFailureActionRollback},
		EndpointSpec: &dswarm.EndpointSpec{Mode: dswarm.ResolutionModeDNSRR},
	}
	if s.Publish {
		spec.EndpointSpec.Ports = []dswarm.PortConfig{{Protocol: dswarm.PortConfigProtocolTCP, TargetPort: agent.Port, PublishedPort: agent.Port, PublishMode: dswarm.PortConfigPublishModeHost}}
	}
	id := cur.ID
	if found {
		spec.TaskTemplate.ForceUpdate = cur.Spec.TaskTemplate.ForceUpdate + 1
		_, err = e.cli.ServiceUpdate(ctx, cur.ID, cur.Version, spec, dswarm.ServiceUpdateOptions{})
	} else {
		var created dswarm.ServiceCreateResponse
		created, err = e.cli.ServiceCreate(ctx, spec, dswarm.ServiceCreateOptions{})
		id = created.ID
	}
	if err != nil {
		return false, e.wrap(err)
	}
	e.modelSaw(ctx, id)
	e.pruneAgentSecrets(ctx, fp)
	return true, nil
}

// current reports whether a deployed agent service matches this portal: keys, build, image, port and socket.
func (l *agentLink) current(spec dswarm.ServiceSpec, image string) bool {
	cs := spec.TaskTemplate.ContainerSpec
	published := spec.EndpointSpec != nil && len(spec.EndpointSpec.Ports) > 0
	return cs != nil && spec.Labels[AgentLabel] == l.setup.Keys.Fingerprint() && spec.Labels[agentVersionLabel] == l.setup.Version &&
		cs.Image == image && published == l.setup.Publish && len(cs.Mounts) == 1 && cs.Mounts[0].Source == l.setup.socket()
}

// socket is the engine socket's path on the nodes.
func (s AgentSetup) socket() string { return cmp.Or(s.Socket, "/var/run/docker.sock") }

// pruneAgentSecrets removes earlier keys' secrets once no agent uses them (those in use are refused by the engine and stay).
func (e *Engine) pruneAgentSecrets(ctx context.Context, keep string) {
	old, err := e.cli.SecretList(ctx, dswarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("label", AgentLabel))})
	if err != nil {
		return
	}
	for _, sec := range old {
		if sec.Spec.Labels[AgentLabel] != keep {
			e.cli.SecretRemove(ctx, sec.ID)
		}
	}
}

// RemoveAgent removes the agent service, then its secrets once its tasks let go of them.
func (e *Engine) RemoveAgent(ctx context.Context) error {
	cur, _, _ := e.rawService(ctx, AgentService)
	err := e.cli.ServiceRemove(ctx, AgentService)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return e.wrap(err)
	}
	e.modelSaw(ctx, cur.ID)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		list, err := e.cli.SecretList(ctx, dswarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("label", AgentLabel))})
		if err != nil {
			return e.wrap(err)
		}
		left := 0
		for _, sec := range list {
			if e.cli.SecretRemove(ctx, sec.ID) != nil {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the agent service is removed; %d of its secrets are still in use", left)
		}
	}
}

// InternalPurpose says what Berth keeps a secret or config for itself, from its labels ("" for the environment's own).
func InternalPurpose(labels map[string]string) string {
	switch {
	case labels[AgentLabel] != "":
		return "the Berth agents' keys (made by Berth, redeployed from the Nodes page)"
	case labels["berth.loadbalancer.object"] != "":
		return "the load balancer's settings or certificate (redeployed from its page)"
	}
	return ""
}

// ContainerImage is the image reference a container on this engine's node was created from.
func (e *Engine) ContainerImage(ctx context.Context, id string) (string, error) {
	c, err := e.cli.ContainerInspect(ctx, id)
	if err != nil {
		return "", e.wrap(err)
	}
	return c.Config.Image, nil
}

// AgentsUnavailable says why agents cannot be deployed ("" when they can).
func (e *Engine) AgentsUnavailable(ctx context.Context) string {
	switch {
	case e.link() == nil:
		return "This Berth has no agent keys."
	case e.agentImage(ctx) == "":
		return "Berth does not know its own image: run it as a service, or start it with --agent-image."
	}
	return ""
}
