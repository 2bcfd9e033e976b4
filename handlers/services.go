package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/metrics"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// ServiceEngine reads services from the live model and changes them on the engine.
type ServiceEngine interface {
	Services(ctx context.Context) ([]swarm.Service, error)
	Service(ctx context.Context, nameOrID string) (swarm.Service, error)
	CreateService(ctx context.Context, s swarm.ServiceSpec, owner string, cred *swarm.Credential) (swarm.Service, error)
	UpdateService(ctx context.Context, name string, s swarm.ServiceSpec, owner string, cred *swarm.Credential) (swarm.Service, error)
	RedeployService(ctx context.Context, name, tag string, cred *swarm.Credential) (swarm.Service, error)
	ScaleService(ctx context.Context, name string, replicas uint64) (swarm.Service, error)
	RollbackService(ctx context.Context, name string) (swarm.Service, error)
	RemoveService(ctx context.Context, name string) error
	ServiceLogs(ctx context.Context, name, tail string, follow bool, fn func(swarm.LogLine) error) error
}

// health sums up a service's state in one word.
func health(s swarm.Service) string {
	switch {
	case s.UpdateState == "updating" || s.UpdateState == "rollback_started":
		return "updating"
	case s.UpdateState == "paused" || s.UpdateState == "rollback_paused":
		return "rollout paused"
	case s.Desired == 0:
		return "scaled to 0"
	case s.Running >= s.Desired:
		return "ok"
	case s.Running == 0:
		return "down"
	}
	return "degraded"
}

func modeText(s swarm.Service) string {
	if s.Spec.Mode == "global" {
		return "global"
	}
	return "replicated"
}

// staleNote says, when the live model is not current, how old the shown state is.
func (h *Handlers) staleNote() string {
	ready, at, msg := h.engine.ModelState()
	if ready {
		return ""
	}
	if at.IsZero() {
		return "The swarm's state is not known yet: " + msg
	}
	return fmt.Sprintf("Showing the state as of %s: %s", views.FormatTime(at), msg)
}

// serviceList builds the list's model from the live model's snapshot: the filter's page of services.
func (h *Handlers) serviceList(list []swarm.Service, f serviceFilter, stale string, now time.Time) views.ServiceList {
	shown, matched, stacks, nodes := filterServices(list, f)
	if pages := max(1, (matched+servicesPerPage-1)/servicesPerPage); f.Page > pages {
		f.Page = pages // a page past the end (the list shrank) shows the last one
		shown, matched, stacks, nodes = filterServices(list, f)
	}
	l := views.ServiceList{Filter: f.Q, Stack: f.Stack, State: f.State, Node: f.Node, Stacks: stacks, Nodes: nodes,
		Query: f.query(f.Page), Stale: stale, Total: len(list), Matched: matched, Page: f.Page,
		Pages: max(1, (matched+servicesPerPage-1)/servicesPerPage), First: (f.Page-1)*servicesPerPage + 1}
	if f.Page > 1 {
		l.PrevQuery = f.query(f.Page - 1)
	}
	if f.Page < l.Pages {
		l.NextQuery = f.query(f.Page + 1)
	}
	var use map[string]metrics.Use
	if h.cfg.Resources != nil {
		use = h.cfg.Resources.Latest().Services
	}
	for _, s := range shown {
		r := views.ServiceRow{Name: s.Spec.Name, Image: s.Spec.Reference(), Mode: modeText(*s), Running: s.Running,
			Desired: s.Desired, Health: health(*s), Updated: views.FormatTime(s.UpdatedAt), Ago: views.Ago(s.UpdatedAt, now), Managed: s.Managed, HasWarn: len(s.Warnings) > 0,
			Domains: h.domainTags(s.Spec.Domains)}
		if u, ok := use[s.Spec.Name]; ok {
			r.CPU, r.Memory = views.Cores(u.CPU), views.Bytes(u.Memory)
		}
		if ic, ok := h.lastImageCheck(context.Background(), *s); ok && ic.UpdateAvailable() {
			r.NewImage = ic.Latest
		}
		l.Rows = append(l.Rows, r)
	}
	return l
}

// ServicesPage lists the services, filtered and a page at a time.
func (h *Handlers) ServicesPage(c echo.Context) error {
	l, table, err := h.renderedServiceList(c.Request().Context(), parseServiceFilter(c))
	if err != nil {
		return err
	}
	p := h.page(c, "Services", "services")
	return h.render(c, http.StatusOK, p, views.ServicesPage(p, l, table))
}

// ServicesEvents pushes the list's page again whenever a service or task changes, or new figures are collected.
func (h *Handlers) ServicesEvents(c echo.Context) error {
	f := parseServiceFilter(c)
	return h.streamFragments(c, "services", func(ch swarm.Change) bool { return ch.Kind == "service" || ch.Kind == "task" || ch.Kind == "resources" },
		func() (templ.Component, error) {
			_, table, err := h.renderedServiceList(c.Request().Context(), f)
			return table, err
		})
}

