// Package handlers is Berth's HTTP surface: pages, fragments and the JSON API,
// all listed in routes.go with the least role each needs.
package handlers

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/agent"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/volumewrite"
)

// Engine is what the handlers need from the Docker engine.
type Engine interface {
	Boundary
	Cached() swarm.Status
	Refresh(ctx context.Context) swarm.Status
	LocalNode(ctx context.Context) string
	Initialize(ctx context.Context, advertiseAddr string) error

	RegistryLogin(ctx context.Context, c swarm.Credential) (string, error)
	PullImage(ctx context.Context, ref string, c *swarm.Credential) error

	Objects(ctx context.Context, kind swarm.Kind) ([]swarm.Object, error)
	Object(ctx context.Context, kind swarm.Kind, name string) (swarm.Object, error)
	CreateObject(ctx context.Context, kind swarm.Kind, name string, data []byte, labels map[string]string) (string, error)
	RemoveObject(ctx context.Context, kind swarm.Kind, name string) (swarm.Object, error)
	Rotate(ctx context.Context, kind swarm.Kind, oldName string, data []byte, progress func(swarm.Rotation)) (swarm.Rotation, error)

	Services(ctx context.Context) ([]swarm.Service, error)
	Service(ctx context.Context, nameOrID string) (swarm.Service, error)
	CreateService(ctx context.Context, s swarm.ServiceSpec, owner string, cred *swarm.Credential) (swarm.Service, error)
	UpdateService(ctx context.Context, name string, s swarm.ServiceSpec, owner string, cred *swarm.Credential) (swarm.Service, error)
	RedeployService(ctx context.Context, name, tag string, cred *swarm.Credential) (swarm.Service, error)
	ScaleService(ctx context.Context, name string, replicas uint64) (swarm.Service, error)
	RollbackService(ctx context.Context, name string) (swarm.Service, error)
	RemoveService(ctx context.Context, name string) error
	ServiceLogs(ctx context.Context, name, tail string, follow bool, fn func(swarm.LogLine) error) error
	Subscribe() (<-chan swarm.Change, func())
	Container(ctx context.Context, id string) (swarm.Container, error)
	StartExec(ctx context.Context, ct swarm.Container, o swarm.ExecOptions) (*swarm.Exec, error)
	ModelState() (ready bool, syncedAt time.Time, lastError string)

	MappingStates(ctx context.Context, names []string) (map[string]swarm.MappingState, error)
	UploadToVolume(ctx context.Context, u swarm.Upload, body io.Reader) ([]volumewrite.Written, error)
	ExportVolume(ctx context.Context, volume string, w io.Writer) error
	ImportVolume(ctx context.Context, volume string, r io.Reader) error
	VolumeExists(ctx context.Context, volume string) (bool, error)
	VolumeMadeByBerth(ctx context.Context, volume string) (exists, made bool, err error)
	ArchiveVolumeInto(ctx context.Context, volume, hostDir, name, probe string) (swarm.ArchiveAnswer, error)
	RestoreArchiveInto(ctx context.Context, volume, hostDir, name, sha256 string) (int64, error)
	RemoveLeftoverHelpers(ctx context.Context) (int, error)
	VolumesOn(ctx context.Context, n swarm.NodeInfo, action, volume string) (swarm.VolumeWork, error)
	NodeVolumes(ctx context.Context, node string) ([]swarm.NodeVolume, error)
	Agents(ctx context.Context) (bool, map[string]swarm.AgentState, error)
	DeployAgent(ctx context.Context) (bool, error)
	UpgradeAgents(ctx context.Context) (bool, error)
	RemoveAgent(ctx context.Context) error
	ReplaceAgentKeys(k agent.Keys) error
	AgentsUnavailable(ctx context.Context) string
	HelperProblem() string
	CreateMappingVolume(ctx context.Context, name string) error
	RemoveMappingVolume(ctx context.Context, name string) error

	Nodes(ctx context.Context) ([]swarm.NodeInfo, error)
	NodeInfos(ctx context.Context) ([]swarm.NodeInfo, error)
	NodeTasks(ctx context.Context, id string) ([]swarm.Task, error)
	UpdateNode(ctx context.Context, id, stamp string, change swarm.NodeChange) error
	Autolock(ctx context.Context) (bool, error)
	SetAutolock(ctx context.Context, on bool) (string, error)
	RotateUnlockKey(ctx context.Context) (string, error)
	Unlock(ctx context.Context, key string) error
	LoadBalancer(ctx context.Context) (swarm.LoadBalancer, swarm.Service, bool, error)
	DeployLoadBalancer(ctx context.Context, lb swarm.LoadBalancer, cert *swarm.CertUpload) error
	RemoveLoadBalancer(ctx context.Context) error
	EngineSocket(ctx context.Context) string
}

// Config holds the HTTP-level settings the handlers need.
type Config struct {
	// SecureCookies marks the session cookie Secure (Berth is served over HTTPS).
	SecureCookies bool
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed for client addresses.
	TrustedProxies []string
	// PublicURL is the address users reach Berth at, for the webhook URLs it hands out ("" uses the request's host).
	PublicURL string
	// Resolver looks up domains for the DNS check (nil: the system's resolver).
	Resolver swarm.Resolver
	// BackupDir is where snapshots are written (a local directory).
	BackupDir string
	// CertRoots are the authorities domain certificates are checked against (nil: the system's).
	CertRoots *x509.CertPool
}

// Handlers holds every dependency the routes use.
type Handlers struct {
	store    *store.Store
	engine   Engine
	sessions *scs.SessionManager
	log      *slog.Logger
	limiter  *loginLimiter
	jobs     *jobRegistry
	hooks    *rateLimiter
	domains  *domainCache
	backups  *backup.Runner
	cfg      Config
	// jsonRoutes are the routes that answer JSON ("METHOD /pattern"), errors included.
	jsonRoutes map[string]bool
}

// New builds the handlers; sessions are kept in the store's database.
func New(st *store.Store, engine Engine, sessions *scs.SessionManager, log *slog.Logger, cfg Config) *Handlers {
	if abs, err := filepath.Abs(cfg.BackupDir); err == nil {
		cfg.BackupDir = abs // helpers on the node mount it by this path
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	return &Handlers{
		store:    st,
		engine:   engine,
		sessions: sessions,
		log:      log,
		limiter:  newLoginLimiter(time.Now),
		jobs:     newJobRegistry(),
		hooks:    newRateLimiter(time.Now, hookWindow, hookCallsPerWindow),
		domains:  &domainCache{},
		backups: &backup.Runner{Engine: engine, Vault: backupVault{st}, Target: backup.Dir{Path: cfg.BackupDir},
			Keys: st.Keyring(), Now: time.Now},
		cfg: cfg,
	}
}
