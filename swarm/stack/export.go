package stack

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/berthhq/berth/swarm"
	"go.yaml.in/yaml/v4"
)

// Export writes services as a compose file that docker stack deploy accepts and that
// deploys the same specs: each service under its name without the stack's prefix,
// and the configs, secrets, networks and volume mappings they use as external
// objects by their current names (a secret's value never leaves the swarm).
func Export(stackName string, specs []swarm.ServiceSpec) ([]byte, error) {
	services := map[string]any{}
	external := map[string]map[string]any{"configs": {}, "secrets": {}, "networks": {}, "volumes": {}}
	use := func(kind, name string) string {
		key := exportKey(name)
		external[kind][key] = map[string]any{"name": name, "external": true}
		return key
	}
	for _, s := range specs {
		key := s.Name
		if stackName != "" {
			key = strings.TrimPrefix(s.Name, stackName+"_")
		}
		services[key] = exportService(s, use)
	}
	doc := map[string]any{"services": services}
	for kind, objs := range external {
		if len(objs) > 0 {
			doc[kind] = objs
		}
	}
	var buf bytes.Buffer
	buf.WriteString("# Exported by Berth. Configs, secrets, networks and volumes are the existing ones, by name\n# (external): secret values never leave the swarm.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("write compose file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write compose file: %w", err)
	}
	return buf.Bytes(), nil
}

// exportKey is a compose key for an object name (keys are names; dots are fine).
func exportKey(name string) string { return strings.ReplaceAll(name, " ", "_") }

func exportService(s swarm.ServiceSpec, use func(kind, name string) string) map[string]any {
	out := map[string]any{"image": s.Reference()}
	if len(s.Command) > 0 {
		out["entrypoint"] = s.Command
	}
	if len(s.Args) > 0 {
		out["command"] = s.Args
	}
	if len(s.Env) > 0 {
		out["environment"] = s.Env
	}
	if deploy := exportDeploy(s); len(deploy) > 0 {
		out["deploy"] = deploy
	}
	if h := s.HealthCheck; h != nil {
		hc := map[string]any{"test": h.Test}
		if len(h.Test) == 1 && h.Test[0] == "NONE" {
			hc = map[string]any{"disable": true}
		}
		addText(hc, "interval", h.Interval)
		addText(hc, "timeout", h.Timeout)
		addText(hc, "start_period", h.StartPeriod)
		if h.Retries > 0 {
			hc["retries"] = h.Retries
		}
		out["healthcheck"] = hc
	}
	var ports []map[string]any
	for _, p := range s.Ports {
		port := map[string]any{"target": p.Target, "protocol": orText(p.Protocol, "tcp"), "mode": orText(p.Mode, "ingress")}
		if p.Published > 0 {
			port["published"] = p.Published
		}
		ports = append(ports, port)
	}
	if len(ports) > 0 {
		out["ports"] = ports
	}
	var volumes []map[string]any
	for _, v := range s.Volumes {
		vol := map[string]any{"type": "volume", "source": use("volumes", v.Mapping), "target": v.Target}
		if v.ReadOnly {
			vol["read_only"] = true
		}
		volumes = append(volumes, vol)
	}
	if len(volumes) > 0 {
		out["volumes"] = volumes
	}
	if refs := exportRefs(s.Secrets, "secrets", use); len(refs) > 0 {
		out["secrets"] = refs
	}
	if refs := exportRefs(s.Configs, "configs", use); len(refs) > 0 {
		out["configs"] = refs
	}
	var nets []string
	for _, n := range s.Networks {
		nets = append(nets, use("networks", n))
	}
	sort.Strings(nets)
	if len(nets) > 0 {
		out["networks"] = nets
	}
	if l := s.Logging; l != nil {
		out["logging"] = map[string]any{"driver": l.Driver, "options": l.Options}
	}
	if len(s.Domains) > 0 {
		out[DomainsKey] = s.Domains
	}
	return out
}

func exportRefs(refs []swarm.FileRef, kind string, use func(kind, name string) string) []map[string]any {
	var out []map[string]any
	for _, r := range refs {
		ref := map[string]any{"source": use(kind, r.Name), "target": r.Target}
		addText(ref, "uid", r.UID)
		addText(ref, "gid", r.GID)
		if r.Mode != "" {
			var mode int
			fmt.Sscanf(r.Mode, "%o", &mode)
			ref["mode"] = mode
		}
		out = append(out, ref)
	}
	return out
}

func exportPolicy(u *swarm.UpdatePolicy, update bool) map[string]any {
	if u == nil {
		return nil
	}
	out := map[string]any{"parallelism": u.Parallelism}
	addText(out, "delay", u.Delay)
	addText(out, "monitor", u.Monitor)
	addText(out, "order", u.Order)
	if update {
		addText(out, "failure_action", u.FailureAction)
	}
	return out
}

func resource(cpus float64, memory string) map[string]any {
	out := map[string]any{}
	if cpus > 0 {
		out["cpus"] = fmt.Sprint(cpus)
	}
	addText(out, "memory", memory)
	return out
}

func addText(m map[string]any, key, value string) {
	if value != "" {
		m[key] = value
	}
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// exportDeploy is a service's deploy: section.
func exportDeploy(s swarm.ServiceSpec) map[string]any {
	deploy := map[string]any{}
	if s.Mode == "global" {
		deploy["mode"] = "global"
	} else if s.Replicas != nil {
		deploy["replicas"] = *s.Replicas
	}
	if s.EndpointMode != "" && s.EndpointMode != "vip" {
		deploy["endpoint_mode"] = s.EndpointMode
	}
	labels := map[string]string{}
	for k, v := range s.Labels {
		if k != swarm.StackLabel && k != swarm.StackImageLabel {
			labels[k] = v
		}
	}
	if len(labels) > 0 {
		deploy["labels"] = labels
	}
	placement := map[string]any{}
	if len(s.Constraints) > 0 {
		placement["constraints"] = s.Constraints
	}
	var prefs []map[string]string
	for _, p := range s.Preferences {
		prefs = append(prefs, map[string]string{"spread": strings.TrimPrefix(p, "spread=")})
	}
	if len(prefs) > 0 {
		placement["preferences"] = prefs
	}
	if len(placement) > 0 {
		deploy["placement"] = placement
	}
	if r := s.Resources; r != nil {
		res := map[string]any{}
		if r.LimitCPUs > 0 || r.LimitMemory != "" {
			res["limits"] = resource(r.LimitCPUs, r.LimitMemory)
		}
		if r.ReservationCPUs > 0 || r.ReservationMemory != "" {
			res["reservations"] = resource(r.ReservationCPUs, r.ReservationMemory)
		}
		if len(res) > 0 {
			deploy["resources"] = res
		}
	}
	if r := s.RestartPolicy; r != nil {
		rp := map[string]any{"condition": r.Condition}
		addText(rp, "delay", r.Delay)
		addText(rp, "window", r.Window)
		if r.MaxAttempts > 0 {
			rp["max_attempts"] = r.MaxAttempts
		}
		deploy["restart_policy"] = rp
	}
	if u := exportPolicy(s.UpdatePolicy, true); u != nil {
		deploy["update_config"] = u
	}
	if u := exportPolicy(s.RollbackPolicy, false); u != nil {
		deploy["rollback_config"] = u
	}
	return deploy
}
