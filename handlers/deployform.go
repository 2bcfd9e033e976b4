package handlers

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
)

// The deploy form's conversions to a spec and back: pure, tested without an engine.

// toSpec turns the form into a spec; what cannot even be read is reported per field.
func toSpec(f views.DeployForm) (swarm.ServiceSpec, views.FieldErrors) {
	var errs views.FieldErrors
	s := swarm.ServiceSpec{Name: f.Name, Image: f.Image, Tag: f.Tag, Digest: f.Digest, Mode: f.Mode, EndpointMode: f.EndpointMode, AllowUnplaced: f.AllowUnplaced,
		Command: lines(f.Command), Args: lines(f.Args), Constraints: lines(f.Constraints), Preferences: lines(f.Preferences)}
	if s.Mode != "global" && f.Replicas != "" {
		n, err := strconv.ParseUint(f.Replicas, 10, 64)
		if err != nil {
			errs.Add("replicas", fmt.Sprintf("Enter a whole number from 0 to %d.", swarm.MaxReplicas))
		}
		s.Replicas = &n
	}
	s.Env = envFromRows(f.Env, &errs)
	// The form's rows have the spec's shape: they convert as they are.
	for _, r := range f.Secrets {
		s.Secrets = append(s.Secrets, swarm.FileRef(r))
	}
	for _, r := range f.Configs {
		s.Configs = append(s.Configs, swarm.FileRef(r))
	}
	for _, v := range f.Volumes {
		s.Volumes = append(s.Volumes, swarm.VolumeRef(v))
	}
	s.Ports = portsFromRows(f.Ports, &errs)
	if len(f.Domains) > 0 {
		s.Domains = domainsFromRows(f.Domains, &errs)
	}
	s.Resources = resourcesFromForm(f, &errs)
	s.RestartPolicy = &swarm.RestartPolicy{Condition: f.Restart, Delay: f.RestartDelay}
	par, err := strconv.ParseUint(strings.TrimSpace(orText(f.UpdateParallelism, "1")), 10, 64)
	if err != nil {
		errs.Add("update_policy.parallelism", "Enter a whole number (0 updates all tasks at once).")
	}
	s.UpdatePolicy = &swarm.UpdatePolicy{Parallelism: par, Delay: f.UpdateDelay, FailureAction: f.UpdateFailure, Order: f.UpdateOrder}
	rpar, err := strconv.ParseUint(strings.TrimSpace(orText(f.RollbackParallelism, "1")), 10, 64)
	if err != nil {
		errs.Add("rollback_policy.parallelism", "Enter a whole number (0 rolls back all tasks at once).")
	}
	s.RollbackPolicy = &swarm.UpdatePolicy{Parallelism: rpar, Delay: f.RollbackDelay, Order: f.RollbackOrder, FailureAction: orText(f.RollbackFailure, "pause")}
	if f.HealthCmd != "" {
		s.HealthCheck = &swarm.HealthCheck{Test: []string{"CMD-SHELL", f.HealthCmd}, Interval: f.HealthInterval}
	}
	for _, n := range strings.Split(f.Networks, ",") {
		if n = strings.TrimSpace(n); n != "" {
			s.Networks = append(s.Networks, n)
		}
	}
	s.Logging = loggingFromForm(f, &errs)
	return s, errs
}

// envFromRows turns the form's variable rows into the spec's map, refusing unnamed and repeated names.
func envFromRows(rows []views.KV, errs *views.FieldErrors) map[string]string {
	var env map[string]string
	seen := map[string]bool{}
	for i, kv := range rows {
		switch {
		case kv.Key == "":
			errs.Add(fmt.Sprintf("env[%d]", i), "Name the variable, or clear its value to drop the row.")
		case seen[kv.Key]:
			errs.Add(fmt.Sprintf("env[%d]", i), kv.Key+" is set twice.")
		default:
			if env == nil {
				env = map[string]string{}
			}
			env[kv.Key] = kv.Value
		}
		seen[kv.Key] = true
	}
	return env
}

// portsFromRows parses the form's port rows.
func portsFromRows(rows []views.PortRow, errs *views.FieldErrors) []swarm.Port {
	var out []swarm.Port
	for i, p := range rows {
		port := swarm.Port{Protocol: p.Protocol, Mode: p.Mode}
		t, err := strconv.ParseUint(p.Target, 10, 32)
		if err != nil || t == 0 {
			errs.Add(fmt.Sprintf("ports[%d].target", i), "Use a port from 1 to 65535.")
		}
		port.Target = uint32(t)
		if p.Published != "" {
			pub, err := strconv.ParseUint(p.Published, 10, 32)
			if err != nil || pub == 0 {
				errs.Add(fmt.Sprintf("ports[%d].published", i), "Use a port from 1 to 65535.")
			}
			port.Published = uint32(pub)
		}
		out = append(out, port)
	}
	return out
}

