package swarm

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// Labels Berth puts on the services it deploys.
const (
	OwnerLabel = "berth.owner" // the user whose registry credentials later pulls use
)

// objectIDs maps secret and config names to their engine ids.
type objectIDs struct{ secrets, configs map[string]string }

func parseMode(s string) (os.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("bad mode %q", s)
	}
	return os.FileMode(n), nil
}

func modeOr(s string, def os.FileMode) os.FileMode {
	if m, err := parseMode(s); err == nil && s != "" {
		return m
	}
	return def
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func durationPtr(s string) *time.Duration {
	if s == "" {
		return nil
	}
	d, _ := time.ParseDuration(s)
	return &d
}

func duration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

func formatDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// toDocker builds the engine's spec; names of secrets and configs must resolve in ids.
func (s *ServiceSpec) toDocker(ids objectIDs, owner string) (dswarm.ServiceSpec, error) {
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	for k, v := range domainLabels(s.Name, s.Domains) {
		labels[k] = v
	}
	labels[ManagedLabel] = "true"
	if owner != "" {
		labels[OwnerLabel] = owner
	}
	cs := &dswarm.ContainerSpec{Image: s.Reference(), Command: s.Command, Args: s.Args}
	if ns := s.Labels[stackLabel]; ns != "" {
		cs.Labels = map[string]string{stackLabel: ns} // as docker stack deploy labels a stack's containers
	}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cs.Env = append(cs.Env, k+"="+s.Env[k])
	}
	for _, r := range s.Secrets {
		id, ok := ids.secrets[r.Name]
		if !ok {
			return dswarm.ServiceSpec{}, fmt.Errorf("no secret named %s", r.Name)
		}
		cs.Secrets = append(cs.Secrets, &dswarm.SecretReference{SecretID: id, SecretName: r.Name, File: &dswarm.SecretReferenceFileTarget{
			Name: orDefault(r.Target, r.Name), UID: orDefault(r.UID, "0"), GID: orDefault(r.GID, "0"), Mode: modeOr(r.Mode, 0o444)}})
	}
	for _, r := range s.Configs {
		id, ok := ids.configs[r.Name]
		if !ok {
			return dswarm.ServiceSpec{}, fmt.Errorf("no config named %s", r.Name)
		}
		cs.Configs = append(cs.Configs, &dswarm.ConfigReference{ConfigID: id, ConfigName: r.Name, File: &dswarm.ConfigReferenceFileTarget{
			Name: orDefault(r.Target, "/"+r.Name), UID: orDefault(r.UID, "0"), GID: orDefault(r.GID, "0"), Mode: modeOr(r.Mode, 0o444)}})
	}
	for _, v := range s.Volumes {
		cs.Mounts = append(cs.Mounts, mount.Mount{Type: mount.TypeVolume, Source: v.Mapping, Target: v.Target, ReadOnly: v.ReadOnly})
	}
	if h := s.HealthCheck; h != nil {
		cs.Healthcheck = &container.HealthConfig{Test: h.Test, Interval: duration(h.Interval), Timeout: duration(h.Timeout),
			Retries: h.Retries, StartPeriod: duration(h.StartPeriod)}
	}
	task := dswarm.TaskSpec{ContainerSpec: cs}
	if r := s.Resources; r != nil {
		lm, _ := parseMemory(r.LimitMemory)
		rm, _ := parseMemory(r.ReservationMemory)
		task.Resources = &dswarm.ResourceRequirements{
			Limits:       &dswarm.Limit{NanoCPUs: int64(r.LimitCPUs * 1e9), MemoryBytes: lm},
			Reservations: &dswarm.Resources{NanoCPUs: int64(r.ReservationCPUs * 1e9), MemoryBytes: rm},
		}
	}
	if r := s.RestartPolicy; r != nil {
		rp := &dswarm.RestartPolicy{Condition: dswarm.RestartPolicyCondition(orDefault(r.Condition, "any")), Delay: durationPtr(r.Delay), Window: durationPtr(r.Window)}
		if r.MaxAttempts > 0 {
			n := r.MaxAttempts
			rp.MaxAttempts = &n
		}
		task.RestartPolicy = rp
	}
	if len(s.Constraints) > 0 || len(s.Preferences) > 0 {
		task.Placement = &dswarm.Placement{Constraints: s.Constraints}
		for _, p := range s.Preferences {
			task.Placement.Preferences = append(task.Placement.Preferences, dswarm.PlacementPreference{Spread: &dswarm.SpreadOver{SpreadDescriptor: strings.TrimPrefix(p, "spread=")}})
		}
	}
	task.Networks = s.networkAttachments()
	logging := s.Logging
	if logging == nil {
		logging = DefaultLogging()
	}
	task.LogDriver = &dswarm.Driver{Name: logging.Driver, Options: logging.Options}

	out := dswarm.ServiceSpec{Annotations: dswarm.Annotations{Name: s.Name, Labels: labels}, TaskTemplate: task}
	if s.Mode == "global" {
		out.Mode = dswarm.ServiceMode{Global: &dswarm.GlobalService{}}
	} else {
		replicas := uint64(1)
		if s.Replicas != nil {
			replicas = *s.Replicas
		}
		out.Mode = dswarm.ServiceMode{Replicated: &dswarm.ReplicatedService{Replicas: &replicas}}
	}
	out.UpdateConfig = s.UpdatePolicy.toDocker()
	out.RollbackConfig = s.RollbackPolicy.toDocker()
	ep := &dswarm.EndpointSpec{Mode: dswarm.ResolutionMode(orDefault(s.EndpointMode, "vip"))}
	for _, p := range s.Ports {
		ep.Ports = append(ep.Ports, dswarm.PortConfig{Protocol: dswarm.PortConfigProtocol(orDefault(p.Protocol, "tcp")), TargetPort: p.Target,
			PublishedPort: p.Published, PublishMode: dswarm.PortConfigPublishMode(orDefault(p.Mode, "ingress"))})
	}
	out.EndpointSpec = ep
	return out, nil
}

