package swarm

// ServiceSpec is a service as Berth's form and API describe it.
type ServiceSpec struct {
	Name           string            `json:"name"`
	Image          string            `json:"image"`
	Tag            string            `json:"tag,omitempty"`
	Digest         string            `json:"digest,omitempty"`
	Mode           string            `json:"mode,omitempty"` // replicated (default) or global
	Replicas       *uint64           `json:"replicas,omitempty"`
	Command        []string          `json:"command,omitempty"`
	Args           []string          `json:"args,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	Secrets        []FileRef         `json:"secrets,omitempty"`
	Configs        []FileRef         `json:"configs,omitempty"`
	Volumes        []VolumeRef       `json:"volumes,omitempty"`
	Constraints    []string          `json:"constraints,omitempty"`
	Preferences    []string          `json:"preferences,omitempty"` // "spread=node.labels.zone"
	Resources      *Resources        `json:"resources,omitempty"`
	RestartPolicy  *RestartPolicy    `json:"restart_policy,omitempty"`
	UpdatePolicy   *UpdatePolicy     `json:"update_policy,omitempty"`
	RollbackPolicy *UpdatePolicy     `json:"rollback_policy,omitempty"`
	HealthCheck    *HealthCheck      `json:"healthcheck,omitempty"`
	EndpointMode   string            `json:"endpoint_mode,omitempty"` // vip (default) or dnsrr
	Ports          []Port            `json:"ports,omitempty"`
	Networks       []string          `json:"networks,omitempty"` // default: the berth overlay
	Logging        *Logging          `json:"logging,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Domains        []Domain          `json:"domains,omitempty"` // routed by the load balancer over HTTPS
	// AllowUnplaced deploys even when no node meets the constraints yet (a node with the label will join).
	AllowUnplaced bool `json:"allow_unplaced,omitempty"`

	// Fields Berth refuses: they exist so a request that asks for them gets a clear no.
	Mounts      []RawMount `json:"mounts,omitempty"`
	Privileged  bool       `json:"privileged,omitempty"`
	CapAdd      []string   `json:"cap_add,omitempty"`
	Devices     []string   `json:"devices,omitempty"`
	NetworkMode string     `json:"network_mode,omitempty"`
	PID         string     `json:"pid,omitempty"`
}

// FileRef mounts a secret or config as a file.
type FileRef struct {
	Name   string `json:"name"`
	Target string `json:"target,omitempty"` // secrets: file name under /run/secrets (or a path); configs: absolute path
	UID    string `json:"uid,omitempty"`
	GID    string `json:"gid,omitempty"`
	Mode   string `json:"mode,omitempty"` // octal, "0444"
}

// VolumeRef mounts a volume mapping.
type VolumeRef struct {
	Mapping  string `json:"mapping"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// RawMount is a Docker mount as a request may name it; only type "volume" of a mapping is allowed.
type RawMount struct {
	Type     string `json:"type"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Resources are CPU and memory limits and reservations.
type Resources struct {
	LimitCPUs         float64 `json:"limit_cpus,omitempty"`
	LimitMemory       string  `json:"limit_memory,omitempty"` // "512M", "1G"
	ReservationCPUs   float64 `json:"reservation_cpus,omitempty"`
	ReservationMemory string  `json:"reservation_memory,omitempty"`
}

// RestartPolicy says when the swarm restarts a task.
type RestartPolicy struct {
	Condition   string `json:"condition,omitempty"` // none, on-failure, any
	Delay       string `json:"delay,omitempty"`     // Go duration, "5s"
	MaxAttempts uint64 `json:"max_attempts,omitempty"`
	Window      string `json:"window,omitempty"`
}

// UpdatePolicy is how updates (or rollbacks) roll out.
type UpdatePolicy struct {
	Parallelism   uint64 `json:"parallelism,omitempty"`
	Delay         string `json:"delay,omitempty"`
	FailureAction string `json:"failure_action,omitempty"` // pause, continue, rollback (updates only)
	Monitor       string `json:"monitor,omitempty"`
	Order         string `json:"order,omitempty"` // stop-first, start-first
}

// HealthCheck runs a command in the container.
type HealthCheck struct {
	Test        []string `json:"test"` // ["CMD", "wget", ...] or ["CMD-SHELL", "..."] or ["NONE"]
	Interval    string   `json:"interval,omitempty"`
	Timeout     string   `json:"timeout,omitempty"`
	Retries     int      `json:"retries,omitempty"`
	StartPeriod string   `json:"start_period,omitempty"`
}

// Port publishes a container port.
type Port struct {
	Target    uint32 `json:"target"`
	Published uint32 `json:"published,omitempty"`
	Protocol  string `json:"protocol,omitempty"` // tcp (default), udp, sctp
	Mode      string `json:"mode,omitempty"`     // ingress (default) or host
}

// Logging is the log driver and its options.
type Logging struct {
	Driver  string            `json:"driver"`
	Options map[string]string `json:"options,omitempty"`
}

// DefaultLogging keeps at most 3 files of 10 MB per container, so logs cannot fill a disk.
func DefaultLogging() *Logging {
	return &Logging{Driver: "json-file", Options: map[string]string{"max-size": "10m", "max-file": "3"}}
}

// Reference is the full image reference the service runs: a tag with a digest is the
// tag pinned to that digest (as docker service create and Berth's image update record it).
func (s *ServiceSpec) Reference() string {
	switch {
	case s.Tag != "" && s.Digest != "":
		return s.Image + ":" + s.Tag + "@" + s.Digest
	case s.Digest != "":
		return s.Image + "@" + s.Digest
	case s.Tag != "":
		return s.Image + ":" + s.Tag
	}
	return s.Image
}
