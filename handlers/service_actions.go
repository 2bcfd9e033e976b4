package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// checkSpec validates a spec, including that its volume mappings exist in Berth.
func (h *Handlers) checkSpec(c echo.Context, s *swarm.ServiceSpec) (views.FieldErrors, error) {
	errs := views.FieldErrors(s.Validate())
	if len(s.Domains) > 0 && !errs.Any() {
		warnings, err := h.checkDNS(c.Request().Context(), s.Domains, &errs)
		if err != nil {
			return nil, err
		}
		c.Set(ctxDNSWarnings, warnings)
	}
	for i, v := range s.Volumes {
		if v.Mapping == "" {
			continue
		}
		if _, err := h.store.VolumeMapping(c.Request().Context(), v.Mapping); errors.Is(err, store.ErrNotFound) {
			errs.Add(fmt.Sprintf("volumes[%d].mapping", i), "There is no volume mapping named "+v.Mapping+": create it on the Volumes page.")
		} else if err != nil {
			return nil, err
		}
	}
	return errs, nil
}

// deploy validates a spec and creates (name == "") or replaces the service, pulling with the user's credential.
func (h *Handlers) deploy(c echo.Context, name string, s swarm.ServiceSpec) (swarm.Service, views.FieldErrors, error) {
	return h.deployWith(c, name, s, nil)
}

// deployWith is deploy with labels Berth itself sets once the spec passed (a stack's).
func (h *Handlers) deployWith(c echo.Context, name string, s swarm.ServiceSpec, berthLabels map[string]string) (swarm.Service, views.FieldErrors, error) {
	action := "service.create"
	var kept map[string]string
	if name != "" {
		action = "service.update"
		if err := h.guardService(c, action, name); err != nil {
			return swarm.Service{}, nil, err
		}
		cur, err := h.engine.Service(c.Request().Context(), name)
		if err != nil {
			return swarm.Service{}, nil, err
		}
		s.Labels = maps.Clone(s.Labels)
		kept = swarm.KeepLabels(&s, cur.Spec.Labels) // another tool's labels stay as they were
	}
	// The boundary speaks first, so a reference to Berth's own object is refused as such.
	refused, err := h.engine.CheckSpec(c.Request().Context(), s)
	if err != nil {
		return swarm.Service{}, nil, err
	}
	if len(refused) > 0 {
		h.audit(c, action, "service:"+s.Name, "denied: "+views.FieldErrors(refused).String(), "")
		return swarm.Service{}, refused, nil
	}
	errs, err := h.checkSpec(c, &s)
	if err != nil || errs.Any() {
		return swarm.Service{}, errs, err
	}
	for _, add := range []map[string]string{kept, berthLabels} {
		for k, v := range add {
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			s.Labels[k] = v
		}
	}
	u := currentUser(c)
	cred, err := h.credentialFor(c, u.ID, s.Reference())
	if err != nil {
		return swarm.Service{}, nil, err
	}
	var svc swarm.Service
	if name == "" {
		svc, err = h.engine.CreateService(c.Request().Context(), s, u.Username, cred)
	} else {
		svc, err = h.engine.UpdateService(c.Request().Context(), name, s, u.Username, cred)
	}
	if fields, ok := swarm.IsSpecError(err); ok {
		return swarm.Service{}, fields, nil
	}
	if err != nil {
		h.audit(c, action, "service:"+s.Name, "failed: "+err.Error(), s.Reference())
		return swarm.Service{}, nil, err
	}
	detail := s.Reference() + credentialNote(cred)
	if what, ok := c.Get(ctxDeployChange).(string); ok {
		action, detail = "service."+what, what+": "+domainList(s.Domains) // the domain editor changes only the domains
	}
	h.audit(c, action, "service:"+s.Name, "ok", detail)
	return svc, nil, nil
}

// ctxDeployChange names a deploy that changes one part of a spec ("domains"), for its audit record.
const ctxDeployChange = "berth.deploy_change"

// domainList writes a service's domain mappings for the audit log.
func domainList(ds []swarm.Domain) string {
	if len(ds) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%s%s -> port %d", d.Host, d.Path, d.Port))
	}
	return strings.Join(parts, ", ")
}

func credentialNote(c *swarm.Credential) string {
	if c == nil {
		return ", pulled anonymously"
	}
	return ", pulled with the credential for " + c.URL
}

// serviceRequest is a spec as POST and PUT take it; a GET answer's id and state may be sent back and are ignored.
type serviceRequest struct {
	swarm.ServiceSpec
	ID    string          `json:"id,omitempty"`
	State json.RawMessage `json:"state,omitempty"`
}

// ownerCredential is the credential of the service's owner for its image (redeploys and webhooks pull with it).
func (h *Handlers) ownerCredential(c echo.Context, svc swarm.Service) (*swarm.Credential, error) {
	return h.ownerCredentialIn(c.Request().Context(), svc)
}

// redeploy restarts a service's tasks with a fresh pull under its owner's credential, optionally with a new tag.
func (h *Handlers) redeploy(c echo.Context, name, tag string) (swarm.Service, error) {
	cur, err := h.engine.Service(c.Request().Context(), name)
	if err != nil {
		return cur, err
	}
	if err := h.guardService(c, "service.redeploy", cur.Spec.Name); err != nil {
		return cur, err
	}
	ref := cur.Spec.Reference()
	if tag != "" {
		ref = cur.Spec.Image + ":" + tag
	}
	if err := h.denied(c, "service.redeploy", "service:"+cur.Spec.Name, h.engine.CheckImage(c.Request().Context(), ref)); err != nil {
		return cur, err
	}
	cred, err := h.ownerCredential(c, cur)
	if err != nil {
		return cur, err
	}
	svc, err := h.engine.RedeployService(c.Request().Context(), cur.Spec.Name, tag, cred)
	detail := "fresh pull of " + cur.Spec.Reference()
	if tag != "" {
		detail = "tag " + tag + ", " + detail
	}
	if err != nil {
		h.audit(c, "service.redeploy", "service:"+cur.Spec.Name, "failed: "+err.Error(), detail)
		return svc, err
	}
	h.audit(c, "service.redeploy", "service:"+cur.Spec.Name, "ok", detail+credentialNote(cred))
	return svc, nil
}

// removeService deletes a service and its webhook, after the boundary's check, audited.
func (h *Handlers) removeService(c echo.Context, svc swarm.Service) error {
	if err := h.guardService(c, "service.delete", svc.Spec.Name); err != nil {
		return err
	}
	if err := h.engine.RemoveService(c.Request().Context(), svc.Spec.Name); err != nil {
		h.audit(c, "service.delete", "service:"+svc.Spec.Name, "failed: "+err.Error(), "")
		return err
	}
	if _, err := h.store.DeleteWebhook(c.Request().Context(), svc.ID); err != nil {
		return err
	}
	h.audit(c, "service.delete", "service:"+svc.Spec.Name, "ok", "")
	return nil
}

// APIDeleteService removes a service and its webhook.