// serviceDetail builds the service page's model.
func (h *Handlers) serviceDetail(c echo.Context, name string) (views.ServiceDetail, error) {
	s, err := h.engine.Service(c.Request().Context(), name)
	if err != nil {
		return views.ServiceDetail{}, err
	}
	spec, _ := json.MarshalIndent(s.Spec, "", "  ")
	d := views.ServiceDetail{Name: s.Spec.Name, ID: s.ID, Image: s.Spec.Reference(), Mode: modeText(s), Running: s.Running, Desired: s.Desired,
		Owner: s.Owner, Managed: s.Managed, Warnings: s.Warnings, Update: s.UpdateState, UpdateMsg: s.UpdateMessage, SpecJSON: string(spec),
		Global: s.Spec.Mode == "global", Domains: h.domainTags(s.Spec.Domains), Reserved: s.Reserved}
	if u := currentUser(c); u != nil {
		// The same rule as the boundary's: Berth's own services for nobody, a spec Berth would refuse for admins only.
		d.CanOperate = canOperate(c) && s.Reserved == "" && (len(s.Escapes) == 0 || u.Role == store.RoleAdmin)
	}
	d.ImageCheck = h.imageCheckView(c.Request().Context(), s)
	for _, t := range s.Tasks {
		d.Tasks = append(d.Tasks, views.TaskRow{ID: t.ID, Node: t.Node, State: t.State, Desired: t.DesiredState, Error: t.Error,
			Message: t.Message, Image: t.Image, Updated: views.FormatTime(t.UpdatedAt), Ago: views.Ago(t.UpdatedAt, time.Now()), Container: t.ContainerID})
	}
	return d, nil
}

func (h *Handlers) renderService(c echo.Context, status int, name string, edit func(*views.ServiceDetail)) error {
	d, err := h.serviceDetail(c, name)
	if err != nil {
		return err
	}
	d.Notice = h.popNotice(c)
	if d.Usage, err = h.serviceUsage(c.Request().Context(), d.Name, rangeOf(c)); err != nil {
		return err
	}
	if edit != nil {
		edit(&d)
	}
	p := h.page(c, "Service "+d.Name, "services")
	return h.render(c, status, p, views.ServicePage(p, d))
}

// ServicePage shows one service.
func (h *Handlers) ServicePage(c echo.Context) error {
	return h.renderService(c, http.StatusOK, c.Param("name"), nil)
}

// ServiceEvents pushes the service's state again whenever it or its tasks change, and
// its graphs (over ?range=) after every collection.
func (h *Handlers) ServiceEvents(c echo.Context) error {
	s, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	rg := rangeOf(c)
	return h.streamParts(c, fragmentSource{event: "service", relevant: func(ch swarm.Change) bool { return ch.ServiceID == s.ID },
		render: func() (templ.Component, error) {
			d, err := h.serviceDetail(c, s.ID)
			return views.ServiceState(d), err
		}}, fragmentSource{event: "usage", relevant: func(ch swarm.Change) bool { return ch.Kind == "resources" },
		render: func() (templ.Component, error) {
			u, err := h.serviceUsage(c.Request().Context(), s.Spec.Name, rg)
			return views.ServiceUsageBody(u), err
		}})
}

// actionResult re-renders the service page after an action, with the outcome.
func (h *Handlers) actionResult(c echo.Context, name, notice string, err error) error {
	if errors.Is(err, swarm.ErrNotFound) || errors.Is(err, swarm.ErrRefused) {
		return err
	}
	if err != nil {
		msg := err.Error()
		if fields, ok := swarm.IsSpecError(err); ok {
			msg = views.FieldErrors(fields).String()
		}
		return h.renderService(c, http.StatusUnprocessableEntity, name, func(d *views.ServiceDetail) { d.Error = msg })
	}
	return h.redirectNotice(c, "/services/"+name, notice)
}

// ScaleService sets the replica count.
func (h *Handlers) ScaleService(c echo.Context) error {
	name := c.Param("name")
	n, err := strconv.ParseUint(strings.TrimSpace(c.FormValue("replicas")), 10, 64)
	if err != nil {
		return h.actionResult(c, name, "", &swarm.SpecError{Fields: map[string]string{"replicas": fmt.Sprintf("Enter a whole number from 0 to %d.", swarm.MaxReplicas)}})
	}
	if err := h.guardService(c, "service.scale", name); err != nil {
		return err
	}
	_, err = h.engine.ScaleService(c.Request().Context(), name, n)
	h.audit(c, "service.scale", "service:"+name, outcomeOf(err), fmt.Sprintf("%d replicas", n))
	return h.actionResult(c, name, fmt.Sprintf("Scaling %s to %d; the tasks below follow the swarm.", name, n), err)
}

