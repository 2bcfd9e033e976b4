package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/agent"
	"github.com/klauspost/compress/zstd"
)

// VolumeRestore asks for one volume archive of a snapshot to be written into a volume on a node.
type VolumeRestore struct {
	Snapshot  string `json:"-"`
	Mapping   string `json:"mapping"`
	Node      string `json:"node"`
	From      string `json:"from_node"`     // which node's copy, when the snapshot holds several ("" picks the target node's, else the only one)
	Volume    string `json:"target_volume"` // "" restores into the original
	ScaleDown bool   `json:"scale_down"`    // scale the services using the volume to zero around the restore
	InUseOK   bool   `json:"confirm_in_use"`
}

// VolumeRestored says what a restore wrote.
type VolumeRestored struct {
	Volume   string        `json:"volume"`
	Node     string        `json:"node"`
	Bytes    int64         `json:"bytes"`
	SHA256   string        `json:"sha256"` // the archive's, checked before anything was written
	Stopped  []string      `json:"stopped,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// InUseError lists the services running with the target volume mounted.
type InUseError struct{ Services []string }

func (e *InUseError) Error() string {
	return "the volume is in use by " + strings.Join(e.Services, ", ") + ": confirm restoring into it while they run, or let Berth scale them to zero during the restore"
}

// RequestError is a restore request that cannot be carried out, with a message per field.
type RequestError struct{ Field, Msg string }

func (e *RequestError) Error() string { return e.Msg }

var volumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$`)

// RestoreVolume checks the archive against its checksum, then writes it into the target volume.
func (r *Runner) RestoreVolume(ctx context.Context, req VolumeRestore) (VolumeRestored, error) {
	out := VolumeRestored{Volume: req.Volume, Node: req.Node}
	if out.Volume == "" {
		out.Volume = req.Mapping
	}
	if !volumeName.MatchString(out.Volume) {
		return out, &RequestError{"target_volume", "Use a volume name of letters, digits, '_', '.' and '-'."}
	}
	s, err := r.Load(req.Snapshot)
	if err != nil {
		return out, &RequestError{"snapshot", "There is no complete snapshot " + req.Snapshot + "."}
	}
	if s.Problem != "" {
		return out, &RequestError{"snapshot", "This snapshot cannot be trusted: " + s.Problem + "."}
	}
	copyOf, err := pickCopy(s.Volumes, req)
	if err != nil {
		return out, err
	}
	work, err := r.checkNode(ctx, req.Node, out.Volume)
	if err != nil {
		return out, err
	}
	if err := r.checkTargetVolume(ctx, work, out.Volume); err != nil {
		return out, err
	}
	if !r.home().mu.TryLock() {
		return out, ErrBusy
	}
	defer r.home().mu.Unlock()
	defer r.home().progress.Delete("current")
	p := Progress{ID: s.ID, Action: "restore", Phase: "checking for services using the volume", Volume: out.Volume, Total: copyOf.DataBytes, StartedAt: r.Now()}
	r.setProgress(p)
	start := time.Now()
	users, err := r.runningUsers(ctx, out.Volume, req.Node)
	if err != nil {
		return out, err
	}
	if len(users) > 0 && req.ScaleDown {
		restore, stopped, err := r.stopUsers(ctx, out.Volume)
		defer restore()
		out.Stopped = stopped
		if err != nil {
			return out, fmt.Errorf("%w: nothing was restored", err)
		}
	} else if len(users) > 0 && !req.InUseOK {
		return out, &InUseError{Services: users}
	}
	existed, err := work.VolumeExists(ctx, out.Volume)
	if err != nil {
		return out, err
	}
	p.Phase = "checking the archive, then writing it on the node"
	r.setProgress(p)
	err = errNoDirect
	if req.Node == r.Engine.LocalNode(ctx) {
		out.Bytes, err = r.restoreDirect(ctx, s.ID, *copyOf, out.Volume, work)
	}
	if errors.Is(err, errNoDirect) {
		out.Bytes, err = r.restoreStream(ctx, s.ID, *copyOf, out.Volume, p, work)
	}
	if err != nil {
		if !existed {
			work.RemoveMappingVolume(context.WithoutCancel(ctx), out.Volume)
		}
		if strings.Contains(err.Error(), ErrChecksum) {
			return out, err
		}
		return out, fmt.Errorf("writing into %s on %s failed: %w; the volume may hold part of the archive, restore again", out.Volume, req.Node, err)
	}
	out.SHA256, out.Duration = copyOf.SHA256, time.Since(start)
	return out, nil
}

// errNoDirect means the target cannot lend its folder to a helper: stream instead.
var errNoDirect = errors.New("no direct restore")

