package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// APIService is a service in the API: the spec as deployed, plus its state.
type APIService struct {
	swarm.ServiceSpec
	ID    string          `json:"id"`
	State APIServiceState `json:"state"`
}

// APIServiceState is what the swarm is doing with a service.
type APIServiceState struct {
	Running       int       `json:"running"`
	Desired       int       `json:"desired"`
	UpdateStatus  string    `json:"update_status,omitempty"`
	UpdateMessage string    `json:"update_message,omitempty"`
	Owner         string    `json:"owner,omitempty"`
	Managed       bool      `json:"managed"`
	Warnings      []string  `json:"warnings,omitempty"`
	Version       uint64    `json:"version"`
	CreatedAt     string    `json:"created_at"`
	UpdatedAt     string    `json:"updated_at"`
	Tasks         []APITask `json:"tasks,omitempty"`
}

// APITask is one task of a service.
type APITask struct {
	ID           string `json:"id"`
	Node         string `json:"node"`
	State        string `json:"state"`
	DesiredState string `json:"desired_state"`
	Error        string `json:"error,omitempty"`
	Message      string `json:"message,omitempty"`
	Image        string `json:"image"`
	UpdatedAt    string `json:"updated_at"`
}

func apiService(s swarm.Service, withTasks bool) APIService {
	out := APIService{ServiceSpec: s.Spec, ID: s.ID, State: APIServiceState{
		Running: s.Running, Desired: s.Desired, UpdateStatus: s.UpdateState, UpdateMessage: s.UpdateMessage,
		Owner: s.Owner, Managed: s.Managed, Warnings: s.Warnings, Version: s.Version,
		CreatedAt: apiTime(s.CreatedAt), UpdatedAt: apiTime(s.UpdatedAt),
	}}
	if withTasks {
		for _, t := range s.Tasks {
			out.State.Tasks = append(out.State.Tasks, APITask{ID: t.ID, Node: t.Node, State: t.State, DesiredState: t.DesiredState,
				Error: t.Error, Message: t.Message, Image: t.Image, UpdatedAt: apiTime(t.UpdatedAt)})
		}
	}
	return out
}

// APIServices lists every service with its running and desired replicas.
func (h *Handlers) APIServices(c echo.Context) error {
	list, err := h.engine.Services(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]APIService, 0, len(list))
	for _, s := range list {
		out = append(out, apiService(s, false))
	}
	return c.JSON(http.StatusOK, out)
}

// APIService returns one service with its tasks.
func (h *Handlers) APIService(c echo.Context) error {
	s, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiService(s, true))
}

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
	for k, v := range kept {
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[k] = v
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

// APICreateService deploys a service.
func (h *Handlers) APICreateService(c echo.Context) error {
	var req serviceRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	svc, errs, err := h.deploy(c, "", req.ServiceSpec)
	if err != nil {
		return err
	}
	if errs.Any() {
		return fieldErrors(c, errs)
	}
	return c.JSON(http.StatusCreated, apiService(svc, true))
}

// APIReplaceService replaces a service's whole spec (PUT).
func (h *Handlers) APIReplaceService(c echo.Context) error {
	var req serviceRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	s := req.ServiceSpec
	if s.Name == "" {
		s.Name = c.Param("name")
	}
	if _, err := h.engine.Service(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	svc, errs, err := h.deploy(c, c.Param("name"), s)
	if err != nil {
		return err
	}
	if errs.Any() {
		return fieldErrors(c, errs)
	}
	return c.JSON(http.StatusOK, apiService(svc, true))
}

// servicePatch is a partial update: only the fields sent change; an env value of null removes the variable.
type servicePatch struct {
	Image    *string            `json:"image"`
	Tag      *string            `json:"tag"`
	Digest   *string            `json:"digest"`
	Env      map[string]*string `json:"env"`
	Replicas *uint64            `json:"replicas"`
	Command  *[]string          `json:"command"`
	Args     *[]string          `json:"args"`
	Secrets  *[]swarm.FileRef   `json:"secrets"`
	Configs  *[]swarm.FileRef   `json:"configs"`
	Volumes  *[]swarm.VolumeRef `json:"volumes"`
	Labels   *map[string]string `json:"labels"`
	Domains  *[]swarm.Domain    `json:"domains"`
}

// apply changes a spec by the patch.
func (p servicePatch) apply(s *swarm.ServiceSpec) {
	if p.Image != nil {
		s.Image = *p.Image
		if p.Tag == nil && p.Digest == nil && strings.ContainsAny(*p.Image, ":@") {
			s.Tag, s.Digest = "", "" // a full reference in image replaces the old tag
		}
	}
	if p.Tag != nil {
		s.Tag, s.Digest = *p.Tag, ""
	}
	if p.Digest != nil {
		s.Digest, s.Tag = *p.Digest, ""
	}
	for k, v := range p.Env {
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		if v == nil {
			delete(s.Env, k)
		} else {
			s.Env[k] = *v
		}
	}
	if p.Replicas != nil {
		s.Replicas = p.Replicas
	}
	if p.Command != nil {
		s.Command = *p.Command
	}
	if p.Args != nil {
		s.Args = *p.Args
	}
	if p.Secrets != nil {
		s.Secrets = *p.Secrets
	}
	if p.Configs != nil {
		s.Configs = *p.Configs
	}
	if p.Volumes != nil {
		s.Volumes = *p.Volumes
	}
	if p.Labels != nil {
		s.Labels = *p.Labels
	}
	if p.Domains != nil {
		s.Domains = *p.Domains
	}
}

// APIPatchService changes some fields of a service (PATCH).
func (h *Handlers) APIPatchService(c echo.Context) error {
	var p servicePatch
	if err := bindJSON(c, &p); err != nil {
		return err
	}
	cur, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	spec := cur.Spec
	p.apply(&spec)
	svc, errs, err := h.deploy(c, cur.Spec.Name, spec)
	if err != nil {
		return err
	}
	if errs.Any() {
		return fieldErrors(c, errs)
	}
	return c.JSON(http.StatusOK, apiService(svc, true))
}

// ownerCredential is the credential of the service's owner for its image (redeploys and webhooks pull with it).
func (h *Handlers) ownerCredential(c echo.Context, svc swarm.Service) (*swarm.Credential, error) {
	if svc.Owner == "" {
		return nil, nil
	}
	owner, err := h.store.UserByName(c.Request().Context(), svc.Owner)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return h.credentialFor(c, owner.ID, svc.Spec.Reference())
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

// APIRedeployService redeploys with a fresh pull; {"tag": "..."} switches the tag first.
func (h *Handlers) APIRedeployService(c echo.Context) error {
	var req struct {
		Tag string `json:"tag"`
	}
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	svc, err := h.redeploy(c, c.Param("name"), req.Tag)
	if fields, ok := swarm.IsSpecError(err); ok {
		return fieldErrors(c, fields)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, apiService(svc, true))
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
func (h *Handlers) APIDeleteService(c echo.Context) error {
	svc, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	if err := h.removeService(c, svc); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
