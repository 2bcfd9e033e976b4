package stack

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/compose-spec/compose-go/v2/types"
)

// converter fills a plan from a loaded project, collecting refusals by path.
type converter struct {
	plan    *Plan
	project *types.Project
	env     map[string]string
	files   map[string]string
	errs    map[string]string
}

func (c *converter) fail(path, msg string) {
	if _, ok := c.errs[path]; !ok {
		c.errs[path] = msg
	}
}

func (c *converter) warn(path, msg string) {
	c.plan.Warnings = append(c.plan.Warnings, Problem{Path: path, Message: msg})
}

func (c *converter) convert() {
	for _, key := range sortedKeys(c.project.Networks) {
		n := c.project.Networks[key]
		driver := n.Driver
		if driver == "" {
			driver = "overlay"
		}
		if !bool(n.External) && driver != "overlay" {
			c.fail("networks."+key+".driver", "Stack networks are overlay networks: leave driver out or write overlay.")
		}
		c.plan.Networks = append(c.plan.Networks, Network{Key: key, Name: n.Name, External: bool(n.External), Attachable: n.Attachable,
			Labels: withNamespace(n.Labels, c.plan.Name, bool(n.External))})
	}
	for _, key := range sortedKeys(c.project.Volumes) {
		v := c.project.Volumes[key]
		c.plan.Volumes = append(c.plan.Volumes, Volume{Key: key, Name: v.Name, External: bool(v.External)})
	}
	for _, key := range sortedKeys(c.project.Configs) {
		c.object(swarm.KindConfig, "configs."+key, key, types.FileObjectConfig(c.project.Configs[key]))
	}
	for _, key := range sortedKeys(c.project.Secrets) {
		c.object(swarm.KindSecret, "secrets."+key, key, types.FileObjectConfig(c.project.Secrets[key]))
	}
	for _, key := range sortedKeys(c.project.Services) {
		c.service(key, c.project.Services[key])
	}
}

// object reads a config or secret: its content comes from a given file, the .env
// text (environment:), or, for configs, the file itself (content:).
func (c *converter) object(kind swarm.Kind, at, key string, o types.FileObjectConfig) {
	obj := Object{Kind: kind, Key: key, Name: o.Name, External: bool(o.External), Labels: withNamespace(o.Labels, c.plan.Name, bool(o.External))}
	switch {
	case obj.External:
	case o.File != "":
		name := path.Clean(o.File)
		obj.Source = "file " + name
		if data, ok := c.files[name]; ok {
			obj.Data = []byte(data)
		} else if kind == swarm.KindConfig {
			c.fail(at+".file", "Give the content of "+name+" (upload it beside the compose file).")
		}
	case o.Environment != "":
		obj.Source = "environment " + o.Environment
		data, ok := c.env[o.Environment]
		if !ok {
			c.fail(at+".environment", o.Environment+" is not set in the .env text.")
		}
		obj.Data = []byte(data)
	case o.Content != "":
		obj.Source, obj.Data = "content", []byte(o.Content)
	default:
		c.fail(at, "Say where the content comes from: file, environment or content (or external: true).")
	}
	if obj.Name != "" && !obj.External {
		if why := swarm.ValidateName(obj.Name); why != "" {
			c.fail(at+".name", why)
		}
	}
	c.plan.Objects = append(c.plan.Objects, obj)
}

// withNamespace adds the stack's label to an object's own (external objects are not Berth's to label).
func withNamespace(labels map[string]string, stack string, external bool) map[string]string {
	if external {
		return nil
	}
	out := map[string]string{}
	for k, v := range labels {
		out[k] = v
	}
	out[NamespaceLabel] = stack
	return out
}