// restoreDirect has a helper on the node check the archive and write it into the
// volume, reading the snapshot's folder mounted read-only.
func (r *Runner) restoreDirect(ctx context.Context, id string, v VolumeCopy, volume string, work swarm.VolumeWork) (int64, error) {
	dirs, ok := r.Target.(interface{ SnapshotDir(id string) string })
	if !ok {
		return 0, errNoDirect
	}
	n, err := work.RestoreArchiveInto(ctx, volume, dirs.SnapshotDir(id), v.File, v.SHA256)
	if err != nil && !strings.Contains(err.Error(), ErrChecksum) && ctx.Err() == nil {
		return 0, errNoDirect // the helper could not run or see the folder: the engine's API is the way left
	}
	return n, err
}

// restoreStream checks the archive here, then streams it through the engine's archive endpoint.
func (r *Runner) restoreStream(ctx context.Context, id string, v VolumeCopy, volume string, p Progress, work swarm.VolumeWork) (int64, error) {
	if sum, _, err := r.checksum(ctx, id, v.File); err != nil || sum != v.SHA256 {
		if err != nil {
			return 0, fmt.Errorf("the archive cannot be read (%v): nothing was restored", err)
		}
		return 0, fmt.Errorf("the archive %s %s (tampered with or damaged): nothing was restored", v.File, ErrChecksum)
	}
	f, err := r.Target.Open(id, v.File)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := sha256.New()
	dec, err := zstd.NewReader(io.TeeReader(f, h))
	if err != nil {
		return 0, err
	}
	defer dec.Close()
	p.Phase = "writing"
	counted := &countingReader{r: dec, progressCounter: progressCounter{report: func(n int64) { p.Done = n; r.setProgress(p) }}}
	if err := work.ImportVolume(ctx, volume, counted); err != nil {
		return counted.n, err
	}
	io.Copy(h, f) // the rest after the archive's end, if any, for the final check
	if got := hex.EncodeToString(h.Sum(nil)); got != v.SHA256 {
		return counted.n, fmt.Errorf("the archive changed while it was restored (checksum %s)", got)
	}
	return counted.n, nil
}

// checkTargetVolume refuses an existing volume Berth does not manage (Berth's own data, another tool's).
func (r *Runner) checkTargetVolume(ctx context.Context, work swarm.VolumeWork, volume string) error {
	maps, err := r.Vault.Mappings(ctx)
	if err != nil {
		return err
	}
	for _, m := range maps {
		if m.Name == volume {
			return nil
		}
	}
	exists, err := work.VolumeExists(ctx, volume)
	if err != nil {
		return err
	}
	if exists {
		return &RequestError{"target_volume", volume + " is a volume Berth does not manage: restore into a volume mapping or a new volume."}
	}
	return nil
}

// checkNode refuses a node that does not exist, is down, or cannot be reached (no
// agent there), and returns the volume work the restore may do on it.
func (r *Runner) checkNode(ctx context.Context, node, volume string) (swarm.VolumeWork, error) {
	nodes, err := r.Engine.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if n.Hostname != node {
			continue
		}
		if !n.Ready() {
			return nil, &RequestError{"node", "Node " + node + " is down: restore to a node that is up."}
		}
		work, err := r.Engine.VolumesOn(ctx, n, agent.ActRestore, volume)
		if err != nil {
			return nil, &RequestError{"node", err.Error()}
		}
		return work, nil
	}
	return nil, &RequestError{"node", "There is no node named " + node + "."}
}

// pickCopy chooses the snapshot's copy of the mapping to restore: the one asked
// for, else the target node's, else the only one.
func pickCopy(vols []VolumeCopy, req VolumeRestore) (*VolumeCopy, error) {
	var found []*VolumeCopy
	for i := range vols {
		if vols[i].Mapping == req.Mapping && (req.From == "" || vols[i].Node == req.From) {
			found = append(found, &vols[i])
		}
	}
	switch {
	case len(found) == 0 && req.From != "":
		return nil, &RequestError{"mapping", "The snapshot holds no archive of " + req.Mapping + " from node " + req.From + "."}
	case len(found) == 0:
		return nil, &RequestError{"mapping", "The snapshot holds no archive of " + req.Mapping + "."}
	case len(found) == 1:
		return found[0], nil
	}
	var nodes []string
	for _, v := range found {
		if v.Node == req.Node {
			return v, nil
		}
		nodes = append(nodes, v.Node)
	}
	return nil, &RequestError{"mapping", "The snapshot holds copies of " + req.Mapping + " from " + strings.Join(nodes, ", ") + ": choose which one to restore."}
}

