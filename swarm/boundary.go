package swarm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/mount"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// ReservedLabel marks an object as Berth's own: Berth's stack file sets it on Berth's
// service and data volume; the agents and the load balancer carry their own labels.
const ReservedLabel = "berth.reserved"

// BerthStack is the stack name Berth's own stack file is deployed as.
const BerthStack = "berth"

// stackLabel names the stack a service or volume belongs to.
const stackLabel = "com.docker.stack.namespace"

// reservedVolumeNames are Berth's data volume as its stack file creates it, and the load balancer's ACME store.
var reservedVolumeNames = []string{BerthStack + "_berth-data", "berth-data", lbACMEVolume}

// reservedObjectPrefixes are the name prefixes of the secrets and configs Berth makes
// for itself (their names follow their content, so a look-alike made first would be used).
var reservedObjectPrefixes = []string{"berth-agent-", "berth-lb-"}

// ReservedLabelPrefixes are the label keys a spec may not set: Traefik's routing
// (domains go through the domain editor), Berth's bookkeeping, and Docker's own.
var ReservedLabelPrefixes = []string{"traefik.", "berth.", "com.docker."}

// ErrRefused is what every Refusal matches with errors.Is.
var ErrRefused = errors.New("refused: Berth keeps this out of reach")

// Refusal is an action the boundary does not allow: on which object, and why.
type Refusal struct {
	Kind   string // service, secret, config, volume, container, label
	Name   string
	Reason string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("The %s %s is out of reach: %s.", r.Kind, r.Name, r.Reason)
}

// Is makes errors.Is(err, ErrRefused) true for every refusal.
func (r *Refusal) Is(target error) bool { return target == ErrRefused }

// reservedService says why a service is Berth's own, from its name and labels ("" when it is not).
func reservedService(name string, labels map[string]string) string {
	switch {
	case labels[ReservedLabel] != "", labels[stackLabel] == BerthStack, name == BerthStack, name == BerthStack+"_berth":
		return "it is Berth itself"
	case labels[AgentLabel] != "", name == AgentService:
		return "it is Berth's agent, managed by admins from the Nodes page"
	case labels[lbLabel] != "", name == LoadBalancerName:
		return "it is Berth's load balancer, managed by admins from its own page"
	}
	return ""
}

// ReservedObject says why a secret or config is Berth's own, from its name and labels ("" when it is not).
func ReservedObject(name string, labels map[string]string) string {
	if p := InternalPurpose(labels); p != "" {
		return "it holds " + p
	}
	if labels[ReservedLabel] != "" || labels[stackLabel] == BerthStack {
		return "it is Berth's own"
	}
	for _, p := range reservedObjectPrefixes {
		if strings.HasPrefix(name, p) {
			return "names starting with " + p + " are kept for Berth's own secrets and configs"
		}
	}
	return ""
}

// reservedVolume says why a volume is Berth's own, from its name and labels.
func reservedVolume(name string, labels map[string]string) string {
	if slices.Contains(reservedVolumeNames, name) || labels[ReservedLabel] != "" || labels[stackLabel] == BerthStack {
		return "it holds Berth's own data"
	}
	return ""
}

// escapes lists what in an engine spec would give its containers the node: the
// settings Berth refuses to deploy (none: an empty list).
func escapes(d dswarm.ServiceSpec, networkNames map[string]string) []string {
	var out []string
	cs := d.TaskTemplate.ContainerSpec
	if cs != nil {
		for _, m := range cs.Mounts {
			switch {
			case strings.Contains(m.Source, "docker.sock"):
				out = append(out, "it mounts the Docker socket ("+m.Source+")")
			case m.Type == mount.TypeBind || m.Type == mount.TypeNamedPipe || m.Type == mount.TypeCluster:
				out = append(out, fmt.Sprintf("it has a %s mount of %s from the host", m.Type, m.Source))
			case m.Type == mount.TypeVolume && m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil && len(m.VolumeOptions.DriverConfig.Options) > 0:
				out = append(out, "its volume "+m.Source+" sets driver options (which can bind any host folder)")
			}
		}
		if len(cs.CapabilityAdd) > 0 {
			out = append(out, "it adds capabilities ("+strings.Join(cs.CapabilityAdd, ", ")+")")
		}
		if p := cs.Privileges; p != nil {
			if (p.SELinuxContext != nil && p.SELinuxContext.Disable) || (p.AppArmor != nil && p.AppArmor.Mode == dswarm.AppArmorModeDisabled) ||
				(p.Seccomp != nil && p.Seccomp.Mode == dswarm.SeccompModeUnconfined) {
				out = append(out, "it turns off the engine's confinement (seccomp, AppArmor or SELinux)")
			}
		}
	}
	for _, n := range d.TaskTemplate.Networks {
		if n.Target == "host" || networkNames[n.Target] == "host" {
			out = append(out, "it runs in the host's network namespace")
		}
	}
	return out
}