func (c *converter) service(key string, sc types.ServiceConfig) {
	at := "services." + key
	s := swarm.ServiceSpec{Name: c.plan.Name + "_" + key}
	items := map[string]string{}
	if sc.Image == "" {
		c.fail(at+".image", "Name the image to run (Berth does not build).")
	}
	s.Image, s.Tag, s.Digest = splitImage(sc.Image)
	s.Command, s.Args = sc.Entrypoint, sc.Command
	s.Env = c.environment(at, sc.Environment)
	if d := sc.Deploy; d != nil {
		c.deploy(at+".deploy", d, &s)
	}
	if h := sc.HealthCheck; h != nil {
		s.HealthCheck = healthCheck(h)
	}
	for i, p := range sc.Ports {
		items[fmt.Sprintf("ports[%d]", len(s.Ports))] = fmt.Sprintf("ports[%d]", i)
		c.port(fmt.Sprintf("%s.ports[%d]", at, i), p, &s)
	}
	for i, v := range sc.Volumes {
		items[fmt.Sprintf("volumes[%d]", len(s.Volumes))] = fmt.Sprintf("volumes[%d]", i)
		items[fmt.Sprintf("mounts[%d]", len(s.Mounts))] = fmt.Sprintf("volumes[%d]", i)
		c.volume(fmt.Sprintf("%s.volumes[%d]", at, i), v, &s)
	}
	for i, r := range sc.Secrets {
		s.Secrets = append(s.Secrets, c.fileRef(fmt.Sprintf("%s.secrets[%d]", at, i), swarm.KindSecret, types.FileReferenceConfig(r)))
	}
	for i, r := range sc.Configs {
		s.Configs = append(s.Configs, c.fileRef(fmt.Sprintf("%s.configs[%d]", at, i), swarm.KindConfig, types.FileReferenceConfig(r)))
	}
	s.Networks = []string{}
	for _, n := range sortedKeys(sc.Networks) {
		if net, ok := c.project.Networks[n]; ok {
			s.Networks = append(s.Networks, net.Name)
		}
	}
	sort.Strings(s.Networks)
	if l := sc.Logging; l != nil && l.Driver != "" {
		s.Logging = &swarm.Logging{Driver: l.Driver, Options: l.Options}
	}
	s.Privileged, s.CapAdd, s.NetworkMode, s.PID = sc.Privileged, sc.CapAdd, sc.NetworkMode, sc.Pid
	for _, d := range sc.Devices {
		s.Devices = append(s.Devices, d.Source+":"+d.Target)
	}
	if raw, ok := sc.Extensions[DomainsKey]; ok {
		s.Domains = c.domains(at+"."+DomainsKey, raw)
		if len(s.Domains) > 0 {
			s.Networks = append(s.Networks, swarm.DefaultNetwork) // the load balancer reaches it there
		}
	}
	c.plan.Services = append(c.plan.Services, Service{Key: key, Spec: s, items: items})
}

// environment resolves the variables; one named without a value takes it from the .env text.
func (c *converter) environment(at string, env types.MappingWithEquals) map[string]string {
	if len(env) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, v := range env {
		switch {
		case v != nil:
			out[k] = *v
		case c.env[k] != "":
			out[k] = c.env[k]
		default:
			c.warn(at+".environment."+k, "No value: "+k+" is not set in the .env text, so it is left out.")
		}
	}
	return out
}

func (c *converter) deploy(at string, d *types.DeployConfig, s *swarm.ServiceSpec) {
	switch d.Mode {
	case "", "replicated":
	case "global":
		s.Mode = "global"
	default:
		c.fail(at+".mode", "Berth deploys replicated and global services, not "+d.Mode+".")
	}
	if d.Replicas != nil {
		if *d.Replicas < 0 {
			c.fail(at+".replicas", "Replicas cannot be negative.")
		} else {
			n := uint64(*d.Replicas)
			s.Replicas = &n
		}
	}
	s.EndpointMode = d.EndpointMode
	if len(d.Labels) > 0 {
		s.Labels = map[string]string(d.Labels)
	}
	s.Constraints = d.Placement.Constraints
	for _, p := range d.Placement.Preferences {
		s.Preferences = append(s.Preferences, "spread="+p.Spread)
	}
	if l, r := d.Resources.Limits, d.Resources.Reservations; l != nil || r != nil {
		s.Resources = &swarm.Resources{}
		if l != nil {
			s.Resources.LimitCPUs, s.Resources.LimitMemory = float64(l.NanoCPUs), memory(int64(l.MemoryBytes))
		}
		if r != nil {
			s.Resources.ReservationCPUs, s.Resources.ReservationMemory = float64(r.NanoCPUs), memory(int64(r.MemoryBytes))
		}
	}
	if r := d.RestartPolicy; r != nil {
		s.RestartPolicy = &swarm.RestartPolicy{Condition: r.Condition, Delay: durationText(r.Delay), Window: durationText(r.Window)}
		if r.MaxAttempts != nil {
			s.RestartPolicy.MaxAttempts = *r.MaxAttempts
		}
	}
	s.UpdatePolicy, s.RollbackPolicy = updatePolicy(d.UpdateConfig), updatePolicy(d.RollbackConfig)
}

