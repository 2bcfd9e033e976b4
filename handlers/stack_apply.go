package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// StackEngine is what the stacks pages and API need from the engine.
type StackEngine interface {
	Stacks(ctx context.Context) ([]swarm.StackSummary, error)
	Stack(ctx context.Context, name string) (swarm.StackSummary, error)
	EnsureStackNetwork(ctx context.Context, name string, attachable bool, labels map[string]string) (bool, error)
	NetworkExists(ctx context.Context, name string) (bool, error)
	RemoveStackNetworks(ctx context.Context, stack string) ([]string, error)
	StackObjects(ctx context.Context, stack string) ([]swarm.Object, error)
	TasksHolding(ctx context.Context, kind swarm.Kind, name string) (int, error)
}

// guardStack refuses, audited, any change to Berth's own stack.
func (h *Handlers) guardStack(c echo.Context, action, name string) error {
	var err error
	if name == swarm.BerthStack {
		err = &swarm.Refusal{Kind: "stack", Name: name, Reason: "it is Berth itself"}
	}
	return h.denied(c, action, "stack:"+name, err)
}

// oldVersionWait bounds how long a replaced config or secret version is kept for its rollout.
const oldVersionWait = 10 * time.Minute

// applyStack carries out a planned deploy or update: networks, volume mappings,
// configs and secrets first, then the services (created, updated, or removed when the
// file no longer names them), then the stack's record; each step is audited.
func (h *Handlers) applyStack(c echo.Context, ch *stackChange) (views.FieldErrors, error) {
	ctx := c.Request().Context()
	name := ch.in.Name
	for _, n := range ch.networks {
		if _, err := h.engine.EnsureStackNetwork(ctx, n.Name, n.Attachable, n.Labels); err != nil {
			h.audit(c, "network.create", "network:"+n.Name, refusal(err), "stack "+name)
			return nil, err
		}
		h.audit(c, "network.create", "network:"+n.Name, "ok", "overlay, stack "+name)
	}
	for _, m := range ch.mappings {
		if err := h.createMapping(c, m, false); err != nil && !errors.Is(err, store.ErrMappingExists) {
			return nil, fmt.Errorf("volume mapping %s: %w", m, err)
		}
	}
	var replaced []plannedObject
	for _, o := range ch.objects {
		if !o.Create {
			continue
		}
		labels := map[string]string{contentLabel: o.Hash}
		for k, v := range o.Labels {
			labels[k] = v
		}
		action := string(o.Kind) + ".create"
		if _, err := h.engine.CreateObject(ctx, o.Kind, o.Name, o.Data, labels); err != nil {
			h.audit(c, action, string(o.Kind)+":"+o.Name, refusal(err), "stack "+name)
			return nil, err
		}
		h.audit(c, action, string(o.Kind)+":"+o.Name, "ok", "stack "+name+", from "+o.Source)
		if o.Old != "" {
			replaced = append(replaced, o)
		}
	}
	planned := map[string]bool{}
	for _, s := range ch.plan.Services {
		planned[s.Spec.Name] = true
	}
	if errs, err := h.deployStackServices(c, ch); err != nil || errs.Any() {
		return errs, err
	}
	for _, cur := range ch.current {
		if !planned[cur.Spec.Name] {
			if err := h.removeService(c, cur); err != nil {
				return nil, err
			}
		}
	}
	owner := currentUser(c)
	if err := h.store.SaveStack(ctx, name, ch.in.Compose, ch.in.Env, owner.ID, owner.Username); err != nil {
		return nil, err
	}
	action := "stack.create"
	if ch.update {
		action = "stack.update"
	}
	h.audit(c, action, "stack:"+name, "ok", ch.Preview.Summary())
	if len(replaced) > 0 {
		h.retireVersions(h.auditLater(c, "", ""), replaced)
	}
	return nil, nil
}

// stackDeployParallel is how many of a stack's services are created or updated at once.
const stackDeployParallel = 4

// deployStackServices creates or updates the stack's services, a few at a time (they
// do not depend on each other), each through the same deploy as the form's.
func (h *Handlers) deployStackServices(c echo.Context, ch *stackChange) (views.FieldErrors, error) {
	var mu sync.Mutex
	out := views.FieldErrors{}
	var firstErr error
	slots := make(chan struct{}, stackDeployParallel)
	var wg sync.WaitGroup
	for _, s := range ch.plan.Services {
		target := ""
		if _, ok := ch.current[s.Spec.Name]; ok {
			target = s.Spec.Name
		}
		labels := map[string]string{swarm.StackLabel: ch.in.Name, swarm.StackImageLabel: s.Spec.Reference()}
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			_, errs, err := h.deployWith(c, target, s.Spec, labels)
			mu.Lock()
			defer mu.Unlock()
			for field, msg := range errs {
				out.Add(s.Path(field), msg)
			}
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", s.Path("name"), err)
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

// retireVersions removes replaced config and secret versions, in the background, once
// the rollouts of the services that used them converged (all their tasks run the new
// spec) and no service uses them; a rollout that pauses or rolls back keeps the old one.
func (h *Handlers) retireVersions(who store.AuditRecord, old []plannedObject) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), oldVersionWait)
		defer cancel()
		for _, o := range old {
			r := who
			r.Action, r.Object = string(o.Kind)+".delete", string(o.Kind)+":"+o.Old
			if why := h.waitConverged(ctx, o); why != "" {
				r.Outcome, r.Detail = "failed: kept: "+why, "replaced by "+o.Name
				h.writeAudit(context.Background(), r)
				continue
			}
			_, err := h.removeWhenFree(ctx, swarm.Object{Kind: o.Kind, Name: o.Old})
			r.Outcome, r.Detail = outcomeOf(err), "replaced by "+o.Name+" once the rollout converged"
			h.writeAudit(context.Background(), r)
		}
	}()
}

