package handlers

import (
	"fmt"
	"net/http"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/stack"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// stackRequest is a stack as POST and PUT take it.
type stackRequest struct {
	Name    string            `json:"name"`
	Compose string            `json:"compose"`
	Env     string            `json:"env,omitempty"`
	Files   map[string]string `json:"files,omitempty"`
}

// APIStack is a stack as the API shows it.
type APIStack struct {
	Name     string       `json:"name"`
	Berth    bool         `json:"deployed_by_berth"`
	Owner    string       `json:"owner,omitempty"`
	Revision int          `json:"revision,omitempty"`
	Services []APIService `json:"services"`
}

// APIStacks lists the stacks.
func (h *Handlers) APIStacks(c echo.Context) error {
	rows, err := h.stackRows(c)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, map[string]any{"name": r.Name, "services": r.Services, "running": r.Running, "desired": r.Desired, "deployed_by_berth": r.Berth})
	}
	return c.JSON(http.StatusOK, out)
}

// APIStack returns one stack with its services and their state.
func (h *Handlers) APIStack(c echo.Context) error {
	name := c.Param("name")
	st, saved, err := h.stackState(c, name)
	if err != nil {
		return err
	}
	out := APIStack{Name: name, Services: []APIService{}}
	if saved != nil {
		out.Berth, out.Owner, out.Revision = true, saved.UpdatedBy, saved.Revision
	}
	for _, s := range st.Services {
		out.Services = append(out.Services, apiService(s, true))
	}
	return c.JSON(http.StatusOK, out)
}

// APICreateStack deploys a stack (201), or with ?dry_run=true answers the preview.
func (h *Handlers) APICreateStack(c echo.Context) error {
	var req stackRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	return h.apiStackChange(c, stack.Input{Name: req.Name, Compose: req.Compose, Env: req.Env, Files: req.Files}, false)
}

// APIUpdateStack updates a stack from a new compose text (?dry_run=true: the preview only).
func (h *Handlers) APIUpdateStack(c echo.Context) error {
	var req stackRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	name := c.Param("name")
	if err := h.guardStack(c, "stack.update", name); err != nil {
		return err
	}
	if _, err := h.store.Stack(c.Request().Context(), name); err != nil {
		return err
	}
	return h.apiStackChange(c, stack.Input{Name: name, Compose: req.Compose, Env: req.Env, Files: req.Files}, true)
}

func (h *Handlers) apiStackChange(c echo.Context, in stack.Input, update bool) error {
	ch, errs, err := h.planStack(c, in, update)
	if err != nil {
		return err
	}
	if errs.Any() {
		if !update {
			h.audit(c, "stack.create", "stack:"+in.Name, "denied: "+errs.String(), "")
		}
		return fieldErrors(c, errs)
	}
	if c.QueryParam("dry_run") == "true" {
		return c.JSON(http.StatusOK, previewJSON(ch.Preview))
	}
	applyErrs, err := h.applyStack(c, ch)
	if err != nil {
		return err
	}
	if applyErrs.Any() {
		return fieldErrors(c, applyErrs)
	}
	status := http.StatusCreated
	if update {
		status = http.StatusOK
	}
	return c.JSON(status, previewJSON(ch.Preview))
}

func previewJSON(p views.StackPreview) map[string]any {
	warnings := p.Warnings
	if warnings == nil {
		warnings = []views.StackWarning{}
	}
	return map[string]any{"summary": p.Summary(), "services": orEmpty(p.Services), "objects": orEmpty(p.Objects),
		"networks": orEmpty(p.Networks), "volume_mappings": orEmpty(p.Mappings), "warnings": warnings}
}

func orEmpty(list []views.StackItem) []views.StackItem {
	if list == nil {
		return []views.StackItem{}
	}
	return list
}

// APIDeleteStack removes a stack (?volumes=true also deletes its volume mappings).
func (h *Handlers) APIDeleteStack(c echo.Context) error {
	if err := h.removeStack(c, c.Param("name"), c.QueryParam("volumes") == "true"); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// StackCompose downloads a stack (or, with ?service=, one service) as a compose file.
func (h *Handlers) StackCompose(c echo.Context) error {
	name := c.Param("name")
	st, err := h.engine.Stack(c.Request().Context(), name)
	if err != nil {
		return err
	}
	var specs []swarm.ServiceSpec
	for _, s := range st.Services {
		if want := c.QueryParam("service"); want == "" || want == s.Spec.Name {
			specs = append(specs, s.Spec)
		}
	}
	body, err := stack.Export(name, specs)
	if err != nil {
		return err
	}
	h.audit(c, "stack.export", "stack:"+name, "ok", fmt.Sprintf("%d services", len(specs)))
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`.yml"`)
	return c.Blob(http.StatusOK, "application/yaml", body)
}

// ServiceCompose downloads one service as a compose file.
func (h *Handlers) ServiceCompose(c echo.Context) error {
	svc, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	body, err := stack.Export(svc.Spec.Labels[swarm.StackLabel], []swarm.ServiceSpec{svc.Spec})
	if err != nil {
		return err
	}
	h.audit(c, "service.export", "service:"+svc.Spec.Name, "ok", "")
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+svc.Spec.Name+`.yml"`)
	return c.Blob(http.StatusOK, "application/yaml", body)
}

// APIRedeployStack restarts every service of the stack with a fresh pull ({"service", "tag"} switches one tag first).
func (h *Handlers) APIRedeployStack(c echo.Context) error {
	var req struct {
		Service string `json:"service"`
		Tag     string `json:"tag"`
	}
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	done, err := h.redeployStack(c, c.Param("name"), req.Service, req.Tag)
	if fields, ok := swarm.IsSpecError(err); ok {
		return fieldErrors(c, fields)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"stack": c.Param("name"), "update": "redeploy started", "services": done})
}