func (c *converter) port(at string, p types.ServicePortConfig, s *swarm.ServiceSpec) {
	port := swarm.Port{Target: p.Target, Protocol: p.Protocol, Mode: p.Mode}
	if p.Published != "" {
		n, err := strconv.ParseUint(p.Published, 10, 16)
		if err != nil {
			c.fail(at, "Publish one port per entry ("+p.Published+" is a range or not a port).")
			return
		}
		port.Published = uint32(n)
	}
	if p.HostIP != "" {
		c.warn(at, "Not applied: swarm publishes on every address, not only "+p.HostIP+".")
	}
	s.Ports = append(s.Ports, port)
}

// volume mounts a named volume as the stack's mapping; anything else is passed on for Berth's rules to refuse.
func (c *converter) volume(at string, v types.ServiceVolumeConfig, s *swarm.ServiceSpec) {
	switch v.Type {
	case types.VolumeTypeVolume:
		if v.Source == "" {
			c.fail(at, "Name the volume, and declare it under volumes: Berth keeps each volume as a named mapping.")
			return
		}
		vol, ok := c.project.Volumes[v.Source]
		if !ok {
			c.fail(at, "No volume named "+v.Source+" is declared under volumes.")
			return
		}
		s.Volumes = append(s.Volumes, swarm.VolumeRef{Mapping: vol.Name, Target: v.Target, ReadOnly: v.ReadOnly})
	case types.VolumeTypeTmpfs:
		c.warn(at, "Not applied: Berth does not mount tmpfs.")
	default:
		s.Mounts = append(s.Mounts, swarm.RawMount{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly})
	}
}

func (c *converter) fileRef(at string, kind swarm.Kind, r types.FileReferenceConfig) swarm.FileRef {
	ref := swarm.FileRef{Target: r.Target, UID: r.UID, GID: r.GID}
	var name string
	if kind == swarm.KindSecret {
		if o, ok := c.project.Secrets[r.Source]; ok {
			name = o.Name
		}
	} else if o, ok := c.project.Configs[r.Source]; ok {
		name = o.Name
	}
	if name == "" {
		c.fail(at, "No "+string(kind)+" named "+r.Source+" is declared at the top of the file.")
	}
	ref.Name = name
	if kind == swarm.KindConfig && ref.Target == "" {
		ref.Target = "/" + r.Source // docker stack deploy's default
	}
	if kind == swarm.KindSecret && ref.Target == "" {
		ref.Target = r.Source
	}
	if r.Mode != nil {
		ref.Mode = fmt.Sprintf("%04o", int64(*r.Mode))
	}
	return ref
}

func (c *converter) domains(at string, raw any) []swarm.Domain {
	b, err := json.Marshal(raw)
	var out []swarm.Domain
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		c.fail(at, `List the domains as {host: app.example.com, port: 8080, path: /} entries.`)
		return nil
	}
	return out
}

func healthCheck(h *types.HealthCheckConfig) *swarm.HealthCheck {
	if h.Disable {
		return &swarm.HealthCheck{Test: []string{"NONE"}}
	}
	out := &swarm.HealthCheck{Test: h.Test, Interval: durationText(h.Interval), Timeout: durationText(h.Timeout), StartPeriod: durationText(h.StartPeriod)}
	if h.Retries != nil {
		out.Retries = int(*h.Retries)
	}
	return out
}

func updatePolicy(u *types.UpdateConfig) *swarm.UpdatePolicy {
	if u == nil {
		return nil
	}
	out := &swarm.UpdatePolicy{FailureAction: u.FailureAction, Order: u.Order, Delay: durationText((*types.Duration)(&u.Delay)), Monitor: durationText((*types.Duration)(&u.Monitor))}
	if u.Parallelism != nil {
		out.Parallelism = *u.Parallelism
	}
	return out
}

func durationText(d *types.Duration) string {
	if d == nil || *d == 0 {
		return ""
	}
	return time.Duration(*d).String()
}

// memory writes a byte count the way Berth's spec takes it ("" for none).
func memory(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// splitImage splits a reference into image, tag and digest.
func splitImage(ref string) (image, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}
