package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
)

// Engine is what snapshots read from the swarm and restores write to it.
type Engine interface {
	Cached() swarm.Status
	LocalNode(ctx context.Context) string
	Services(ctx context.Context) ([]swarm.Service, error)
	Service(ctx context.Context, name string) (swarm.Service, error)
	ScaleService(ctx context.Context, name string, replicas uint64) (swarm.Service, error)
	Objects(ctx context.Context, kind swarm.Kind) ([]swarm.Object, error)
	Object(ctx context.Context, kind swarm.Kind, name string) (swarm.Object, error)
	Nodes(ctx context.Context) ([]swarm.NodeInfo, error)
	VolumesOn(ctx context.Context, n swarm.NodeInfo, action, volume string) (swarm.VolumeWork, error)
	CreateObject(ctx context.Context, kind swarm.Kind, name string, data []byte, labels map[string]string) (string, error)
	CreateService(ctx context.Context, s swarm.ServiceSpec, owner string, cred *swarm.Credential) (swarm.Service, error)
	RemoveLeftoverHelpers(ctx context.Context) (int, error)
}

// Vault is what Berth's database holds for a snapshot and takes back on restore.
type Vault interface {
	Mappings(ctx context.Context) ([]Mapping, error)
	SecretValue(ctx context.Context, dockerID string) ([]byte, error) // ErrNoCopy when Berth holds none
	Registries(ctx context.Context) ([]Registry, error)
	Pinned(ctx context.Context) (map[string]bool, error)
	SaveRun(ctx context.Context, r Run) error
	RestoreSecret(ctx context.Context, dockerID, name string, value []byte) error
	RestoreRegistry(ctx context.Context, r Registry) error
	RestoreMapping(ctx context.Context, name string) error
	CredentialFor(ctx context.Context, owner, image string) (*swarm.Credential, error)
	State(ctx context.Context) (State, error)
	RestoreUser(ctx context.Context, u store.UserExport) error
	RestoreSetting(ctx context.Context, key, value string) (bool, error)
	ImportAudit(ctx context.Context, recs []store.AuditRecord, from string) (int, error)
}

// State is Berth's own records as the database holds them.
type State struct {
	Users    []store.UserExport
	Settings map[string]string
	Audit    []store.AuditRecord
}

// Registry is a registry credential with its password in clear (only in memory).
type Registry struct {
	Owner, URL, Username, Password string
}

// ErrNoCopy means Berth holds no copy of a secret's value.
var ErrNoCopy = errors.New("berth holds no copy of this secret's value")

// Sealer seals values and signs manifests with Berth's master key.
type Sealer interface {
	Seal(plaintext []byte, context string) []byte
	Open(sealed []byte, context string) ([]byte, error)
	Hash(value string) string
}

// Run is one backup attempt as the backups page lists it.
type Run struct {
	ID       string
	Trigger  string
	Started  time.Time
	Finished time.Time
	Status   string // running, complete, failed, interrupted
	Error    string
}

// Progress is what a running backup or restore has done so far.
type Progress struct {
	ID        string
	Action    string // "backup" or "restore"
	Phase     string
	Volume    string
	Done      int64 // bytes of volume data read or written so far
	Total     int64 // bytes expected, 0 when unknown
	StartedAt time.Time
}

// Runner takes snapshots one at a time and restores from them.
type Runner struct {
	Engine Engine
	Vault  Vault
	Target Target
	Keys   Sealer
	Now    func() time.Time
	// Completed is told of every complete snapshot (the off-site copier queues it).
	Completed func(ctx context.Context, id string)

	mu       sync.Mutex // one backup or restore at a time
	progress sync.Map   // "current" -> Progress
	loaded   sync.Map   // snapshot id -> cachedSnapshot
	local    *Runner    // a runner over the bucket shares the local one's lock and progress
}

// home is the runner whose lock and progress this one uses.
func (r *Runner) home() *Runner {
	if r.local != nil {
		return r.local
	}
	return r
}

// ErrBusy means another backup or restore is running.
var ErrBusy = errors.New("a backup or restore is running: wait for it to finish")

// Describe says where snapshots are kept, for the backups page.
func (r *Runner) Describe() string { return r.Target.Describe() }

// Current returns what is running now, if anything.
func (r *Runner) Current() (Progress, bool) {
	v, ok := r.home().progress.Load("current")
	if !ok {
		return Progress{}, false
	}
	return v.(Progress), true
}

func (r *Runner) setProgress(p Progress) { r.home().progress.Store("current", p) }

// Result is how a snapshot ended and what retention removed after it.
type Result struct {
	Manifest Manifest
	Err      error    // the snapshot failed (nothing was kept)
	Pruned   []string // snapshots retention removed after this one completed
	PruneErr error
}

