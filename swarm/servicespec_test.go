package swarm

import (
	"reflect"
	"strings"
	"testing"

	dswarm "github.com/docker/docker/api/types/swarm"
)

func u64(n uint64) *uint64 { return &n }

func TestValidateRefusesBadSpecsWithFieldMessages(t *testing.T) {
	base := func() ServiceSpec {
		return ServiceSpec{Name: "web", Image: "registry.example.com/team/app", Tag: "1.2"}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*ServiceSpec)
		field string
		msg   string
	}{
		{"bind mount", func(s *ServiceSpec) { s.Mounts = []RawMount{{Type: "bind", Source: "/etc", Target: "/host"}} }, "mounts[0]", "Bind mounts"},
		{"docker socket", func(s *ServiceSpec) {
			s.Mounts = []RawMount{{Type: "bind", Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}}
		}, "mounts[0]", "Docker socket"},
		{"privileged", func(s *ServiceSpec) { s.Privileged = true }, "privileged", "refused"},
		{"cap_add", func(s *ServiceSpec) { s.CapAdd = []string{"SYS_ADMIN"} }, "cap_add", "refused"},
		{"host network", func(s *ServiceSpec) { s.Networks = []string{"host"} }, "networks[0]", "host network"},
		{"network_mode host", func(s *ServiceSpec) { s.NetworkMode = "host" }, "network_mode", "refused"},
		{"pid host", func(s *ServiceSpec) { s.PID = "host" }, "pid", "refused"},
		{"devices", func(s *ServiceSpec) { s.Devices = []string{"/dev/sda"} }, "devices", "refused"},
		{"tag pinned to a bad digest", func(s *ServiceSpec) { s.Digest = "sha256:xyz" }, "digest", "64 hexadecimal"},
		{"bad digest", func(s *ServiceSpec) { s.Tag, s.Digest = "", "sha256:xyz" }, "digest", "64 hexadecimal"},
		{"tag twice", func(s *ServiceSpec) { s.Image = "app:1" }, "image", "one place"},
		{"bad image", func(s *ServiceSpec) { s.Image, s.Tag = "UPPER/Case", "" }, "image", "not a valid image reference"},
		{"bad env key", func(s *ServiceSpec) { s.Env = map[string]string{"1BAD": "x"} }, "env.1BAD", "not a valid variable name"},
		{"an over-long value, said at the value", func(s *ServiceSpec) { s.Env = map[string]string{"BIG": strings.Repeat("x", 64*1024+1)} }, "env.BIG.value", "at most 64 KB"},
		{"same target", func(s *ServiceSpec) {
			s.Configs = []FileRef{{Name: "a", Target: "/etc/x"}, {Name: "b", Target: "/etc/x"}}
		}, "configs[1].target", "already the target"},
		{"secret and volume clash", func(s *ServiceSpec) {
			s.Secrets = []FileRef{{Name: "pw", Target: "/data"}}
			s.Volumes = []VolumeRef{{Mapping: "d", Target: "/data"}}
		}, "volumes[0].target", "already the target"},
		{"mode out of range", func(s *ServiceSpec) { s.Secrets = []FileRef{{Name: "pw", Mode: "0999"}} }, "secrets[0].mode", "0000 to 0777"},
		{"mode too big", func(s *ServiceSpec) { s.Secrets = []FileRef{{Name: "pw", Mode: "1777"}} }, "secrets[0].mode", "0000 to 0777"},
		{"replicas", func(s *ServiceSpec) { s.Replicas = u64(MaxReplicas + 1) }, "replicas", "from 0 to"},
		{"global with replicas", func(s *ServiceSpec) { s.Mode, s.Replicas = "global", u64(2) }, "replicas", "leave replicas out"},
		{"bad name", func(s *ServiceSpec) { s.Name = "web.1" }, "name", "letters, digits, '-' and '_'"},
		{"name ending in _", func(s *ServiceSpec) { s.Name = "web_" }, "name", "starting and ending with a letter or digit"},
		{"bad constraint", func(s *ServiceSpec) { s.Constraints = []string{"zone=eu"} }, "constraints[0]", "node.labels.zone==eu"},
		{"dnsrr ingress", func(s *ServiceSpec) { s.EndpointMode, s.Ports = "dnsrr", []Port{{Target: 80, Published: 8080}} }, "ports[0].mode", "host mode"},
		{"port range", func(s *ServiceSpec) { s.Ports = []Port{{Target: 70000}} }, "ports[0].target", "1 to 65535"},
		{"duration", func(s *ServiceSpec) { s.UpdatePolicy = &UpdatePolicy{Delay: "soon"} }, "update_policy.delay", "duration"},
		{"rollback of a rollback", func(s *ServiceSpec) { s.RollbackPolicy = &UpdatePolicy{FailureAction: "rollback"} }, "rollback_policy.failure_action", "cannot itself roll back"},
		{"bad order", func(s *ServiceSpec) { s.UpdatePolicy = &UpdatePolicy{Order: "random"} }, "update_policy.order", "stop-first or start-first"},
		{"bad protocol", func(s *ServiceSpec) { s.Ports = []Port{{Target: 80, Protocol: "icmp"}} }, "ports[0].protocol", "tcp, udp or sctp"},
		{"bad mode", func(s *ServiceSpec) { s.Mode = "daemon" }, "mode", "replicated or global"},
		{"memory", func(s *ServiceSpec) { s.Resources = &Resources{LimitMemory: "lots"} }, "resources.limit_memory", "512M"},
	} {
		s := base()
		tc.edit(&s)
		errs := s.Validate()
		if !strings.Contains(errs[tc.field], tc.msg) {
			t.Errorf("%s: errors %v, want %q on %s", tc.name, errs, tc.msg, tc.field)
		}
	}
	good := base()
	good.Env = map[string]string{"A": "1", "DB_URL": strings.Repeat("x", 5000)}
	good.Secrets = []FileRef{{Name: "pw", Mode: "0400"}}
	good.Volumes = []VolumeRef{{Mapping: "data", Target: "/data"}}
	if errs := good.Validate(); len(errs) != 0 {
		t.Errorf("a good spec: %v", errs)
	}
}

