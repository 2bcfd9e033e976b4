package handlers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/labstack/echo/v4"
)

// ImageUpdateEngine asks a registry what a tag points at, reads what tasks run, and pins a service to a digest.
type ImageUpdateEngine interface {
	TagDigest(ctx context.Context, tagged string, cred *swarm.Credential) (string, error)
	RunningDigests(ctx context.Context, s swarm.Service) ([]string, error)
	PinImage(ctx context.Context, name, digest string, cred *swarm.Credential) (swarm.Service, error)
	Announce(c swarm.Change) // tells open pages the services' list changed
}

// imageChecks keeps each service's last image check in memory for the pages (loaded from the store once).
type imageChecks struct {
	mu     sync.RWMutex
	byID   map[string]store.ImageCheck
	loaded bool
}

// imageCheckOf returns a service's last image check, if it had one.
func (h *Handlers) imageCheckOf(ctx context.Context, serviceID string) (store.ImageCheck, bool) {
	h.checks.mu.RLock()
	if h.checks.loaded {
		c, ok := h.checks.byID[serviceID]
		h.checks.mu.RUnlock()
		return c, ok
	}
	h.checks.mu.RUnlock()
	h.checks.mu.Lock()
	defer h.checks.mu.Unlock()
	if !h.checks.loaded {
		all, err := h.store.ImageChecks(ctx)
		if err != nil {
			h.log.Error("read image checks", "error", err)
			return store.ImageCheck{}, false
		}
		h.checks.byID, h.checks.loaded = all, true
	}
	c, ok := h.checks.byID[serviceID]
	return c, ok
}

func (h *Handlers) keepImageCheck(c store.ImageCheck) {
	h.checks.mu.Lock()
	defer h.checks.mu.Unlock()
	if h.checks.byID == nil {
		h.checks.byID = map[string]store.ImageCheck{}
	}
	h.checks.byID[c.ServiceID] = c
}

// ownerCredentialIn is the credential of the service's owner for its image (nil: none).
func (h *Handlers) ownerCredentialIn(ctx context.Context, svc swarm.Service) (*swarm.Credential, error) {
	if svc.Owner == "" {
		return nil, nil
	}
	owner, err := h.store.UserByName(ctx, svc.Owner)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return userCredential(ctx, h.store, owner.ID, svc.Spec.Reference())
}

// checkImage asks the registry, with the owner's credential, whether the service's tag
// points at another digest than its tasks run, and records the answer (never pulling).
func (h *Handlers) checkImage(ctx context.Context, s swarm.Service) (store.ImageCheck, error) {
	c := store.ImageCheck{ServiceID: s.ID, Service: s.Spec.Name, Tagged: s.Spec.TaggedImage(), CheckedAt: time.Now()}
	if c.Tagged == "" {
		return c, &swarm.SpecError{Fields: map[string]string{"image": "The service runs a digest, not a tag: there is nothing newer to look for."}}
	}
	cred, err := h.ownerCredentialIn(ctx, s)
	if err == nil {
		c.Running, err = h.engine.RunningDigests(ctx, s)
	}
	if err == nil {
		c.Latest, err = h.engine.TagDigest(ctx, c.Tagged, cred)
	}
	if err != nil {
		c.Error = err.Error()
	}
	saved, err := h.store.SaveImageCheck(ctx, c)
	if err != nil {
		return c, err
	}
	h.keepImageCheck(saved)
	return saved, nil
}

// checkAllImages checks every service that follows a tag (Berth's own excepted) and forgets the services that are gone.
func (h *Handlers) checkAllImages(ctx context.Context) {
	list, err := h.engine.Services(ctx)
	if err != nil {
		h.log.Warn("image checks: list services", "error", err)
		return
	}
	keep := map[string]bool{}
	for _, s := range list {
		if s.Reserved != "" || s.Spec.TaggedImage() == "" {
			continue
		}
		keep[s.ID] = true
		if c, err := h.checkImage(ctx, s); err != nil {
			h.log.Warn("image check", "service", s.Spec.Name, "error", err)
		} else if c.Error != "" {
			h.log.Info("image check failed", "service", s.Spec.Name, "reason", c.Error)
		}
	}
	if err := h.store.ForgetImageChecks(ctx, keep); err != nil {
		h.log.Warn("image checks: forget removed services", "error", err)
	}
	h.checks.mu.Lock()
	for id := range h.checks.byID {
		if !keep[id] {
			delete(h.checks.byID, id)
		}
	}
	h.checks.mu.Unlock()
	h.engine.Announce(swarm.Change{Kind: "service"})
}

// runImageChecks checks every service's tag a minute after start, then every Config.ImageCheckEvery (an hour unless set).
func (h *Handlers) runImageChecks(ctx context.Context) {
	every := h.cfg.ImageCheckEvery
	if every <= 0 {
		every = time.Hour
	}
	wait := min(time.Minute, every)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		h.checkAllImages(ctx)
		wait = every
	}
}

// checkImageNow checks one service on demand, for the page and the API alike.
func (h *Handlers) checkImageNow(c echo.Context, name string) (store.ImageCheck, error) {
	s, err := h.engine.Service(c.Request().Context(), name)
	if err != nil {
		return store.ImageCheck{}, err
	}
	if err := h.guardService(c, "service.image-check", s.Spec.Name); err != nil {
		return store.ImageCheck{}, err
	}
	check, err := h.checkImage(c.Request().Context(), s)
	if err == nil {
		h.engine.Announce(swarm.Change{Kind: "service"})
	}
	return check, err
}

// updateImage redeploys a service to the digest its tag points at now (as the last check found it), for the page and the API alike, audited.
func (h *Handlers) updateImage(c echo.Context, name string) (swarm.Service, error) {
	ctx := c.Request().Context()
	cur, err := h.engine.Service(ctx, name)
	if err != nil {
		return cur, err
	}
	if err := h.guardService(c, "service.image-update", cur.Spec.Name); err != nil {
		return cur, err
	}
	check, ok := h.lastImageCheck(ctx, cur)
	if !ok || !check.UpdateAvailable() {
		return cur, &swarm.SpecError{Fields: map[string]string{"image": "No newer image is known for " + cur.Spec.TaggedImage() + ": check again first."}}
	}
	pinned := cur.Spec.TaggedImage() + "@" + check.Latest
	if err := h.denied(c, "service.image-update", "service:"+cur.Spec.Name, h.engine.CheckImage(ctx, pinned)); err != nil {
		return cur, err
	}
	cred, err := h.ownerCredential(c, cur)
	if err != nil {
		return cur, err
	}
	svc, err := h.engine.PinImage(ctx, cur.Spec.Name, check.Latest, cred)
	detail := fmt.Sprintf("%s to %s%s", cur.Spec.TaggedImage(), check.Latest, credentialNote(cred))
	h.audit(c, "service.image-update", "service:"+cur.Spec.Name, outcomeOf(err), detail)
	if err != nil {
		return svc, err
	}
	check.Running = []string{check.Latest}
	if saved, err := h.store.SaveImageCheck(ctx, check); err == nil {
		h.keepImageCheck(saved)
	}
	return svc, nil
}