// ValidateLabelKey returns a message when a spec may not set the label key ("" when it may).
func ValidateLabelKey(key string) string {
	if strings.TrimSpace(key) == "" {
		return "A label needs a key."
	}
	if strings.ContainsFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "A label key has no spaces or control characters."
	}
	for _, p := range ReservedLabelPrefixes {
		if strings.HasPrefix(strings.ToLower(key), p) {
			if p == "traefik." {
				return "Labels under traefik. are written by Berth from the domains: add the domain with the domain editor instead."
			}
			return "Labels under " + p + " are kept for " + map[string]string{"berth.": "Berth's own bookkeeping", "com.docker.": "Docker itself"}[p] + "."
		}
	}
	return ""
}

// reservedUse names the volumes, secrets and configs that Berth's own services mount, with the reason.
func reservedUse(services []Service) (volumes, secrets, configs map[string]string) {
	volumes, secrets, configs = map[string]string{}, map[string]string{}, map[string]string{}
	for _, s := range services {
		if s.Reserved == "" {
			continue
		}
		why := "Berth's own service " + s.Spec.Name + " uses it"
		for _, v := range s.Spec.Volumes {
			volumes[v.Mapping] = why
		}
		for _, r := range s.Spec.Secrets {
			secrets[r.Name] = why
		}
		for _, r := range s.Spec.Configs {
			configs[r.Name] = why
		}
	}
	return volumes, secrets, configs
}

// CheckService refuses an action on a service of Berth's own, and an operator's
// action on a service whose spec Berth would refuse to deploy (admin is false).
func (e *Engine) CheckService(ctx context.Context, name string, admin bool) error {
	if why := reservedService(name, nil); why != "" {
		return &Refusal{Kind: "service", Name: name, Reason: why}
	}
	s, err := e.Service(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil // nothing to protect: the action itself says it is not there
	}
	if err != nil {
		return err
	}
	if s.Reserved != "" {
		return &Refusal{Kind: "service", Name: s.Spec.Name, Reason: s.Reserved}
	}
	if admin {
		return nil
	}
	if len(s.Escapes) > 0 {
		return &Refusal{Kind: "service", Name: s.Spec.Name, Reason: "Berth would not deploy it, so only an admin may change it: " + strings.Join(s.Escapes, "; ")}
	}
	volumes, _, _, err := e.reservedUseNow(ctx)
	if err != nil {
		return err
	}
	for _, v := range s.Spec.Volumes {
		if why := reservedVolume(v.Mapping, nil) + volumes[v.Mapping]; why != "" {
			return &Refusal{Kind: "service", Name: s.Spec.Name, Reason: "it mounts Berth's own volume " + v.Mapping}
		}
	}
	return nil
}

// CheckObject refuses an action on a secret or config of Berth's own.
func (e *Engine) CheckObject(ctx context.Context, kind Kind, name string) error {
	if why := ReservedObject(name, nil); why != "" {
		return &Refusal{Kind: string(kind), Name: name, Reason: why}
	}
	labels, err := e.objectLabels(ctx, kind, name)
	if err != nil {
		return err
	}
	if why := ReservedObject(name, labels); why != "" {
		return &Refusal{Kind: string(kind), Name: name, Reason: why}
	}
	_, secrets, configs, err := e.reservedUseNow(ctx)
	if err != nil {
		return err
	}
	used := secrets
	if kind == KindConfig {
		used = configs
	}
	if why := used[name]; why != "" {
		return &Refusal{Kind: string(kind), Name: name, Reason: why}
	}
	return nil
}