func TestSpecSurvivesTheEngineRoundTrip(t *testing.T) {
	in := ServiceSpec{
		Name: "api", Image: "ghcr.io/acme/api", Tag: "2.0", Mode: "replicated", Replicas: u64(3),
		Command: []string{"/api"}, Args: []string{"--port", "8080"}, Env: map[string]string{"A": "1", "B": "two=2"},
		Secrets:     []FileRef{{Name: "db_pw", Target: "db_pw", UID: "1000", GID: "1000", Mode: "0400"}},
		Configs:     []FileRef{{Name: "app_conf", Target: "/etc/app.conf", UID: "0", GID: "0", Mode: "0444"}},
		Volumes:     []VolumeRef{{Mapping: "uploads", Target: "/data", ReadOnly: true}},
		Constraints: []string{"node.role==worker"}, Preferences: []string{"spread=node.labels.zone"},
		Resources:     &Resources{LimitCPUs: 0.5, LimitMemory: "512M", ReservationCPUs: 0.25, ReservationMemory: "128M"},
		RestartPolicy: &RestartPolicy{Condition: "on-failure", Delay: "5s", MaxAttempts: 3, Window: "1m0s"},
		UpdatePolicy:  &UpdatePolicy{Parallelism: 1, Delay: "10s", FailureAction: "rollback", Monitor: "5s", Order: "start-first"},
		HealthCheck:   &HealthCheck{Test: []string{"CMD", "/api", "health"}, Interval: "10s", Timeout: "2s", Retries: 3},
		EndpointMode:  "vip", Ports: []Port{{Target: 8080, Published: 80, Protocol: "tcp", Mode: "host"}},
		Networks: []string{"berth"}, Logging: DefaultLogging(), Labels: map[string]string{"team": "a"},
	}
	d, err := in.toDocker(objectIDs{secrets: map[string]string{"db_pw": "s1"}, configs: map[string]string{"app_conf": "c1"}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if d.Labels[ManagedLabel] != "true" || d.Labels[OwnerLabel] != "alice" || d.TaskTemplate.ContainerSpec.Env[1] != "B=two=2" {
		t.Fatalf("engine spec labels %v env %v", d.Labels, d.TaskTemplate.ContainerSpec.Env)
	}
	out, warn := fromDocker(d, nil)
	if len(warn) != 0 {
		t.Errorf("warnings for Berth's own spec: %v", warn)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the spec:\n in %+v\nout %+v", in, out)
	}
}

func TestNodeMatchesConstraints(t *testing.T) {
	var n = nodeWith("worker", "node2", map[string]string{"zone": "eu"})
	for c, want := range map[string]bool{
		"node.role==worker": true, "node.role==manager": false, "node.role!=manager": true,
		"node.labels.zone==eu": true, "node.labels.zone!=eu": false, "node.labels.disk==ssd": false,
		"node.hostname==node2": true, "engine.labels.x==y": false,
	} {
		if got := nodeMatches(n, c); got != want {
			t.Errorf("%s: %v, want %v", c, got, want)
		}
	}
}

func nodeWith(role, hostname string, labels map[string]string) dswarm.Node {
	var n dswarm.Node
	n.Spec.Role = dswarm.NodeRole(role)
	n.Spec.Labels = labels
	n.Description.Hostname = hostname
	return n
}