// resourcesFromForm parses limits and reservations (nil when none is set).
func resourcesFromForm(f views.DeployForm, errs *views.FieldErrors) *swarm.Resources {
	if f.LimitCPUs == "" && f.LimitMemory == "" && f.ReserveCPUs == "" && f.ReserveMem == "" {
		return nil
	}
	r := &swarm.Resources{LimitMemory: f.LimitMemory, ReservationMemory: f.ReserveMem}
	for field, v := range map[string]string{"resources": f.LimitCPUs, "resources.reservation_cpus": f.ReserveCPUs} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs.Add(field, "Use a number of CPUs such as 0.5.")
		}
		if field == "resources" {
			r.LimitCPUs = n
		} else {
			r.ReservationCPUs = n
		}
	}
	return r
}

// loggingFromForm reads the log driver and its key=value options (nil: the default).
func loggingFromForm(f views.DeployForm, errs *views.FieldErrors) *swarm.Logging {
	if f.LogDriver == "" {
		return nil
	}
	out := &swarm.Logging{Driver: f.LogDriver, Options: map[string]string{}}
	for _, l := range lines(f.LogOptions) {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			errs.Add("logging.options", "Write each option as key=value.")
			continue
		}
		out.Options[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// formFromSpec fills the form from a deployed service, for editing.
func formFromSpec(s swarm.ServiceSpec) views.DeployForm {
	f := newDeployForm()
	f.Editing, f.Name, f.Image, f.Tag, f.Digest, f.Mode, f.EndpointMode = true, s.Name, s.Image, s.Tag, s.Digest, s.Mode, s.EndpointMode
	if s.Replicas != nil {
		f.Replicas = strconv.FormatUint(*s.Replicas, 10)
	}
	f.Command, f.Args = strings.Join(s.Command, "\n"), strings.Join(s.Args, "\n")
	f.Constraints, f.Preferences = strings.Join(s.Constraints, "\n"), strings.Join(s.Preferences, "\n")
	f.Env = nil
	for _, k := range sortedKeys(s.Env) {
		f.Env = append(f.Env, views.KV{Key: k, Value: s.Env[k]})
	}
	f.Env = append(f.Env, views.KV{})
	// The spec's rows replace the new form's empty ones (renderDeploy adds one where a list is empty).
	f.Secrets, f.Configs, f.Volumes = nil, nil, nil
	for _, r := range s.Secrets {
		f.Secrets = append(f.Secrets, views.FileRow(r))
	}
	for _, r := range s.Configs {
		f.Configs = append(f.Configs, views.FileRow(r))
	}
	for _, v := range s.Volumes {
		f.Volumes = append(f.Volumes, views.VolumeRow(v))
	}
	f.Domains = rowsFromDomains(s.Domains)
	for _, p := range s.Ports {
		f.Ports = append(f.Ports, views.PortRow{Target: strconv.Itoa(int(p.Target)), Published: strconv.Itoa(int(p.Published)), Protocol: p.Protocol, Mode: p.Mode})
	}
	if r := s.Resources; r != nil {
		f.LimitMemory, f.ReserveMem = r.LimitMemory, r.ReservationMemory
		if r.LimitCPUs > 0 {
			f.LimitCPUs = strconv.FormatFloat(r.LimitCPUs, 'f', -1, 64)
		}
		if r.ReservationCPUs > 0 {
			f.ReserveCPUs = strconv.FormatFloat(r.ReservationCPUs, 'f', -1, 64)
		}
	}
	if r := s.RestartPolicy; r != nil {
		f.Restart, f.RestartDelay = r.Condition, r.Delay
	}
	if u := s.UpdatePolicy; u != nil {
		f.UpdateParallelism, f.UpdateDelay, f.UpdateFailure, f.UpdateOrder = strconv.FormatUint(u.Parallelism, 10), u.Delay, u.FailureAction, u.Order
	}
	if u := s.RollbackPolicy; u != nil {
		f.RollbackOrder, f.RollbackDelay, f.RollbackFailure = u.Order, u.Delay, u.FailureAction
		f.RollbackParallelism = strconv.FormatUint(u.Parallelism, 10)
	}
	if h := s.HealthCheck; h != nil && len(h.Test) == 2 && h.Test[0] == "CMD-SHELL" {
		f.HealthCmd, f.HealthInterval = h.Test[1], h.Interval
	}
	f.Networks = strings.Join(s.Networks, ", ")
	if l := s.Logging; l != nil {
		f.LogDriver, f.LogOptions = l.Driver, ""
		for _, k := range sortedKeys(l.Options) {
			f.LogOptions += k + "=" + l.Options[k] + "\n"
		}
	}
	return f
}
