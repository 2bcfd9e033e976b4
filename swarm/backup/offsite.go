package backup

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/backup/offsite"
)

// Offsite copies complete snapshots to the admin's bucket, encrypted with the backup
// key, retries failed copies with back-off, and prunes the bucket as retention says.
type Offsite struct {
	St      *store.Store
	Local   *Runner
	Log     *slog.Logger
	Backoff time.Duration // the first retry's wait, doubled each time up to an hour (30 s unless set)

	wake     chan struct{}
	progress sync.Map // snapshot id -> CopyProgress
	once     sync.Once
}

// CopyProgress is how far a running copy is.
type CopyProgress struct{ Done, Total int64 }

// ErrNoTarget means no bucket is set.
var ErrNoTarget = errors.New("no off-site bucket is set")

// NewOffsite is the off-site copier over Berth's database and local snapshots.
func NewOffsite(st *store.Store, local *Runner, log *slog.Logger) *Offsite {
	return &Offsite{St: st, Local: local, Log: log, Backoff: 30 * time.Second}
}

func (o *Offsite) poke() {
	o.once.Do(func() { o.wake = make(chan struct{}, 1) })
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Settings returns the bucket's settings, or ErrNoTarget.
func (o *Offsite) Settings(ctx context.Context) (offsite.Settings, error) {
	raw, err := o.St.OffsiteTarget(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return offsite.Settings{}, ErrNoTarget
	}
	if err != nil {
		return offsite.Settings{}, err
	}
	var s offsite.Settings
	return s, json.Unmarshal(raw, &s)
}

// keys returns the backup keys, the current one first.
func (o *Offsite) keys(ctx context.Context) ([]offsite.Key, error) {
	stored, err := o.St.BackupKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []offsite.Key
	for _, k := range stored {
		key, err := offsite.KeyFromRaw(k.Raw)
		if err != nil {
			return nil, err
		}
		out = append(out, key)
	}
	return out, nil
}

// Remote is a runner over the bucket's copies (for listing, verifying and restoring).
func (o *Offsite) Remote(ctx context.Context) (*Runner, error) {
	s, err := o.Settings(ctx)
	if err != nil {
		return nil, err
	}
	b, err := offsite.Connect(s)
	if err != nil {
		return nil, err
	}
	keys, err := o.keys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("no backup key: enter the backup key the copies were made with")
	}
	return o.Local.RemoteRunner(NewRemote(b, keys)), nil
}

// Configure checks the settings by writing, reading and removing a test object, then
// saves them (secret key sealed) and queues every local snapshot. When Berth holds no
// backup key yet it makes one and returns it, to be shown once.
func (o *Offsite) Configure(ctx context.Context, s offsite.Settings, by string) (*offsite.Key, error) {
	if s.SecretKey == "" { // keep the saved one when the form leaves it empty
		if old, err := o.Settings(ctx); err == nil && old.AccessKey == s.AccessKey {
			s.SecretKey = old.SecretKey
		}
	}
	b, err := offsite.Connect(s)
	if err != nil {
		return nil, err
	}
	probe, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := b.Probe(probe); err != nil {
		var fe *offsite.FieldError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, &offsite.FieldError{Field: "endpoint", Msg: "Berth could not write a test object: " + err.Error()}
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var fresh *offsite.Key
	keys, err := o.keys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		k := offsite.NewKey()
		if err := o.St.AddBackupKey(ctx, k.ID(), k.Raw(), by, true); err != nil {
			return nil, err
		}
		fresh = &k
	}
	if err := o.St.SetOffsiteTarget(ctx, raw, by); err != nil {
		return nil, err
	}
	o.queueLocal(ctx)
	return fresh, nil
}

// Forget removes the bucket's settings (the copies in the bucket stay).
func (o *Offsite) Forget(ctx context.Context) error { return o.St.SetOffsiteTarget(ctx, nil, "") }

// RotateKey makes a new backup key for new copies; older copies keep opening with the old one.
func (o *Offsite) RotateKey(ctx context.Context, by string) (offsite.Key, error) {
	k := offsite.NewKey()
	return k, o.St.AddBackupKey(ctx, k.ID(), k.Raw(), by, true)
}

// ImportKey adds a key an admin kept (a new VM restoring from the bucket); it becomes
// the current key only when Berth has none.
func (o *Offsite) ImportKey(ctx context.Context, text, by string) (offsite.Key, error) {
	k, err := offsite.ParseKey(text)
	if err != nil {
		return k, &offsite.FieldError{Field: "key", Msg: err.Error()}
	}
	keys, err := o.keys(ctx)
	if err != nil {
		return k, err
	}
	return k, o.St.AddBackupKey(ctx, k.ID(), k.Raw(), by, len(keys) == 0)
}

// KeyIDs names the backup keys Berth holds, the current one first.
func (o *Offsite) KeyIDs(ctx context.Context) ([]string, error) {
	keys, err := o.keys(ctx)
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID())
	}
	return ids, err
}

// Queue records that a complete snapshot is to be copied and wakes the copier.
func (o *Offsite) Queue(ctx context.Context, id string) {
	if _, err := o.Settings(ctx); err != nil {
		return
	}
	if err := o.St.QueueOffsiteCopy(ctx, id); err != nil {
		o.Log.Error("queueing an off-site copy", "snapshot", id, "error", err)
	}
	o.poke()
}

// queueLocal queues every local snapshot not yet recorded.
func (o *Offsite) queueLocal(ctx context.Context) {
	ids, err := o.Local.Target.List()
	if err != nil {
		o.Log.Error("listing snapshots to copy", "error", err)
		return
	}
	for _, id := range ids {
		o.St.QueueOffsiteCopy(ctx, id)
	}
	o.poke()
}

// Copies returns each snapshot's copy state, with the running copy's progress.
func (o *Offsite) Copies(ctx context.Context) (map[string]store.OffsiteCopy, map[string]CopyProgress, error) {
	copies, err := o.St.OffsiteCopies(ctx)
	prog := map[string]CopyProgress{}
	o.progress.Range(func(k, v any) bool {
		prog[k.(string)] = v.(CopyProgress)
		return true
	})
	return copies, prog, err
}
