package swarm

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// Object is a config or a secret as Berth shows it.
type Object struct {
	Kind      Kind
	ID        string
	Name      string
	Size      int // configs only: the engine never returns a secret's data
	CreatedAt time.Time
	Labels    map[string]string
	Data      []byte // configs only, when inspected
	UsedBy    []Usage
}

// Managed reports whether Berth created the object.
func (o Object) Managed() bool { return o.Labels[ManagedLabel] == "true" }

// Usage is one service's use of a config or secret, or its mount of a volume mapping.
type Usage struct {
	Service   string
	ServiceID string
	Target    string // file path in the container (configs, secrets) or mount point (volumes)
	UID, GID  string
	Mode      os.FileMode
	ReadOnly  bool
}

// ServiceNames lists the distinct services of a set of usages, sorted.
func ServiceNames(us []Usage) []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range us {
		if !seen[u.Service] {
			seen[u.Service] = true
			out = append(out, u.Service)
		}
	}
	sort.Strings(out)
	return out
}

// usages indexes which services use each config and secret (by id) and mount each volume (by name).
type usages struct {
	configs, secrets, volumes map[string][]Usage
}

// Pages may read them from the live model; actions that must not miss a
// service created a moment ago (delete, rotate) ask the engine (fresh).
func (e *Engine) usages(ctx context.Context, fresh bool) (usages, error) {
	u := usages{configs: map[string][]Usage{}, secrets: map[string][]Usage{}, volumes: map[string][]Usage{}}
	if m := e.liveModel(); m != nil && !fresh {
		m.readServices(u.add)
		return u, nil
	}
	services, err := e.cli.ServiceList(ctx, dswarm.ServiceListOptions{})
	if err != nil {
		return usages{}, e.wrap(err)
	}
	for _, s := range services {
		u.add(s)
	}
	return u, nil
}

// add records what one service mounts.
func (u usages) add(s dswarm.Service) {
	cs := s.Spec.TaskTemplate.ContainerSpec
	if cs == nil {
		return
	}
	for _, c := range cs.Configs {
		use := Usage{Service: s.Spec.Name, ServiceID: s.ID}
		if c.File != nil {
			use.Target, use.UID, use.GID, use.Mode = c.File.Name, c.File.UID, c.File.GID, c.File.Mode
		}
		u.configs[c.ConfigID] = append(u.configs[c.ConfigID], use)
	}
	for _, c := range cs.Secrets {
		use := Usage{Service: s.Spec.Name, ServiceID: s.ID}
		if c.File != nil {
			use.Target, use.UID, use.GID, use.Mode = c.File.Name, c.File.UID, c.File.GID, c.File.Mode
		}
		u.secrets[c.SecretID] = append(u.secrets[c.SecretID], use)
	}
	for _, m := range cs.Mounts {
		if m.Type == "volume" && m.Source != "" {
			u.volumes[m.Source] = append(u.volumes[m.Source], Usage{Service: s.Spec.Name, ServiceID: s.ID, Target: m.Target, ReadOnly: m.ReadOnly})
		}
	}
}

// Objects lists the configs or secrets with the services that use them, by name.
func (e *Engine) Objects(ctx context.Context, kind Kind) ([]Object, error) {
	return e.objects(ctx, kind, false)
}

