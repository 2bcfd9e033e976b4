package backup

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/berthhq/berth/swarm"
)

// Names of a snapshot's files.
const (
	manifestFile  = "manifest.json"
	signatureFile = "manifest.sig"
)

// Manifest describes a complete snapshot: the environment's objects and the volume archives.
type Manifest struct {
	ID         string                       `json:"id"`
	Trigger    string                       `json:"trigger"` // "schedule" or the user who asked
	Started    time.Time                    `json:"started"`
	Finished   time.Time                    `json:"finished"`
	Node       string                       `json:"node"` // the node whose volumes were read
	Services   []swarm.ServiceSpec          `json:"services"`
	Owners     map[string]string            `json:"owners,omitempty"` // service -> the user whose credentials it pulls with
	Configs    []ConfigCopy                 `json:"configs"`
	Secrets    []SecretCopy                 `json:"secrets"`
	Registries []RegistryCopy               `json:"registries"`
	Mappings   []Mapping                    `json:"mappings"`
	Networks   []string                     `json:"networks"`
	NodeLabels map[string]map[string]string `json:"node_labels"`
	Volumes    []VolumeCopy                 `json:"volumes"`
	State      *StateCopy                   `json:"state,omitempty"`    // Berth's own records (absent in snapshots taken before Berth kept them)
	Warnings   []string                     `json:"warnings,omitempty"` // what could not be copied, and why
}

// StateCopy names the file holding Berth's own records and its checksum.
type StateCopy struct {
	File         string `json:"file"`
	SHA256       string `json:"sha256"`
	Users        int    `json:"users"`
	AuditRecords int    `json:"audit_records"`
}

// ConfigCopy is a config with its content.
type ConfigCopy struct {
	Name   string            `json:"name"`
	Data   []byte            `json:"data"`
	Labels map[string]string `json:"labels,omitempty"`
}

// SecretCopy is a secret with its value sealed by Berth's key for this snapshot.
type SecretCopy struct {
	Name   string            `json:"name"`
	Sealed []byte            `json:"sealed,omitempty"` // nil when Berth holds no copy (a secret made outside Berth)
	Labels map[string]string `json:"labels,omitempty"`
}

// RegistryCopy is a member's registry credential with the password sealed.
type RegistryCopy struct {
	Owner    string `json:"owner"`
	URL      string `json:"url"`
	Username string `json:"username"`
	Sealed   []byte `json:"sealed_password"`
}

// Mapping is a volume mapping and how it is backed up.
type Mapping struct {
	Name string `json:"name"`
	Mode string `json:"mode"` // "live" (copied while running) or "stop" (services scaled to zero around the copy)
}

// VolumeCopy is one volume's archive in the snapshot.
type VolumeCopy struct {
	Mapping     string    `json:"mapping"`
	Node        string    `json:"node"`
	File        string    `json:"file"`
	Size        int64     `json:"size"`       // bytes of the compressed archive
	DataBytes   int64     `json:"data_bytes"` // bytes of the tar stream before compression
	SHA256      string    `json:"sha256"`     // of the compressed archive
	Consistency string    `json:"consistency"`
	Stopped     []string  `json:"stopped,omitempty"` // services scaled to zero around the copy
	Sums        *SumsCopy `json:"sums,omitempty"`    // every file's checksum (absent in older snapshots)
}

// Names lists the snapshot's services, configs, secrets and registries (owner@url) by name.
func (m Manifest) Names() (services, configs, secrets, registries []string) {
	for _, s := range m.Services {
		services = append(services, s.Name)
	}
	for _, c := range m.Configs {
		configs = append(configs, c.Name)
	}
	for _, s := range m.Secrets {
		secrets = append(secrets, s.Name)
	}
	for _, g := range m.Registries {
		registries = append(registries, g.Owner+"@"+g.URL)
	}
	return
}

// TotalSize is the snapshot's size on disk (the volume archives; the manifest is small).
func (m Manifest) TotalSize() int64 {
	var n int64
	for _, v := range m.Volumes {
		n += v.Size
	}
	return n
}

// NewID names a snapshot after its start time, sortable, with a random tail.
func NewID(at time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return at.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// sealContext binds a sealed value to its snapshot and object.
func sealContext(snapshot, kind, name string) string {
	return "backup:" + snapshot + ":" + kind + ":" + name
}