// runningUsers names the services with tasks running on the node that mount the volume.
func (r *Runner) runningUsers(ctx context.Context, volume, node string) ([]string, error) {
	services, err := r.Engine.Services(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range services {
		for _, v := range s.Spec.Volumes {
			if v.Mapping != volume || slices.Contains(names, s.Spec.Name) {
				continue
			}
			for _, t := range s.Tasks {
				if t.Node == node && t.State == "running" {
					names = append(names, s.Spec.Name)
					break
				}
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// PlanItem is one object a restore of environment objects would create or keep.
type PlanItem struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action string `json:"action"` // "create", "keep" (exists), "skip: why"
	Done   string `json:"done,omitempty"`
}

// RestoreObjects plans (apply false) or recreates (apply true) the snapshot's missing
// mappings, configs, secrets, registries and services; existing ones are kept as they are.
func (r *Runner) RestoreObjects(ctx context.Context, id string, apply bool) ([]PlanItem, error) {
	s, err := r.Load(id)
	if err != nil {
		return nil, &RequestError{"snapshot", "There is no complete snapshot " + id + "."}
	}
	if s.Problem != "" {
		return nil, &RequestError{"snapshot", "This snapshot cannot be trusted: " + s.Problem + "."}
	}
	have, err := r.existing(ctx)
	if err != nil {
		return nil, err
	}
	var plan []PlanItem
	step := func(kind, name string, do func() error) {
		item := PlanItem{Kind: kind, Name: name, Action: "create"}
		if have[kind+"/"+name] {
			item.Action = "keep"
		}
		if apply && item.Action == "create" {
			if err := do(); err != nil {
				item.Done = "failed: " + err.Error()
			} else {
				item.Done = "created"
			}
		}
		plan = append(plan, item)
	}
	for _, mp := range s.Mappings {
		step("mapping", mp.Name, func() error { return r.Vault.RestoreMapping(ctx, mp.Name) })
	}
	for _, c := range s.Configs {
		step(string(swarm.KindConfig), c.Name, func() error {
			_, err := r.Engine.CreateObject(ctx, swarm.KindConfig, c.Name, c.Data, c.Labels)
			return err
		})
	}
	for _, c := range s.Secrets {
		if c.Sealed == nil {
			plan = append(plan, PlanItem{Kind: string(swarm.KindSecret), Name: c.Name, Action: "skip: Berth never held its value"})
			continue
		}
		step(string(swarm.KindSecret), c.Name, func() error {
			value, err := r.Keys.Open(c.Sealed, sealContext(s.ID, "secret", c.Name))
			if err != nil {
				return errors.New("its sealed value does not open with this Berth's key")
			}
			dockerID, err := r.Engine.CreateObject(ctx, swarm.KindSecret, c.Name, value, c.Labels)
			if err != nil {
				return err
			}
			return r.Vault.RestoreSecret(ctx, dockerID, c.Name, value)
		})
	}
	for _, g := range s.Registries {
		step("registry", g.Owner+"@"+g.URL, func() error {
			pw, err := r.Keys.Open(g.Sealed, sealContext(s.ID, "registry", g.Owner+"@"+g.URL))
			if err != nil {
				return errors.New("its sealed password does not open with this Berth's key")
			}
			return r.Vault.RestoreRegistry(ctx, Registry{Owner: g.Owner, URL: g.URL, Username: g.Username, Password: string(pw)})
		})
	}
	for _, spec := range s.Services {
		step("service", spec.Name, func() error {
			owner := s.Owners[spec.Name]
			cred, err := r.Vault.CredentialFor(ctx, owner, spec.Reference())
			if err != nil {
				return err
			}
			_, err = r.Engine.CreateService(ctx, spec, owner, cred)
			return err
		})
	}
	return plan, nil
}

// existing names what is already there ("kind/name"), which a restore keeps as it is.
func (r *Runner) existing(ctx context.Context) (map[string]bool, error) {
	have := map[string]bool{}
	for _, kind := range []swarm.Kind{swarm.KindConfig, swarm.KindSecret} {
		objs, err := r.Engine.Objects(ctx, kind)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			have[string(kind)+"/"+o.Name] = true
		}
	}
	services, err := r.Engine.Services(ctx)
	if err != nil {
		return nil, err
	}
	for _, sv := range services {
		have["service/"+sv.Spec.Name] = true
	}
	maps, err := r.Vault.Mappings(ctx)
	if err != nil {
		return nil, err
	}
	for _, mp := range maps {
		have["mapping/"+mp.Name] = true
	}
	regs, err := r.Vault.Registries(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range regs {
		have["registry/"+g.Owner+"@"+g.URL] = true
	}
	return have, nil
}
