package swarm

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// encodeAuth turns a credential into the engine's registry auth header value.
func encodeAuth(c *Credential) (string, error) {
	if c == nil {
		return "", nil
	}
	return registry.EncodeAuthConfig(registry.AuthConfig{Username: c.Username, Password: c.Password, ServerAddress: serverAddress(RegistryHost(c.URL))})
}

// prepare checks a spec against the engine (secrets, configs, networks, placement) and converts it.
func (e *Engine) prepare(ctx context.Context, s ServiceSpec, owner string) (dswarm.ServiceSpec, error) {
	fields := map[string]string{}
	ids, err := e.objectIDs(ctx, s)
	if err != nil {
		return dswarm.ServiceSpec{}, err
	}
	for i, r := range s.Secrets {
		if _, ok := ids.secrets[r.Name]; !ok {
			fields[fmt.Sprintf("secrets[%d].name", i)] = fmt.Sprintf("There is no secret named %s.", r.Name)
		}
	}
	for i, r := range s.Configs {
		if _, ok := ids.configs[r.Name]; !ok {
			fields[fmt.Sprintf("configs[%d].name", i)] = fmt.Sprintf("There is no config named %s.", r.Name)
		}
	}
	networks := s.Networks
	if networks == nil {
		networks = []string{DefaultNetwork}
	}
	have, err := e.swarmNetworks(ctx, networks)
	if err != nil {
		return dswarm.ServiceSpec{}, err
	}
	for i, n := range networks {
		if !have[n] {
			msg := fmt.Sprintf("There is no swarm network named %s.", n)
			if n == DefaultNetwork {
				msg += " Initialize the Docker environment on the dashboard to create it."
			}
			fields[fmt.Sprintf("networks[%d]", i)] = msg
		}
	}
	if len(s.Constraints) > 0 && !s.AllowUnplaced {
		nodes, err := e.cli.NodeList(ctx, dswarm.NodeListOptions{})
		if err != nil {
			return dswarm.ServiceSpec{}, e.wrap(err)
		}
		if !anyNodeSatisfies(nodes, s.Constraints) {
			fields["constraints"] = "No node satisfies these constraints yet, so the service would not run. Check node labels, or deploy anyway (allow_unplaced) if such a node will join."
		}
	}
	if len(s.Domains) > 0 {
		if err := e.checkDomains(ctx, s, fields); err != nil {
			return dswarm.ServiceSpec{}, err
		}
	}
	if len(fields) > 0 {
		return dswarm.ServiceSpec{}, &SpecError{Fields: fields}
	}
	return s.toDocker(ids, owner)
}

// CreateService deploys a new service, pulling with the owner's credential (nil: anonymously).
func (e *Engine) CreateService(ctx context.Context, s ServiceSpec, owner string, cred *Credential) (Service, error) {
	spec, err := e.prepare(ctx, s, owner)
	if err != nil {
		return Service{}, err
	}
	auth, err := encodeAuth(cred)
	if err != nil {
		return Service{}, err
	}
	res, err := e.cli.ServiceCreate(ctx, spec, dswarm.ServiceCreateOptions{EncodedRegistryAuth: auth, QueryRegistry: false})
	if err != nil {
		if cerrdefs.IsConflict(err) || strings.Contains(err.Error(), "already exists") {
			return Service{}, &SpecError{Fields: map[string]string{"name": "A service named " + s.Name + " exists."}}
		}
		return Service{}, e.wrap(err)
	}
	return e.inspectService(ctx, res.ID)
}

// UpdateService replaces a service's spec (its name cannot change), keeping its owner label.
func (e *Engine) UpdateService(ctx context.Context, name string, s ServiceSpec, owner string, cred *Credential) (Service, error) {
	if s.Name != name {
		return Service{}, &SpecError{Fields: map[string]string{"name": "A service cannot be renamed: deploy a new one instead."}}
	}
	spec, err := e.prepare(ctx, s, owner)
	if err != nil {
		return Service{}, err
	}
	return e.update(ctx, name, cred, dswarm.ServiceUpdateOptions{}, func(cur *dswarm.ServiceSpec) {
		spec.TaskTemplate.ForceUpdate = cur.TaskTemplate.ForceUpdate
		*cur = spec
	})
}