func (e *Engine) objects(ctx context.Context, kind Kind, fresh bool) ([]Object, error) {
	use, err := e.usages(ctx, fresh)
	if err != nil {
		return nil, err
	}
	var out []Object
	var configs []dswarm.Config
	var secrets []dswarm.Secret
	m := e.liveModel()
	if m != nil && !fresh {
		configs, secrets = m.rawObjects()
	}
	switch kind {
	case KindConfig:
		if m == nil || fresh {
			if configs, err = e.cli.ConfigList(ctx, dswarm.ConfigListOptions{}); err != nil {
				return nil, e.wrap(err)
			}
		}
		for _, c := range configs {
			out = append(out, configObject(c, use.configs[c.ID]))
		}
	case KindSecret:
		if m == nil || fresh {
			if secrets, err = e.cli.SecretList(ctx, dswarm.SecretListOptions{}); err != nil {
				return nil, e.wrap(err)
			}
		}
		for _, s := range secrets {
			out = append(out, secretObject(s, use.secrets[s.ID]))
		}
	default:
		return nil, fmt.Errorf("unknown kind %s", kind)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func configObject(c dswarm.Config, used []Usage) Object {
	return Object{Kind: KindConfig, ID: c.ID, Name: c.Spec.Name, Size: len(c.Spec.Data), CreatedAt: c.CreatedAt,
		Labels: c.Spec.Labels, Data: c.Spec.Data, UsedBy: used}
}

func secretObject(s dswarm.Secret, used []Usage) Object {
	return Object{Kind: KindSecret, ID: s.ID, Name: s.Spec.Name, CreatedAt: s.CreatedAt, Labels: s.Spec.Labels, UsedBy: used}
}

// Object returns one config (with its content) or secret (never with a value) by exact name.
func (e *Engine) Object(ctx context.Context, kind Kind, name string) (Object, error) {
	return e.object(ctx, kind, name, false)
}

// freshObject is Object read from the engine itself, for actions that must not act on a stale view.
func (e *Engine) freshObject(ctx context.Context, kind Kind, name string) (Object, error) {
	return e.object(ctx, kind, name, true)
}

func (e *Engine) object(ctx context.Context, kind Kind, name string, fresh bool) (Object, error) {
	list, err := e.objects(ctx, kind, fresh)
	if err != nil {
		return Object{}, err
	}
	for _, o := range list {
		if o.Name == name {
			if kind == KindSecret {
				o.Data = nil
			}
			return o, nil
		}
	}
	return Object{}, &engineError{msg: fmt.Sprintf("No %s named %s.", kind, name), kind: ErrNotFound}
}

// CreateObject creates a config or secret labelled as Berth's and returns its id.
func (e *Engine) CreateObject(ctx context.Context, kind Kind, name string, data []byte, labels map[string]string) (string, error) {
	l := map[string]string{ManagedLabel: "true"}
	for k, v := range labels {
		l[k] = v
	}
	ann := dswarm.Annotations{Name: name, Labels: l}
	var id string
	var err error
	switch kind {
	case KindConfig:
		var res dswarm.ConfigCreateResponse
		res, err = e.cli.ConfigCreate(ctx, dswarm.ConfigSpec{Annotations: ann, Data: data})
		id = res.ID
	case KindSecret:
		var res dswarm.SecretCreateResponse
		res, err = e.cli.SecretCreate(ctx, dswarm.SecretSpec{Annotations: ann, Data: data})
		id = res.ID
	default:
		return "", fmt.Errorf("unknown kind %s", kind)
	}
	if cerrdefs.IsConflict(err) || (err != nil && strings.Contains(err.Error(), "already exists")) {
		return "", fmt.Errorf("%s %q: %w", kind, name, ErrExists)
	}
	if err != nil {
		return "", e.wrap(err)
	}
	if m := e.liveModel(); m != nil {
		m.refreshObject(ctx, kind, id) // the next page shows it, before its event arrives
	}
	return id, nil
}

// RemoveObject deletes a config or secret, refusing (with the services' names) while services use it.
func (e *Engine) RemoveObject(ctx context.Context, kind Kind, name string) (Object, error) {
	o, err := e.freshObject(ctx, kind, name)
	if err != nil {
		return o, err
	}
	if len(o.UsedBy) > 0 {
		return o, &InUseError{Kind: kind, Name: name, Services: ServiceNames(o.UsedBy)}
	}
	if kind == KindConfig {
		err = e.cli.ConfigRemove(ctx, o.ID)
	} else {
		err = e.cli.SecretRemove(ctx, o.ID)
	}
	if err != nil {
		// A service may have started using it since the check: say so with the engine's words.
		if cerrdefs.IsInvalidArgument(err) || strings.Contains(err.Error(), "in use") {
			fresh, _ := e.freshObject(ctx, kind, name)
			return o, &InUseError{Kind: kind, Name: name, Services: ServiceNames(fresh.UsedBy), Engine: e.plainError(err)}
		}
		return o, e.wrap(err)
	}
	if m := e.liveModel(); m != nil {
		m.refreshObject(ctx, kind, o.ID)
	}
	return o, nil
}

// engineError is an engine failure in plain words, still matching ErrNotFound or ErrUnreachable.
type engineError struct {
	msg  string
	kind error
}

func (e *engineError) Error() string { return e.msg }
func (e *engineError) Unwrap() error { return e.kind }

// wrap turns an engine error into one that reads well on a page.
func (e *Engine) wrap(err error) error {
	out := &engineError{msg: e.plainError(err)}
	switch {
	case cerrdefs.IsNotFound(err):
		out.kind = ErrNotFound
	case isUnreachable(err):
		out.kind = ErrUnreachable
	}
	return out
}
