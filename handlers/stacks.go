package handlers

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/stack"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// stackFileMost bounds each file a compose file names (a swarm config holds at most 500 KB).
const stackFileMost = 512 << 10

// stackRows lists the running stacks, with what Berth knows of those it deployed.
func (h *Handlers) stackRows(c echo.Context) ([]views.StackRow, error) {
	ctx := c.Request().Context()
	running, err := h.engine.Stacks(ctx)
	if err != nil {
		return nil, err
	}
	saved, err := h.store.Stacks(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]store.Stack{}
	for _, s := range saved {
		byName[s.Name] = s
	}
	var rows []views.StackRow
	for _, st := range running {
		r := views.StackRow{Name: st.Name, Services: len(st.Services), Running: st.Running, Desired: st.Desired}
		if s, ok := byName[st.Name]; ok {
			r.Berth, r.Owner, r.UpdatedAgo = true, s.UpdatedBy, views.Ago(s.UpdatedAt, time.Now())
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// StacksPage lists the stacks.
func (h *Handlers) StacksPage(c echo.Context) error {
	rows, err := h.stackRows(c)
	if err != nil {
		return err
	}
	p := h.page(c, "Stacks", "stacks")
	return h.render(c, http.StatusOK, p, views.StacksPage(p, rows, h.popNotice(c)))
}

// NewStackPage is the compose form.
func (h *Handlers) NewStackPage(c echo.Context) error {
	p := h.page(c, "Deploy a stack", "stacks")
	return h.render(c, http.StatusOK, p, views.StackNewPage(p, views.StackForm{}))
}

// stackInput reads the form: the compose text (typed or uploaded), the .env text and the files it names.
func stackInput(c echo.Context, name string) (stack.Input, views.FieldErrors) {
	in := stack.Input{Name: strings.TrimSpace(name), Compose: c.FormValue("compose"), Env: c.FormValue("env"), Files: map[string]string{}}
	errs := views.FieldErrors{}
	form, err := c.MultipartForm()
	if err != nil {
		return in, errs
	}
	read := func(fh *multipart.FileHeader) (string, bool) {
		if fh.Size > stackFileMost {
			errs.Add("files", fmt.Sprintf("%s is larger than %d KB.", fh.Filename, stackFileMost>>10))
			return "", false
		}
		f, err := fh.Open()
		if err != nil {
			errs.Add("files", "Could not read "+fh.Filename+".")
			return "", false
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, stackFileMost+1))
		return string(b), err == nil
	}
	if fhs := form.File["compose_file"]; len(fhs) > 0 && fhs[0].Size > 0 {
		if text, ok := read(fhs[0]); ok {
			in.Compose = text
		}
	}
	for _, fh := range form.File["files"] {
		if text, ok := read(fh); ok {
			in.Files[path.Clean(fh.Filename)] = text
		}
	}
	return in, errs
}

// CreateStack previews or deploys a new stack from the form.
func (h *Handlers) CreateStack(c echo.Context) error {
	in, errs := stackInput(c, c.FormValue("name"))
	return h.stackFormResult(c, in, false, errs, func(p views.Page, f views.StackForm) templ.Component { return views.StackNewPage(p, f) })
}

// UpdateStack previews or applies a new compose text for a stack.
func (h *Handlers) UpdateStack(c echo.Context) error {
	name := c.Param("name")
	if err := h.guardStack(c, "stack.update", name); err != nil {
		return err
	}
	if _, err := h.store.Stack(c.Request().Context(), name); err != nil {
		return err
	}
	in, errs := stackInput(c, name)
	return h.stackFormResult(c, in, true, errs, func(p views.Page, f views.StackForm) templ.Component {
		d, err := h.stackDetail(c, name)
		if err != nil {
			return views.StackNewPage(p, f)
		}
		d.Form = f
		return views.StackPage(p, d)
	})
}

// stackFormResult plans the stack and shows the preview, the refusals, or (deploying) the stack's page.
func (h *Handlers) stackFormResult(c echo.Context, in stack.Input, update bool, errs views.FieldErrors, page func(views.Page, views.StackForm) templ.Component) error {
	f := views.StackForm{Name: in.Name, Compose: in.Compose, Env: in.Env, Update: update, Errors: errs}
	if !errs.Any() {
		ch, planErrs, err := h.planStack(c, in, update)
		if err != nil {
			return err
		}
		f.Errors = planErrs
		if ch != nil {
			f.Preview = &ch.Preview
		}
		if !planErrs.Any() && c.FormValue("step") == "deploy" {
			applyErrs, err := h.applyStack(c, ch)
			if err == nil && !applyErrs.Any() {
				verb := "Deployed"
				if update {
					verb = "Updated"
				}
				return h.redirectNotice(c, "/stacks/"+in.Name, fmt.Sprintf("%s stack %s: %s.", verb, in.Name, ch.Preview.Summary()))
			}
			f.Errors = applyErrs
			if err != nil {
				f.Errors = views.FieldErrors{"compose": err.Error()}
			}
		}
	}
	status := http.StatusOK
	if f.Errors.Any() {
		status = http.StatusUnprocessableEntity
		if !update {
			h.audit(c, "stack.create", "stack:"+in.Name, "denied: "+f.Errors.String(), "")
		}
	}
	p := h.page(c, "Stack "+in.Name, "stacks")
	return h.render(c, status, p, page(p, f))
}

// stackState is a stack as the swarm runs it and as Berth recorded it (nil when Berth
// did not deploy it); a stack is not found when neither knows it.
func (h *Handlers) stackState(c echo.Context, name string) (swarm.StackSummary, *store.Stack, error) {
	ctx := c.Request().Context()
	st, err := h.engine.Stack(ctx, name)
	saved, serr := h.store.Stack(ctx, name)
	switch {
	case serr == nil:
		if err != nil && !errors.Is(err, swarm.ErrNotFound) {
			return st, nil, err
		}
		return st, &saved, nil
	case !errors.Is(serr, store.ErrNotFound):
		return st, nil, serr
	}
	return st, nil, err
}

// stackDetail builds a stack's page from the live model and Berth's record of it.
func (h *Handlers) stackDetail(c echo.Context, name string) (views.StackDetail, error) {
	st, saved, err := h.stackState(c, name)
	if err != nil {
		return views.StackDetail{}, err
	}
	d := views.StackDetail{Name: name, CanOperate: canOperate(c) && name != swarm.BerthStack}
	if saved != nil {
		d.Berth, d.Compose, d.Env, d.Owner, d.Revision = true, saved.Compose, saved.Env != "", saved.UpdatedBy, saved.Revision
		d.Updated = views.FormatTime(saved.UpdatedAt)
		d.Form = views.StackForm{Name: name, Compose: saved.Compose, Update: true}
	}
	now := time.Now()
	for _, s := range st.Services {
		d.Services = append(d.Services, views.ServiceRow{Name: s.Spec.Name, Image: s.Spec.Reference(), Running: s.Running, Desired: s.Desired,
			Health: health(s), Managed: s.Managed, HasWarn: len(s.Escapes) > 0, Ago: views.Ago(s.UpdatedAt, now)})
	}
	return d, nil
}

// StackPage shows one stack.
func (h *Handlers) StackPage(c echo.Context) error {
	d, err := h.stackDetail(c, c.Param("name"))
	if err != nil {
		return err
	}
	d.Notice = h.popNotice(c)
	p := h.page(c, "Stack "+d.Name, "stacks")
	return h.render(c, http.StatusOK, p, views.StackPage(p, d))
}

// StackEvents pushes the stack's services again whenever a service or task changes.
func (h *Handlers) StackEvents(c echo.Context) error {
	name := c.Param("name")
	return h.streamFragments(c, "stack", func(ch swarm.Change) bool { return ch.Kind == "service" || ch.Kind == "task" },
		func() (templ.Component, error) {
			d, err := h.stackDetail(c, name)
			return views.StackServices(d), err
		})
}

// RemoveStack removes a stack once its name is typed.
func (h *Handlers) RemoveStack(c echo.Context) error {
	name := c.Param("name")
	if err := h.guardStack(c, "stack.delete", name); err != nil {
		return err
	}
	if strings.TrimSpace(c.FormValue("confirm")) != name {
		d, err := h.stackDetail(c, name)
		if err != nil {
			return err
		}
		d.Form.Errors = views.FieldErrors{"confirm": "Type " + name + " to remove the stack."}
		p := h.page(c, "Stack "+name, "stacks")
		return h.render(c, http.StatusUnprocessableEntity, p, views.StackPage(p, d))
	}
	if err := h.removeStack(c, name, c.FormValue("volumes") == "true"); err != nil {
		return err
	}
	return h.redirectNotice(c, "/stacks", "Removed stack "+name+".")
}

// RedeployStack restarts every service of the stack with a fresh pull.
func (h *Handlers) RedeployStack(c echo.Context) error {
	name := c.Param("name")
	done, err := h.redeployStack(c, name, "", "")
	if err != nil {
		return err
	}
	return h.redirectNotice(c, "/stacks/"+name, fmt.Sprintf("Redeploying %d services of %s with a fresh pull; their state follows below.", len(done), name))
}