// update applies change to the current spec and sends it, re-reading once if someone else changed the service meanwhile.
func (e *Engine) update(ctx context.Context, name string, cred *Credential, opts dswarm.ServiceUpdateOptions, change func(*dswarm.ServiceSpec)) (Service, error) {
	auth, err := encodeAuth(cred)
	if err != nil {
		return Service{}, err
	}
	opts.EncodedRegistryAuth = auth
	for attempt := 0; ; attempt++ {
		cur, _, err := e.cli.ServiceInspectWithRaw(ctx, name, dswarm.ServiceInspectOptions{})
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				return Service{}, &engineError{msg: "No service named " + name + ".", kind: ErrNotFound}
			}
			return Service{}, e.wrap(err)
		}
		spec := cur.Spec
		change(&spec)
		_, err = e.cli.ServiceUpdate(ctx, cur.ID, cur.Version, spec, opts)
		if err == nil {
			return e.inspectService(ctx, cur.ID)
		}
		if attempt == 0 && strings.Contains(err.Error(), "out of sequence") {
			continue
		}
		return Service{}, e.wrap(err)
	}
}

// RedeployService restarts every task with a fresh pull, optionally switching the image tag first.
func (e *Engine) RedeployService(ctx context.Context, name, tag string, cred *Credential) (Service, error) {
	if tag != "" && !tagPattern.MatchString(tag) {
		return Service{}, &SpecError{Fields: map[string]string{"tag": "A tag has at most 128 letters, digits, '_', '.' and '-'."}}
	}
	return e.update(ctx, name, cred, dswarm.ServiceUpdateOptions{}, func(spec *dswarm.ServiceSpec) {
		if cs := spec.TaskTemplate.ContainerSpec; cs != nil && tag != "" {
			image, _, _ := splitReference(cs.Image)
			cs.Image = image + ":" + tag
		}
		spec.TaskTemplate.ForceUpdate++
	})
}

// ScaleService sets a replicated service's replica count.
func (e *Engine) ScaleService(ctx context.Context, name string, replicas uint64) (Service, error) {
	if replicas > MaxReplicas {
		return Service{}, &SpecError{Fields: map[string]string{"replicas": fmt.Sprintf("Use from 0 to %d replicas.", MaxReplicas)}}
	}
	var global bool
	svc, err := e.update(ctx, name, nil, dswarm.ServiceUpdateOptions{}, func(spec *dswarm.ServiceSpec) {
		if spec.Mode.Replicated == nil {
			global = true
			return
		}
		spec.Mode.Replicated.Replicas = &replicas
	})
	if global {
		return Service{}, &SpecError{Fields: map[string]string{"replicas": "A global service runs one task per node and cannot be scaled."}}
	}
	return svc, err
}

// RollbackService returns a service to its previous spec.
func (e *Engine) RollbackService(ctx context.Context, name string) (Service, error) {
	var none bool
	svc, err := e.update(ctx, name, nil, dswarm.ServiceUpdateOptions{Rollback: "previous"}, func(*dswarm.ServiceSpec) {})
	if err != nil && strings.Contains(err.Error(), "does not have a previous spec") {
		none = true
	}
	if none {
		return Service{}, &SpecError{Fields: map[string]string{"rollback": "The service has no previous spec to return to."}}
	}
	return svc, err
}

// RemoveService deletes a service.
func (e *Engine) RemoveService(ctx context.Context, name string) error {
	if err := e.cli.ServiceRemove(ctx, name); err != nil {
		if cerrdefs.IsNotFound(err) {
			return &engineError{msg: "No service named " + name + ".", kind: ErrNotFound}
		}
		return e.wrap(err)
	}
	if e.model != nil {
		if s, ok := e.model.Service(name); ok {
			e.model.refreshService(ctx, s.ID)
		}
	}
	return nil
}

