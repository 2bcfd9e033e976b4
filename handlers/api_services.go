package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthhq/berth/swarm"
	"github.com/labstack/echo/v4"
)

// APIService is a service in the API: the spec as deployed, plus its state.
type APIService struct {
	swarm.ServiceSpec
	ID              string          `json:"id"`
	State           APIServiceState `json:"state"`
	UpdateAvailable *APIImageUpdate `json:"update_available,omitempty"`
}

// APIImageUpdate is a newer image the service's tag points at: its digest, and when Berth first saw the tag there.
type APIImageUpdate struct {
	Digest   string `json:"digest"`
	PushedAt string `json:"pushed_at"`
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
	CPU           *float64  `json:"cpu,omitempty"`          // cores, over the last collection (absent until collected)
	MemoryBytes   *int64    `json:"memory_bytes,omitempty"` // in use, summed over its tasks
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
	f := parseServiceFilter(c)
	f.PerPage = max(1, len(list)) // every match unless per_page asks for pages
	if v := c.QueryParam("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > apiServicesMost {
			return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("per_page is a whole number from 1 to %d.", apiServicesMost))
		}
		f.PerPage = n
	}
	shown, matched, _, _ := filterServices(list, f)
	out := make([]APIService, 0, len(shown))
	for _, s := range shown {
		a := apiService(*s, false)
		h.withUse(&a)
		h.withImageUpdate(c.Request().Context(), &a, *s)
		out = append(out, a)
	}
	c.Response().Header().Set("X-Total-Count", strconv.Itoa(matched))
	if f.Page*f.size() < matched {
		next := *c.Request().URL
		q := next.Query()
		q.Set("page", strconv.Itoa(f.Page+1))
		next.RawQuery = q.Encode()
		c.Response().Header().Set("Link", "<"+next.RequestURI()+`>; rel="next"`)
	}
	return c.JSON(http.StatusOK, out)
}

// apiServicesMost bounds a page of the services API.
const apiServicesMost = 1000

// APIService returns one service with its tasks.
func (h *Handlers) APIService(c echo.Context) error {
	s, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	a := apiService(s, true)
	h.withUse(&a)
	h.withImageUpdate(c.Request().Context(), &a, s)
	return c.JSON(http.StatusOK, a)
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