// RedeployService restarts the tasks with a fresh pull under the owner's credential.
func (h *Handlers) RedeployService(c echo.Context) error {
	name := c.Param("name")
	_, err := h.redeploy(c, name, "")
	return h.actionResult(c, name, "Redeploying "+name+" with a fresh pull.", err)
}

// RollbackService returns the service to its previous spec.
func (h *Handlers) RollbackService(c echo.Context) error {
	name := c.Param("name")
	if err := h.guardService(c, "service.rollback", name); err != nil {
		return err
	}
	if ok, err := h.askFirst(c, "Return "+name+" to its previous spec?", "/services/"+name); !ok {
		return err
	}
	_, err := h.engine.RollbackService(c.Request().Context(), name)
	h.audit(c, "service.rollback", "service:"+name, outcomeOf(err), "")
	return h.actionResult(c, name, "Rolling "+name+" back to its previous spec.", err)
}

// DeleteService removes a service once its name is typed to confirm.
func (h *Handlers) DeleteService(c echo.Context) error {
	name := c.Param("name")
	s, err := h.engine.Service(c.Request().Context(), name)
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != s.Spec.Name {
		return h.renderService(c, http.StatusUnprocessableEntity, name, func(d *views.ServiceDetail) {
			d.Error = "Not deleted: type the service's name, " + s.Spec.Name + ", to confirm."
		})
	}
	if err := h.removeService(c, s); err != nil {
		return h.actionResult(c, name, "", err)
	}
	return h.redirectNotice(c, "/services", "Deleted service "+name+".")
}

// ServiceLogsPage shows the tail of a service's logs, or downloads them.
func (h *Handlers) ServiceLogsPage(c echo.Context) error {
	name := c.Param("name")
	tail := c.QueryParam("tail")
	if tail != "all" {
		n, err := strconv.Atoi(tail)
		if err != nil || n < 1 || n > 100000 {
			tail = "200"
		}
	}
	s, err := h.engine.Service(c.Request().Context(), name)
	if err != nil {
		return err
	}
	nodes := map[string]string{}
	for _, t := range s.Tasks {
		nodes[t.ID] = t.Node
	}
	if c.QueryParam("download") != "" {
		res := c.Response()
		res.Header().Set("Content-Type", "text/plain; charset=utf-8")
		res.Header().Set("Content-Disposition", `attachment; filename="`+s.Spec.Name+`.log"`)
		res.WriteHeader(http.StatusOK)
		return h.engine.ServiceLogs(c.Request().Context(), s.ID, tail, false, func(l swarm.LogLine) error {
			v := logLineView(l, nodes)
			_, err := fmt.Fprintf(res, "%s %s %s %s\n", l.Time.UTC().Format("2006-01-02T15:04:05.000Z"), v.Task, v.Stream, v.Text)
			return err
		})
	}
	var lines []views.LogLine
	err = h.engine.ServiceLogs(c.Request().Context(), s.ID, tail, false, func(l swarm.LogLine) error {
		lines = append(lines, logLineView(l, nodes))
		return nil
	})
	if err != nil {
		return err
	}
	p := h.page(c, "Logs of "+s.Spec.Name, "services")
	return h.render(c, http.StatusOK, p, views.LogsPage(p, s.Spec.Name, tail, lines))
}

// logLineView turns an engine log line into the page's form of it.
func logLineView(l swarm.LogLine, nodes map[string]string) views.LogLine {
	stream := "stdout"
	if l.Stderr {
		stream = "stderr"
	}
	return views.LogLine{Time: l.Time.UTC().Format("15:04:05.000"), Task: shortTask(l.TaskID) + "@" + nodes[l.TaskID], Stream: stream, Text: l.Text}
}

// FollowLogs streams a service's new log lines as server-sent events until the browser leaves.
func (h *Handlers) FollowLogs(c echo.Context) error {
	s, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	nodes := map[string]string{}
	for _, t := range s.Tasks {
		nodes[t.ID] = t.Node
	}
	res := startSSE(c)
	ctx := c.Request().Context()
	return h.engine.ServiceLogs(ctx, s.ID, "0", true, func(l swarm.LogLine) error {
		var buf bytes.Buffer
		if err := views.LogLineView(logLineView(l, nodes)).Render(ctx, &buf); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(res, "event: line\n%s\n", sseData(buf.String())); err != nil {
			return err
		}
		res.Flush()
		return nil
	})
}

func shortTask(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func outcomeOf(err error) string {
	if err != nil {
		return "failed: " + err.Error()
	}
	return "ok"
}