func (u *UpdatePolicy) toDocker() *dswarm.UpdateConfig {
	if u == nil {
		return nil
	}
	return &dswarm.UpdateConfig{Parallelism: u.Parallelism, Delay: duration(u.Delay), FailureAction: orDefault(u.FailureAction, "pause"),
		Monitor: duration(u.Monitor), Order: orDefault(u.Order, "stop-first")}
}

func updatePolicyFrom(u *dswarm.UpdateConfig) *UpdatePolicy {
	if u == nil {
		return nil
	}
	return &UpdatePolicy{Parallelism: u.Parallelism, Delay: formatDuration(u.Delay), FailureAction: u.FailureAction, Monitor: formatDuration(u.Monitor), Order: u.Order}
}

// splitReference separates an image reference into repository, tag and digest.
func splitReference(ref string) (image, tag, digest string) {
	image = ref
	if i := strings.Index(image, "@"); i >= 0 {
		image, digest = image[:i], image[i+1:]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image, tag = image[:i], image[i+1:]
	}
	return image, tag, digest
}

// fromDocker reads an engine spec back into Berth's terms, with warnings for
// settings Berth would have refused (a service Berth did not create).
func fromDocker(d dswarm.ServiceSpec, networkNames map[string]string) (ServiceSpec, []string) {
	var warn []string
	s := ServiceSpec{Name: d.Name, Labels: map[string]string{}, Domains: domainsFrom(d.Labels)}
	for k, v := range d.Labels {
		if k != ManagedLabel && k != OwnerLabel && !(s.Domains != nil && isDomainLabel(d.Name, k)) {
			s.Labels[k] = v
		}
	}
	var foreign []string
	for k := range s.Labels {
		if ValidateLabelKey(k) != "" && k != stackLabel && k != StackImageLabel { // a stack's labels are expected
			foreign = append(foreign, k)
		}
	}
	if len(foreign) > 0 {
		sort.Strings(foreign)
		warn = append(warn, "It carries labels Berth keeps for itself ("+strings.Join(foreign, ", ")+"): they stay as they are, and Berth does not let them be changed.")
	}
	if len(s.Labels) == 0 {
		s.Labels = nil
	}
	if d.Mode.Global != nil {
		s.Mode = "global"
	} else if d.Mode.Replicated != nil {
		s.Mode = "replicated"
		s.Replicas = d.Mode.Replicated.Replicas
	}
	if cs := d.TaskTemplate.ContainerSpec; cs != nil {
		warn = append(warn, s.readContainer(cs)...)
	}
	t := d.TaskTemplate
	s.Resources, s.RestartPolicy = resourcesFrom(t.Resources), restartPolicyFrom(t.RestartPolicy)
	if p := t.Placement; p != nil {
		s.Constraints = p.Constraints
		for _, pref := range p.Preferences {
			if pref.Spread != nil {
				s.Preferences = append(s.Preferences, "spread="+pref.Spread.SpreadDescriptor)
			}
		}
	}
	for _, n := range t.Networks {
		name := n.Target
		if nn, ok := networkNames[n.Target]; ok {
			name = nn
		}
		if name == "host" {
			warn = append(warn, "It runs in the host's network namespace.")
		}
		s.Networks = append(s.Networks, name)
	}
	if s.Networks == nil {
		s.Networks = []string{}
	}
	if ld := t.LogDriver; ld != nil {
		s.Logging = &Logging{Driver: ld.Name, Options: ld.Options}
	}
	s.UpdatePolicy = updatePolicyFrom(d.UpdateConfig)
	s.RollbackPolicy = updatePolicyFrom(d.RollbackConfig)
	if ep := d.EndpointSpec; ep != nil {
		s.EndpointMode = string(ep.Mode)
		for _, p := range ep.Ports {
			s.Ports = append(s.Ports, Port{Target: p.TargetPort, Published: p.PublishedPort, Protocol: string(p.Protocol), Mode: string(p.PublishMode)})
		}
	}
	return s, warn
}