// waitConverged waits until the rollouts of the services that used an old version are
// over and no task mounts it any more, and says why not ("" when they are).
func (h *Handlers) waitConverged(ctx context.Context, o plannedObject) string {
	for {
		done, why := true, ""
		for _, name := range o.Users {
			ok, reason := h.converged(ctx, name)
			done, why = done && ok, orText(why, reason)
		}
		if why != "" {
			return why
		}
		if done {
			held, err := h.engine.TasksHolding(ctx, o.Kind, o.Old)
			if err != nil {
				return err.Error()
			}
			if held == 0 {
				return ""
			}
		}
		select {
		case <-ctx.Done():
			return "the rollout away from " + o.Old + " did not converge in " + oldVersionWait.String()
		case <-time.After(time.Second):
		}
	}
}

// converged says whether a service's rollout is over with its tasks running, or why it never will be.
func (h *Handlers) converged(ctx context.Context, name string) (bool, string) {
	s, err := h.engine.Service(ctx, name)
	switch {
	case errors.Is(err, swarm.ErrNotFound):
		return true, "" // removed with the update: nothing holds the old version
	case err != nil:
		return false, err.Error()
	case s.UpdateState == "paused" || strings.HasPrefix(s.UpdateState, "rollback"):
		return false, "the rollout of " + name + " is " + strings.ReplaceAll(s.UpdateState, "_", " ")
	}
	return s.UpdateState != "updating" && s.Running >= s.Desired, ""
}

// removeStack removes a stack's services, then its configs, secrets and networks, and
// with volumes also its volume mappings (their data on the manager is lost).
func (h *Handlers) removeStack(c echo.Context, name string, volumes bool) error {
	ctx := c.Request().Context()
	if err := h.guardStack(c, "stack.delete", name); err != nil {
		return err
	}
	st, err := h.engine.Stack(ctx, name)
	if err != nil && !errors.Is(err, swarm.ErrNotFound) {
		return err
	}
	for _, s := range st.Services { // the boundary speaks for every service before any is removed
		if err := h.guardService(c, "stack.delete", s.Spec.Name); err != nil {
			return err
		}
	}
	var mappings []string
	for _, s := range st.Services {
		for _, v := range s.Spec.Volumes {
			mappings = append(mappings, v.Mapping)
		}
		if err := h.removeService(c, s); err != nil {
			return err
		}
	}
	objects, err := h.engine.StackObjects(ctx, name)
	if err != nil {
		return err
	}
	for _, o := range objects {
		if err := h.guardObject(c, string(o.Kind)+".delete", o.Kind, o.Name); err != nil {
			return err
		}
		_, err := h.removeWhenFree(ctx, o)
		h.audit(c, string(o.Kind)+".delete", string(o.Kind)+":"+o.Name, outcomeOf(err), "stack "+name+" removed")
		if err != nil {
			return err
		}
	}
	nets, err := h.engine.RemoveStackNetworks(ctx, name)
	for _, n := range nets {
		h.audit(c, "network.delete", "network:"+n, "ok", "stack "+name+" removed")
	}
	if err != nil {
		return err
	}
	if volumes {
		for _, m := range mappings {
			if !strings.HasPrefix(m, name+"_") {
				continue // a mapping the stack only used (external) stays
			}
			if err := h.waitThen(ctx, func() error { return h.deleteMapping(c, m) }); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("volume mapping %s: %w", m, err)
			}
		}
	}
	if err := h.store.DeleteStack(ctx, name); err != nil {
		return err
	}
	detail := "volume mappings kept"
	if volumes {
		detail = "volume mappings removed"
	}
	h.audit(c, "stack.delete", "stack:"+name, "ok", fmt.Sprintf("%d services, %d configs and secrets, %d networks; %s", len(st.Services), len(objects), len(nets), detail))
	return nil
}

// removeWhenFree removes an object, waiting (up to a minute) while the removed services' tasks still hold it.
func (h *Handlers) removeWhenFree(ctx context.Context, o swarm.Object) (swarm.Object, error) {
	var out swarm.Object
	err := h.waitThen(ctx, func() error {
		var err error
		out, err = h.engine.RemoveObject(ctx, o.Kind, o.Name)
		return err
	})
	return out, err
}

// waitThen retries fn for a minute while it answers that something is still in use.
func (h *Handlers) waitThen(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := fn()
		var inUse *swarm.InUseError
		if !errors.As(err, &inUse) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