// liveModel returns the model when it holds a complete view.
// anyNodeSatisfies reports whether some node meets every placement constraint.
func anyNodeSatisfies(nodes []dswarm.Node, constraints []string) bool {
	for _, n := range nodes {
		ok := true
		for _, c := range constraints {
			if !nodeMatches(n, c) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// nodeMatches evaluates one constraint ("key==value" or "key!=value") against a node.
func nodeMatches(n dswarm.Node, c string) bool {
	op := "=="
	i := strings.Index(c, "==")
	if j := strings.Index(c, "!="); j >= 0 && (i < 0 || j < i) {
		op, i = "!=", j
	}
	if i < 0 {
		return true
	}
	key, want := strings.TrimSpace(c[:i]), strings.TrimSpace(c[i+2:])
	var have string
	var known bool
	switch {
	case key == "node.role":
		have, known = string(n.Spec.Role), true
	case key == "node.hostname":
		have, known = n.Description.Hostname, true
	case key == "node.id":
		have, known = n.ID, true
	case key == "node.platform.os":
		have, known = n.Description.Platform.OS, true
	case key == "node.platform.arch":
		have, known = n.Description.Platform.Architecture, true
	case strings.HasPrefix(key, "node.labels."):
		have, known = n.Spec.Labels[strings.TrimPrefix(key, "node.labels.")]
	case strings.HasPrefix(key, "engine.labels."):
		have, known = n.Description.Engine.Labels[strings.TrimPrefix(key, "engine.labels.")]
	default:
		return true // a key Berth does not evaluate: let the engine decide
	}
	eq := known && strings.EqualFold(have, want)
	if op == "==" {
		return eq
	}
	return !eq
}

// objectIDs resolves a spec's secrets and configs to their ids: from the live model
// when it holds them all, else from the engine (an object made a moment ago).
func (e *Engine) objectIDs(ctx context.Context, s ServiceSpec) (objectIDs, error) {
	ids := objectIDs{secrets: map[string]string{}, configs: map[string]string{}}
	if m := e.liveModel(); m != nil {
		configs, secrets := m.rawObjects()
		for _, x := range secrets {
			ids.secrets[x.Spec.Name] = x.ID
		}
		for _, x := range configs {
			ids.configs[x.Spec.Name] = x.ID
		}
		if ids.has(s) {
			return ids, nil
		}
	}
	if len(s.Secrets) > 0 {
		list, err := e.cli.SecretList(ctx, dswarm.SecretListOptions{})
		if err != nil {
			return ids, e.wrap(err)
		}
		for _, x := range list {
			ids.secrets[x.Spec.Name] = x.ID
		}
	}
	if len(s.Configs) > 0 {
		list, err := e.cli.ConfigList(ctx, dswarm.ConfigListOptions{})
		if err != nil {
			return ids, e.wrap(err)
		}
		for _, x := range list {
			ids.configs[x.Spec.Name] = x.ID
		}
	}
	return ids, nil
}

// has reports whether every secret and config the spec names is resolved.
func (ids objectIDs) has(s ServiceSpec) bool {
	for _, r := range s.Secrets {
		if _, ok := ids.secrets[r.Name]; !ok {
			return false
		}
	}
	for _, r := range s.Configs {
		if _, ok := ids.configs[r.Name]; !ok {
			return false
		}
	}
	return true
}

// swarmNetworks says which of the names are swarm networks: from the live model when
// it knows them all, else from the engine.
func (e *Engine) swarmNetworks(ctx context.Context, names []string) (map[string]bool, error) {
	have := map[string]bool{}
	if m := e.liveModel(); m != nil {
		all := true
		for _, n := range names {
			local := n == "bridge" || n == "host" || n == "none" || n == "docker_gwbridge" // the model's names are not only swarm-scoped
			have[n] = !local && m.hasNetwork(n)
			all = all && have[n]
		}
		if all {
			return have, nil
		}
	}
	nets, err := e.cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("scope", "swarm"))})
	if err != nil {
		return nil, e.wrap(err)
	}
	for _, n := range nets {
		have[n.Name], have[n.ID] = true, true
	}
	return have, nil
}
