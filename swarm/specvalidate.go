package swarm

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

// MaxReplicas bounds a replica count typed by a user.
const MaxReplicas = 1000

var (
	envKey      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
	serviceName = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$`) // '_' as in a stack's app_web
	tagPattern  = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	digestPat   = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	constraint  = regexp.MustCompile(`^\s*[a-zA-Z0-9_.\-]+(?:\.[a-zA-Z0-9_.\-]+)*\s*(==|!=)\s*\S.*$`)
	memorySize  = regexp.MustCompile(`^([0-9]+)([kKmMgG]?)[bB]?$`)
)

// Validate checks everything that can be checked without the engine and returns
// a message per field (JSON paths such as "secrets[0].target"), empty when valid.
func (s *ServiceSpec) Validate() map[string]string {
	errs := map[string]string{}
	add := func(field, msg string) {
		if _, ok := errs[field]; !ok && msg != "" {
			errs[field] = msg
		}
	}
	s.validateSafety(add)
	switch {
	case s.Name == "":
		add("name", "Enter a service name.")
	case !serviceName.MatchString(s.Name):
		add("name", "Use at most 63 letters, digits, '-' and '_', starting and ending with a letter or digit.")
	}
	s.validateImage(add)
	s.Domains = validateDomains(s.Domains, add)
	if len(s.Domains) > 0 && s.Networks != nil && !slices.Contains(s.Networks, DefaultNetwork) {
		add("networks", "Services with domains join the "+DefaultNetwork+" network, where the load balancer reaches them: add it.")
	}
	oneOf(add, "mode", s.Mode, "Choose replicated or global.", "", "replicated", "global")
	switch {
	case s.Mode == "global" && s.Replicas != nil:
		add("replicas", "A global service runs one task per node: leave replicas out.")
	case s.Replicas != nil && *s.Replicas > MaxReplicas:
		add("replicas", fmt.Sprintf("Use from 0 to %d replicas.", MaxReplicas))
	}
	s.validateEnvAndLabels(add)
	s.validateFiles(add)
	s.validatePlacement(add)
	s.validatePolicies(add)
	oneOf(add, "endpoint_mode", s.EndpointMode, "Choose vip or dnsrr.", "", "vip", "dnsrr")
	s.validatePorts(add)
	if s.Logging != nil && s.Logging.Driver == "" {
		add("logging.driver", "Name the log driver, for example json-file.")
	}
	return errs
}

// validateEnvAndLabels checks variable names, value sizes and label keys.
func (s *ServiceSpec) validateEnvAndLabels(add func(field, msg string)) {
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !envKey.MatchString(k) {
			add("env."+k, fmt.Sprintf("%q is not a valid variable name: use letters, digits and '_', not starting with a digit.", k))
		}
		if len(s.Env[k]) > 64*1024 {
			add("env."+k+".value", "Values are at most 64 KB.")
		}
	}
	labelKeys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		labelKeys = append(labelKeys, k)
	}
	sort.Strings(labelKeys)
	for _, k := range labelKeys {
		add("labels."+k, ValidateLabelKey(k))
	}
}

// validateFiles checks secrets, configs and volumes, and that no two land on one target path.
func (s *ServiceSpec) validateFiles(add func(field, msg string)) {
	targets := map[string]string{}
	claim := func(field, target string) {
		if prev, ok := targets[target]; ok {
			add(field, fmt.Sprintf("%s is already the target of %s.", target, prev))
		}
		targets[target] = field
	}
	for i, r := range s.Secrets {
		f := fmt.Sprintf("secrets[%d]", i)
		add(f+".name", ValidateName(r.Name))
		t := r.Target
		if t == "" {
			t = r.Name
		}
		if !strings.HasPrefix(t, "/") {
			t = "/run/secrets/" + t
		}
		claim(f+".target", t)
		add(f+".mode", validateMode(r.Mode))
	}
	for i, r := range s.Configs {
		f := fmt.Sprintf("configs[%d]", i)
		add(f+".name", ValidateName(r.Name))
		t := r.Target
		if t == "" {
			t = "/" + r.Name
		}
		if !strings.HasPrefix(t, "/") {
			add(f+".target", "Use an absolute path, such as /etc/app.conf.")
		}
		claim(f+".target", t)
		add(f+".mode", validateMode(r.Mode))
	}
	for i, v := range s.Volumes {
		f := fmt.Sprintf("volumes[%d]", i)
		add(f+".mapping", ValidateName(v.Mapping))
		if !strings.HasPrefix(v.Target, "/") || v.Target == "/" {
			add(f+".target", "Use an absolute path other than /, such as /data.")
		}
		claim(f+".target", v.Target)
	}
}

// validatePlacement checks constraints and preferences are written as Docker reads them.
func (s *ServiceSpec) validatePlacement(add func(field, msg string)) {
	for i, c := range s.Constraints {
		if !constraint.MatchString(c) {
			add(fmt.Sprintf("constraints[%d]", i), "Write a constraint as node.labels.zone==eu or node.role!=manager.")
		}
	}
	for i, p := range s.Preferences {
		if !strings.HasPrefix(p, "spread=") || len(p) <= len("spread=") {
			add(fmt.Sprintf("preferences[%d]", i), "Write a preference as spread=node.labels.zone.")
		}
	}
}

// validatePorts checks published ports: ranges, protocols, modes and duplicates.
func (s *ServiceSpec) validatePorts(add func(field, msg string)) {
	published := map[string]bool{}
	for i, p := range s.Ports {
		f := fmt.Sprintf("ports[%d]", i)
		if p.Target < 1 || p.Target > 65535 {
			add(f+".target", "Use a port from 1 to 65535.")
		}
		if p.Published > 65535 {
			add(f+".published", "Use a port from 1 to 65535.")
		}
		oneOf(add, f+".protocol", p.Protocol, "Choose tcp, udp or sctp.", "", "tcp", "udp", "sctp")
		oneOf(add, f+".mode", p.Mode, "Choose ingress or host.", "", "ingress", "host")
		key := fmt.Sprintf("%d/%s", p.Published, p.Protocol)
		if p.Published != 0 && published[key] {
			add(f+".published", fmt.Sprintf("Port %d is published twice.", p.Published))
		}
		published[key] = true
		if s.EndpointMode == "dnsrr" && p.Mode != "host" {
			add(f+".mode", "With DNS round robin, ports can only be published in host mode.")
		}
	}
}

// validateSafety refuses what would let an operator become root on a node through a service.
func (s *ServiceSpec) validateSafety(add func(field, msg string)) {
	for i, m := range s.Mounts {
		f := fmt.Sprintf("mounts[%d]", i)
		switch {
		case strings.Contains(m.Source, "docker.sock"):
			add(f, "Mounting the Docker socket is refused: it gives full control of the node.")
		case m.Type == "bind" || strings.HasPrefix(m.Source, "/"):
			add(f, "Bind mounts of the host's filesystem are refused: services mount only volume mappings (use volumes).")
		case m.Type == "volume" || m.Type == "":
			add(f, "Mount volume mappings through volumes: [{\"mapping\", \"target\"}].")
		default:
			add(f, fmt.Sprintf("%s mounts are refused: services mount only volume mappings.", m.Type))
		}
	}
	if s.Privileged {
		add("privileged", "Privileged services are refused: they are root on the node.")
	}
	if len(s.CapAdd) > 0 {
		add("cap_add", "Adding capabilities is refused.")
	}
	if len(s.Devices) > 0 {
		add("devices", "Access to host devices is refused.")
	}
	if s.NetworkMode == "host" {
		add("network_mode", "The host's network namespace is refused: publish ports instead.")
	} else if s.NetworkMode != "" {
		add("network_mode", "Choose networks through networks, not network_mode.")
	}
	if s.PID != "" {
		add("pid", "Sharing the host's process namespace is refused.")
	}
	for i, n := range s.Networks {
		if n == "host" {
			add(fmt.Sprintf("networks[%d]", i), "The host network is refused: publish ports instead.")
		}
	}
}

func (s *ServiceSpec) validateImage(add func(field, msg string)) {
	switch {
	case strings.TrimSpace(s.Image) == "":
		add("image", "Enter an image, such as registry.example.com/team/app.")
		return
	case strings.ContainsFunc(s.Image, unicode.IsSpace):
		add("image", "An image reference has no spaces.")
		return
	}
	if s.Tag != "" && !tagPattern.MatchString(s.Tag) {
		add("tag", "A tag has at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'.")
	}
	if s.Digest != "" && !digestPat.MatchString(s.Digest) {
		add("digest", "A digest reads sha256: and 64 hexadecimal digits.")
	}
	if (s.Tag != "" || s.Digest != "") && (strings.Contains(lastSegment(s.Image), ":") || strings.Contains(s.Image, "@")) {
		add("image", "The image already carries a tag or digest: give it in one place only.")
	}
	ref := s.Reference()
	if _, err := ImageRepository(ref); err != nil {
		add("image", fmt.Sprintf("%q is not a valid image reference.", ref))
	}
}

func lastSegment(image string) string {
	if i := strings.LastIndex(image, "/"); i >= 0 {
		return image[i+1:]
	}
	return image
}

func validateMode(mode string) string {
	if mode == "" {
		return ""
	}
	if _, err := parseMode(mode); err != nil {
		return "Use an octal mode from 0000 to 0777, such as 0440."
	}
	return ""
}

func (s *ServiceSpec) validatePolicies(add func(field, msg string)) {
	dur := func(field, v string) {
		if v == "" {
			return
		}
		if d, err := time.ParseDuration(v); err != nil || d < 0 {
			add(field, "Use a duration such as 10s or 1m30s.")
		}
	}
	if r := s.Resources; r != nil {
		for f, m := range map[string]string{"resources.limit_memory": r.LimitMemory, "resources.reservation_memory": r.ReservationMemory} {
			if _, err := parseMemory(m); err != nil {
				add(f, "Use a size such as 512M or 2G.")
			}
		}
		if r.LimitCPUs < 0 || r.ReservationCPUs < 0 {
			add("resources", "CPU amounts cannot be negative.")
		}
		if r.LimitCPUs > 0 && r.ReservationCPUs > r.LimitCPUs {
			add("resources.reservation_cpus", "The reservation is above the limit.")
		}
	}
	if r := s.RestartPolicy; r != nil {
		oneOf(add, "restart_policy.condition", r.Condition, "Choose none, on-failure or any.", "", "none", "on-failure", "any")
		dur("restart_policy.delay", r.Delay)
		dur("restart_policy.window", r.Window)
	}
	for name, u := range map[string]*UpdatePolicy{"update_policy": s.UpdatePolicy, "rollback_policy": s.RollbackPolicy} {
		if u == nil {
			continue
		}
		if name == "rollback_policy" && u.FailureAction == "rollback" {
			add(name+".failure_action", "A rollback cannot itself roll back: choose pause or continue.")
		}
		oneOf(add, name+".failure_action", u.FailureAction, "Choose pause, continue or rollback.", "", "pause", "continue", "rollback")
		oneOf(add, name+".order", u.Order, "Choose stop-first or start-first.", "", "stop-first", "start-first")
		dur(name+".delay", u.Delay)
		dur(name+".monitor", u.Monitor)
	}
	if h := s.HealthCheck; h != nil {
		if len(h.Test) == 0 || (h.Test[0] != "CMD" && h.Test[0] != "CMD-SHELL" && h.Test[0] != "NONE") {
			add("healthcheck.test", `Start the test with "CMD", "CMD-SHELL" or "NONE".`)
		}
		dur("healthcheck.interval", h.Interval)
		dur("healthcheck.timeout", h.Timeout)
		dur("healthcheck.start_period", h.StartPeriod)
		if h.Retries < 0 {
			add("healthcheck.retries", "Retries cannot be negative.")
		}
	}
}

// oneOf adds msg for field unless value is one of the allowed ones.
func oneOf(add func(field, msg string), field, value, msg string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	add(field, msg)
}

// parseMemory reads "512M"-style sizes into bytes ("" is 0).
func parseMemory(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	m := memorySize.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	var n int64
	fmt.Sscan(m[1], &n)
	switch strings.ToLower(m[2]) {
	case "k":
		n <<= 10
	case "m":
		n <<= 20
	case "g":
		n <<= 30
	}
	return n, nil
}
