package swarm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	dswarm "github.com/docker/docker/api/types/swarm"
)

// Rotation steps' states.
const (
	StepPending   = "pending"
	StepUpdating  = "rolling out"
	StepCompleted = "completed"
	StepFailed    = "failed"
	StepUndone    = "undone"
)

// RotationStep is one service's switch to the new version.
type RotationStep struct {
	Service   string
	ServiceID string
	State     string
	Message   string
}

// Rotation is a "new version" of a config or secret rolled out to the services that use it.
type Rotation struct {
	Kind  Kind
	Old   string
	New   string
	NewID string
	Steps []RotationStep
	Done  bool
	Err   string
}

// Succeeded reports whether every service now runs with the new version.
func (r Rotation) Succeeded() bool { return r.Done && r.Err == "" }

// Rotate creates the next version of a config or secret with data, switches every
// service using the old one to it at the same path (uid, gid and mode kept) and
// waits for the rollouts; progress is called after every change. If switching a
// service fails, the services already switched are switched back and the new
// version is deleted, so nothing is left half-done.
func (e *Engine) Rotate(ctx context.Context, kind Kind, oldName string, data []byte, progress func(Rotation)) (Rotation, error) {
	r := Rotation{Kind: kind, Old: oldName}
	report := func() {
		if progress != nil {
			progress(r)
		}
	}
	fail := func(err error) (Rotation, error) {
		r.Done, r.Err = true, err.Error()
		report()
		return r, err
	}
	old, err := e.freshObject(ctx, kind, oldName)
	if err != nil {
		return fail(err)
	}
	r.New = NextVersionName(oldName)
	for {
		if _, err := e.freshObject(ctx, kind, r.New); errors.Is(err, ErrNotFound) {
			break
		} else if err != nil {
			return fail(err)
		}
		r.New = NextVersionName(r.New)
	}
	labels := map[string]string{}
	for k, v := range old.Labels {
		labels[k] = v
	}
	labels["berth.previous"] = oldName
	if r.NewID, err = e.CreateObject(ctx, kind, r.New, data, labels); err != nil {
		return fail(err)
	}
	seen := map[string]bool{}
	for _, u := range old.UsedBy {
		if !seen[u.ServiceID] {
			seen[u.ServiceID] = true
			r.Steps = append(r.Steps, RotationStep{Service: u.Service, ServiceID: u.ServiceID, State: StepPending})
		}
	}
	report()

	from := objectRef{id: old.ID, name: old.Name}
	to := objectRef{id: r.NewID, name: r.New}
	for i := range r.Steps {
		if err := e.switchRef(ctx, kind, r.Steps[i].ServiceID, from, to); err != nil {
			r.Steps[i].State, r.Steps[i].Message = StepFailed, err.Error()
			return fail(e.undoRotation(ctx, &r, i, from, to, err))
		}
		r.Steps[i].State = StepUpdating
		report()
	}
	for i := range r.Steps {
		state, msg := e.waitRollout(ctx, r.Steps[i].ServiceID)
		r.Steps[i].State, r.Steps[i].Message = state, msg
		report()
	}
	r.Done = true
	var failed []string
	for _, s := range r.Steps {
		if s.State != StepCompleted {
			failed = append(failed, s.Service+" ("+s.Message+")")
		}
	}
	if len(failed) > 0 {
		r.Err = fmt.Sprintf("%s now exists and every service refers to it, but these rollouts did not complete: %s. Fix them and redeploy; %s was kept.",
			r.New, strings.Join(failed, "; "), r.Old)
		report()
		return r, errors.New(r.Err)
	}
	report()
	return r, nil
}

// undoRotation switches back the services before index failed and deletes the new version.
func (e *Engine) undoRotation(ctx context.Context, r *Rotation, failed int, from, to objectRef, cause error) error {
	var stuck []string
	for i := 0; i < failed; i++ {
		if err := e.switchRef(ctx, r.Kind, r.Steps[i].ServiceID, to, from); err != nil {
			stuck = append(stuck, r.Steps[i].Service)
			r.Steps[i].Message = "could not be switched back: " + err.Error()
			continue
		}
		r.Steps[i].State = StepUndone
	}
	if len(stuck) > 0 {
		return fmt.Errorf("switching %s failed (%v); these services still use %s and must be switched back by hand: %s",
			r.Steps[failed].Service, cause, r.New, strings.Join(stuck, ", "))
	}
	if _, err := e.RemoveObject(ctx, r.Kind, r.New); err != nil {
		return fmt.Errorf("switching %s failed (%v); every service was switched back, but %s could not be deleted: %v", r.Steps[failed].Service, cause, r.New, err)
	}
	return fmt.Errorf("switching %s failed: %v; nothing was changed", r.Steps[failed].Service, cause)
}

type objectRef struct{ id, name string }

// switchRef points a service's references to one config or secret at another, keeping each target file.
func (e *Engine) switchRef(ctx context.Context, kind Kind, serviceID string, from, to objectRef) error {
	svc, _, err := e.cli.ServiceInspectWithRaw(ctx, serviceID, dswarm.ServiceInspectOptions{})
	if err != nil {
		return e.wrap(err)
	}
	spec := svc.Spec
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil {
		return errors.New("the service has no container spec")
	}
	switch kind {
	case KindConfig:
		refs := make([]*dswarm.ConfigReference, len(cs.Configs))
		for i, c := range cs.Configs {
			cp := *c
			if cp.ConfigID == from.id {
				cp.ConfigID, cp.ConfigName = to.id, to.name
			}
			refs[i] = &cp
		}
		cs.Configs = refs
	case KindSecret:
		refs := make([]*dswarm.SecretReference, len(cs.Secrets))
		for i, s := range cs.Secrets {
			cp := *s
			if cp.SecretID == from.id {
				cp.SecretID, cp.SecretName = to.id, to.name
			}
			refs[i] = &cp
		}
		cs.Secrets = refs
	}
	res, err := e.cli.ServiceUpdate(ctx, serviceID, svc.Version, spec, dswarm.ServiceUpdateOptions{})
	if err != nil {
		return e.wrap(err)
	}
	e.modelSaw(ctx, serviceID) // the service's page shows the new version's rollout at once
	for _, w := range res.Warnings {
		e.log.Warn("service update warning", "service", svc.Spec.Name, "warning", w)
	}
	return nil
}

// waitRollout follows a service's update until it completes, fails or ctx ends.
func (e *Engine) waitRollout(ctx context.Context, serviceID string) (state, message string) {
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		svc, _, err := e.cli.ServiceInspectWithRaw(ctx, serviceID, dswarm.ServiceInspectOptions{})
		if err != nil {
			return StepFailed, e.plainError(err)
		}
		if us := svc.UpdateStatus; us != nil {
			switch us.State {
			case dswarm.UpdateStateCompleted:
				return StepCompleted, us.Message
			case dswarm.UpdateStatePaused, dswarm.UpdateStateRollbackCompleted, dswarm.UpdateStateRollbackPaused:
				return StepFailed, fmt.Sprintf("rollout %s: %s", us.State, us.Message)
			}
		}
		select {
		case <-ctx.Done():
			return StepFailed, "gave up waiting for the rollout: " + ctx.Err().Error()
		case <-tick.C:
		}
	}
}