// objectLabels are a config's or secret's labels (nil when there is none of that name),
// from the live model when it runs: the labels are set at creation, and Berth changes none.
func (e *Engine) objectLabels(ctx context.Context, kind Kind, name string) (map[string]string, error) {
	if m := e.liveModel(); m != nil {
		configs, secrets := m.rawObjects()
		for _, c := range configs {
			if kind == KindConfig && c.Spec.Name == name {
				return c.Spec.Labels, nil
			}
		}
		for _, s := range secrets {
			if kind == KindSecret && s.Spec.Name == name {
				return s.Spec.Labels, nil
			}
		}
		return nil, nil
	}
	var labels map[string]string
	switch kind {
	case KindSecret:
		s, _, err := e.cli.SecretInspectWithRaw(ctx, name)
		if err != nil && !cerrdefs.IsNotFound(err) {
			return nil, e.wrap(err)
		}
		labels = s.Spec.Labels
	case KindConfig:
		c, _, err := e.cli.ConfigInspectWithRaw(ctx, name)
		if err != nil && !cerrdefs.IsNotFound(err) {
			return nil, e.wrap(err)
		}
		labels = c.Spec.Labels
	}
	return labels, nil
}

// CheckVolume refuses an action on a volume of Berth's own (by name, by its labels on this node, or because Berth's services mount it).
func (e *Engine) CheckVolume(ctx context.Context, name string) error {
	if why := reservedVolume(name, nil); why != "" {
		return &Refusal{Kind: "volume", Name: name, Reason: why}
	}
	v, err := e.cli.VolumeInspect(ctx, name)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return e.wrap(err)
	}
	if why := reservedVolume(name, v.Labels); why != "" {
		return &Refusal{Kind: "volume", Name: name, Reason: why}
	}
	volumes, _, _, err := e.reservedUseNow(ctx)
	if err != nil {
		return err
	}
	if why := volumes[name]; why != "" {
		return &Refusal{Kind: "volume", Name: name, Reason: why}
	}
	return nil
}

// CheckSpec refuses a spec that takes a reserved service's name or mounts a secret,
// config or volume of Berth's own, with a message per field.
func (e *Engine) CheckSpec(ctx context.Context, s ServiceSpec) (map[string]string, error) {
	fields := map[string]string{}
	refuse := func(field string, err error) error {
		var r *Refusal
		if errors.As(err, &r) {
			if _, ok := fields[field]; !ok {
				fields[field] = r.Error()
			}
			return nil
		}
		return err
	}
	if why := reservedService(s.Name, nil); why != "" {
		fields["name"] = "The name " + s.Name + " is Berth's: " + why + "."
	}
	if err := refuse("image", e.CheckImage(ctx, s.Reference())); err != nil {
		return nil, err
	}
	for i, r := range s.Secrets {
		if err := refuse(fmt.Sprintf("secrets[%d].name", i), e.CheckObject(ctx, KindSecret, r.Name)); err != nil {
			return nil, err
		}
	}
	for i, r := range s.Configs {
		if err := refuse(fmt.Sprintf("configs[%d].name", i), e.CheckObject(ctx, KindConfig, r.Name)); err != nil {
			return nil, err
		}
	}
	for i, v := range s.Volumes {
		if err := refuse(fmt.Sprintf("volumes[%d].mapping", i), e.CheckVolume(ctx, v.Mapping)); err != nil {
			return nil, err
		}
	}
	return fields, nil
}

// reservedUseNow is reservedUse over the current services (the live model's when it runs).
func (e *Engine) reservedUseNow(ctx context.Context) (volumes, secrets, configs map[string]string, err error) {
	list, err := e.Services(ctx)
	if err != nil {
		return nil, nil, nil, err // the boundary does not guess: no answer, no action
	}
	volumes, secrets, configs = reservedUse(list)
	return volumes, secrets, configs, nil
}

// KeepLabels takes out of a spec the reserved labels it carries unchanged from the
// service's current ones (a stack's or another tool's), so validation passes them,
// and returns them to be put back before the spec is deployed.
func KeepLabels(s *ServiceSpec, current map[string]string) map[string]string {
	kept := map[string]string{}
	for k, v := range s.Labels {
		if ValidateLabelKey(k) != "" {
			if cur, ok := current[k]; ok && cur == v {
				kept[k] = v
				delete(s.Labels, k)
			}
		}
	}
	return kept
}

// CheckImage refuses pulling an image that one of Berth's own services runs: the pull
// could replace, under the same name, what that service starts next.
func (e *Engine) CheckImage(ctx context.Context, ref string) error {
	repo, err := ImageRepository(ref)
	if err != nil {
		return nil // not an image reference: validation says so
	}
	list, err := e.Services(ctx)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.Reserved == "" {
			continue
		}
		if r, err := ImageRepository(s.Spec.Reference()); err == nil && r == repo {
			return &Refusal{Kind: "image", Name: ref, Reason: "Berth's own service " + s.Spec.Name + " runs " + repo + ", and a pull could replace what it starts next"}
		}
	}
	return nil
}
