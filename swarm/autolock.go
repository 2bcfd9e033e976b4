package swarm

import (
	"context"
	"errors"
	"strings"

	dswarm "github.com/docker/docker/api/types/swarm"
)

// Autolock reports whether the managers' raft keys are encrypted at rest behind an unlock key.
func (e *Engine) Autolock(ctx context.Context) (bool, error) {
	if m := e.liveModel(); m != nil && m.rawCluster() != nil {
		return m.rawCluster().Spec.EncryptionConfig.AutoLockManagers, nil // re-read at every rebuild and after SetAutolock
	}
	sw, err := e.cli.SwarmInspect(ctx)
	if err != nil {
		return false, e.wrap(err)
	}
	return sw.Spec.EncryptionConfig.AutoLockManagers, nil
}

// SetAutolock turns autolock on or off; turning it on answers the unlock key, which Berth never keeps.
func (e *Engine) SetAutolock(ctx context.Context, on bool) (string, error) {
	sw, err := e.cli.SwarmInspect(ctx)
	if err != nil {
		return "", e.wrap(err)
	}
	sw.Spec.EncryptionConfig.AutoLockManagers = on
	if err := e.cli.SwarmUpdate(ctx, sw.Version, sw.Spec, dswarm.UpdateFlags{}); err != nil {
		return "", e.wrap(err)
	}
	if m := e.liveModel(); m != nil {
		m.refreshCluster(ctx)
	}
	if !on {
		return "", nil
	}
	return e.unlockKey(ctx)
}

// RotateUnlockKey replaces the unlock key and answers the new one.
func (e *Engine) RotateUnlockKey(ctx context.Context) (string, error) {
	sw, err := e.cli.SwarmInspect(ctx)
	if err != nil {
		return "", e.wrap(err)
	}
	if !sw.Spec.EncryptionConfig.AutoLockManagers {
		return "", errors.New("autolock is off: there is no unlock key to rotate")
	}
	if err := e.cli.SwarmUpdate(ctx, sw.Version, sw.Spec, dswarm.UpdateFlags{RotateManagerUnlockKey: true}); err != nil {
		return "", e.wrap(err)
	}
	return e.unlockKey(ctx)
}

func (e *Engine) unlockKey(ctx context.Context) (string, error) {
	k, err := e.cli.SwarmGetUnlockKey(ctx)
	if err != nil {
		return "", e.wrap(err)
	}
	return k.UnlockKey, nil
}

// ErrBadUnlockKey means the key given does not unlock this manager.
var ErrBadUnlockKey = errors.New("this key does not unlock this manager: check it and try again")

// Unlock unlocks a manager that came back locked.
func (e *Engine) Unlock(ctx context.Context, key string) error {
	err := e.cli.SwarmUnlock(ctx, dswarm.UnlockRequest{UnlockKey: strings.TrimSpace(key)})
	if err != nil {
		if strings.Contains(err.Error(), "invalid key") || strings.Contains(err.Error(), "did not match") || strings.Contains(err.Error(), "not a valid") {
			return ErrBadUnlockKey
		}
		return errors.New(e.plainError(err))
	}
	e.Refresh(ctx)
	return nil
}