// readContainer reads the container part of an engine spec, with warnings for what Berth would refuse.
func (s *ServiceSpec) readContainer(cs *dswarm.ContainerSpec) []string {
	var warn []string
	s.Image, s.Tag, s.Digest = splitReference(cs.Image)
	s.Command, s.Args = cs.Command, cs.Args
	for _, e := range cs.Env {
		k, v, _ := strings.Cut(e, "=")
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		s.Env[k] = v
	}
	for _, r := range cs.Secrets {
		ref := FileRef{Name: r.SecretName}
		if r.File != nil {
			ref.Target, ref.UID, ref.GID, ref.Mode = r.File.Name, r.File.UID, r.File.GID, fmt.Sprintf("%04o", r.File.Mode.Perm())
		}
		s.Secrets = append(s.Secrets, ref)
	}
	for _, r := range cs.Configs {
		ref := FileRef{Name: r.ConfigName}
		if r.File != nil {
			ref.Target, ref.UID, ref.GID, ref.Mode = r.File.Name, r.File.UID, r.File.GID, fmt.Sprintf("%04o", r.File.Mode.Perm())
		}
		s.Configs = append(s.Configs, ref)
	}
	for _, m := range cs.Mounts {
		if m.Type == mount.TypeVolume {
			s.Volumes = append(s.Volumes, VolumeRef{Mapping: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
			continue
		}
		s.Mounts = append(s.Mounts, RawMount{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
		if strings.Contains(m.Source, "docker.sock") {
			warn = append(warn, "It mounts the Docker socket ("+m.Source+"): whoever controls it controls the node.")
		} else {
			warn = append(warn, fmt.Sprintf("It has a %s mount of %s: Berth only deploys volume mappings.", m.Type, m.Source))
		}
	}
	if len(cs.CapabilityAdd) > 0 {
		s.CapAdd = cs.CapabilityAdd
		warn = append(warn, "It adds capabilities: "+strings.Join(cs.CapabilityAdd, ", ")+".")
	}
	if h := cs.Healthcheck; h != nil {
		s.HealthCheck = &HealthCheck{Test: h.Test, Interval: formatDuration(h.Interval), Timeout: formatDuration(h.Timeout), Retries: h.Retries, StartPeriod: formatDuration(h.StartPeriod)}
	}
	return warn
}

// resourcesFrom reads limits and reservations (nil when none is set).
func resourcesFrom(r *dswarm.ResourceRequirements) *Resources {
	if r == nil {
		return nil
	}
	res := &Resources{}
	if r.Limits != nil {
		res.LimitCPUs, res.LimitMemory = float64(r.Limits.NanoCPUs)/1e9, formatMemory(r.Limits.MemoryBytes)
	}
	if r.Reservations != nil {
		res.ReservationCPUs, res.ReservationMemory = float64(r.Reservations.NanoCPUs)/1e9, formatMemory(r.Reservations.MemoryBytes)
	}
	if *res == (Resources{}) {
		return nil
	}
	return res
}

// restartPolicyFrom reads the restart policy (nil when the engine has none).
func restartPolicyFrom(r *dswarm.RestartPolicy) *RestartPolicy {
	if r == nil {
		return nil
	}
	rp := &RestartPolicy{Condition: string(r.Condition)}
	if r.Delay != nil {
		rp.Delay = formatDuration(*r.Delay)
	}
	if r.Window != nil {
		rp.Window = formatDuration(*r.Window)
	}
	if r.MaxAttempts != nil {
		rp.MaxAttempts = *r.MaxAttempts
	}
	return rp
}

func formatMemory(n int64) string {
	switch {
	case n == 0:
		return ""
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dG", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

// Normalized is the spec as Berth reads it back once the engine holds it (defaults
// filled in, Berth's own labels set aside), so a planned spec compares field by field
// with a running service's.
func (s ServiceSpec) Normalized() ServiceSpec {
	ids := objectIDs{secrets: map[string]string{}, configs: map[string]string{}}
	for _, r := range s.Secrets {
		ids.secrets[r.Name] = r.Name
	}
	for _, r := range s.Configs {
		ids.configs[r.Name] = r.Name
	}
	d, err := s.toDocker(ids, "")
	if err != nil {
		return s
	}
	out, _ := fromDocker(d, nil)
	return out
}

// networkAttachments are the networks a service joins (Berth's own when none is named),
// where a stack's service answers to its compose name as docker stack deploy sets it.
func (s *ServiceSpec) networkAttachments() []dswarm.NetworkAttachmentConfig {
	networks := s.Networks
	if networks == nil {
		networks = []string{DefaultNetwork}
	}
	alias := stackAlias(s.Name, s.Labels)
	var out []dswarm.NetworkAttachmentConfig
	for _, n := range networks {
		att := dswarm.NetworkAttachmentConfig{Target: n}
		if alias != "" {
			att.Aliases = []string{alias}
		}
		out = append(out, att)
	}
	return out
}