// Start begins a snapshot in the background and returns its id; it runs to the end even if
// ctx ends, then prunes what retention no longer keeps and hands done the result.
func (r *Runner) Start(ctx context.Context, trigger string, done func(Result)) (string, error) {
	if !r.home().mu.TryLock() {
		return "", ErrBusy
	}
	id := NewID(r.Now())
	run := Run{ID: id, Trigger: trigger, Started: r.Now(), Status: "running"}
	if err := r.Vault.SaveRun(ctx, run); err != nil {
		r.home().mu.Unlock()
		return "", err
	}
	r.setProgress(Progress{ID: id, Action: "backup", Phase: "starting", StartedAt: run.Started})
	go func() {
		defer r.home().mu.Unlock()
		defer r.home().progress.Delete("current")
		bg := context.WithoutCancel(ctx)
		m, err := r.snapshot(bg, id, trigger)
		run.Finished, run.Status = r.Now(), "complete"
		if err != nil {
			run.Status, run.Error = "failed", err.Error()
		}
		r.Vault.SaveRun(bg, run)
		res := Result{Manifest: m, Err: err}
		if err == nil {
			r.loaded.Delete(id)
			if r.Completed != nil {
				r.Completed(bg, id)
			}
			res.Pruned, res.PruneErr = r.prune(bg)
		}
		if done != nil {
			done(res)
		}
	}()
	return id, nil
}

// snapshot writes a complete snapshot or nothing.
func (r *Runner) snapshot(ctx context.Context, id, trigger string) (Manifest, error) {
	m := Manifest{ID: id, Trigger: trigger, Started: r.Now(), Node: r.Engine.LocalNode(ctx)}
	draft, err := r.Target.Begin(id)
	if err != nil {
		return m, err
	}
	committed := false
	defer func() {
		if !committed {
			draft.Abort()
		}
	}()
	r.setProgress(Progress{ID: id, Action: "backup", Phase: "environment", StartedAt: m.Started})
	if err := r.copyEnvironment(ctx, &m); err != nil {
		return m, err
	}
	if err := r.writeState(ctx, draft, &m); err != nil {
		return m, fmt.Errorf("Berth's own records: %w", err)
	}
	nodes, err := r.Engine.Nodes(ctx)
	if err != nil {
		return m, err
	}
	ran, err := r.nodesThatRan(ctx)
	if err != nil {
		return m, err
	}
	for _, mp := range m.Mappings {
		if err := r.copyMapping(ctx, draft, &m, mp, nodes, ran[mp.Name]); err != nil {
			return m, fmt.Errorf("volume %s: %w", mp.Name, err)
		}
	}
	m.Finished = r.Now()
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	for name, data := range map[string][]byte{manifestFile: raw, signatureFile: []byte(r.Keys.Hash(string(raw)))} {
		w, err := draft.Create(name)
		if err != nil {
			return m, err
		}
		if _, err := w.Write(data); err != nil {
			w.Close()
			return m, err
		}
		if err := w.Close(); err != nil {
			return m, err
		}
	}
	if err := draft.Commit(); err != nil {
		return m, err
	}
	committed = true
	return m, nil
}

// copyEnvironment fills the manifest with services, configs, secrets, registries, mappings, networks and node labels.
func (r *Runner) copyEnvironment(ctx context.Context, m *Manifest) error {
	services, err := r.Engine.Services(ctx)
	if err != nil {
		return err
	}
	m.Owners = map[string]string{}
	nets := map[string]bool{}
	for _, s := range services {
		if s.Reserved != "" {
			continue // Berth's own (the agents, the load balancer, Berth): redeployed from their own pages, never restored by an operator
		}
		m.Services = append(m.Services, s.Spec)
		if s.Owner != "" {
			m.Owners[s.Spec.Name] = s.Owner
		}
		for _, n := range s.Spec.Networks {
			nets[n] = true
		}
	}
	for n := range nets {
		m.Networks = append(m.Networks, n)
	}
	sort.Strings(m.Networks)
	configs, err := r.Engine.Objects(ctx, swarm.KindConfig)
	if err != nil {
		return err
	}
	for _, c := range configs {
		if swarm.ReservedObject(c.Name, c.Labels) != "" {
			continue
		}
		full, err := r.Engine.Object(ctx, swarm.KindConfig, c.Name)
		if err != nil {
			return err
		}
		m.Configs = append(m.Configs, ConfigCopy{Name: c.Name, Data: full.Data, Labels: c.Labels})
	}
	secrets, err := r.Engine.Objects(ctx, swarm.KindSecret)
	if err != nil {
		return err
	}
	for _, s := range secrets {
		if swarm.ReservedObject(s.Name, s.Labels) != "" {
			continue
		}
		c := SecretCopy{Name: s.Name, Labels: s.Labels}
		value, err := r.Vault.SecretValue(ctx, s.ID)
		switch {
		case errors.Is(err, ErrNoCopy):
			m.Warnings = append(m.Warnings, "secret "+s.Name+": created outside Berth, its value cannot be read back (only its name is kept)")
		case err != nil:
			return err
		default:
			c.Sealed = r.Keys.Seal(value, sealContext(m.ID, "secret", s.Name))
		}
		m.Secrets = append(m.Secrets, c)
	}
	regs, err := r.Vault.Registries(ctx)
	if err != nil {
		return err
	}
	for _, g := range regs {
		m.Registries = append(m.Registries, RegistryCopy{Owner: g.Owner, URL: g.URL, Username: g.Username,
			Sealed: r.Keys.Seal([]byte(g.Password), sealContext(m.ID, "registry", g.Owner+"@"+g.URL))})
	}
	if m.Mappings, err = r.Vault.Mappings(ctx); err != nil {
		return err
	}
	nodes, err := r.Engine.Nodes(ctx)
	if err != nil {
		return err
	}
	m.NodeLabels = map[string]map[string]string{}
	for _, n := range nodes {
		if len(n.Labels) > 0 {
			m.NodeLabels[n.Hostname] = n.Labels
		}
	}
	return nil
}
