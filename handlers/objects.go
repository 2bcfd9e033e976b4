package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// ObjectEngine lists, creates, removes and rotates configs and secrets.
type ObjectEngine interface {
	Objects(ctx context.Context, kind swarm.Kind) ([]swarm.Object, error)
	Object(ctx context.Context, kind swarm.Kind, name string) (swarm.Object, error)
	CreateObject(ctx context.Context, kind swarm.Kind, name string, data []byte, labels map[string]string) (string, error)
	RemoveObject(ctx context.Context, kind swarm.Kind, name string) (swarm.Object, error)
	Rotate(ctx context.Context, kind swarm.Kind, oldName string, data []byte, progress func(swarm.Rotation)) (swarm.Rotation, error)
}

// kindOf tells which object kind a configs or secrets route is for.
func kindOf(c echo.Context) swarm.Kind {
	if strings.HasPrefix(c.Path(), "/secrets") || strings.HasPrefix(c.Path(), "/api/v1/secrets") {
		return swarm.KindSecret
	}
	return swarm.KindConfig
}

func title(k swarm.Kind) string {
	if k == swarm.KindSecret {
		return "Secrets"
	}
	return "Configs"
}

func usageRows(us []swarm.Usage) []views.UsageRow {
	rows := make([]views.UsageRow, 0, len(us))
	for _, u := range us {
		r := views.UsageRow{Service: u.Service, Target: u.Target, ReadOnly: u.ReadOnly}
		if u.UID != "" || u.GID != "" {
			r.Owner = u.UID + ":" + u.GID
			r.Mode = fmt.Sprintf("%04o", u.Mode.Perm())
		}
		rows = append(rows, r)
	}
	return rows
}

func labelList(l map[string]string) []string {
	out := make([]string, 0, len(l))
	for k, v := range l {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func humanSize(n int64) string {
	switch {
	case n < 0:
		return "size unknown"
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
	}
	return fmt.Sprintf("%.2f GB", float64(n)/(1024*1024*1024))
}

func (h *Handlers) renderObjects(c echo.Context, status int, kind swarm.Kind, edit func(*views.Objects)) error {
	ctx := c.Request().Context()
	o := views.Objects{Kind: string(kind), CanEdit: canOperate(c), Notice: h.popNotice(c)}
	list, err := h.engine.Objects(ctx, kind)
	if err != nil {
		o.Error = "The engine's " + string(kind) + "s could not be listed: " + err.Error()
	}
	escrow := map[string]bool{}
	if kind == swarm.KindSecret {
		if escrow, err = h.store.EscrowedIDs(ctx); err != nil {
			return err
		}
	}
	for _, it := range list {
		o.Items = append(o.Items, views.ObjectRow{Name: it.Name, Size: humanSize(int64(it.Size)), Created: views.FormatTime(it.CreatedAt),
			Labels: labelList(it.Labels), UsedBy: usageRows(it.UsedBy), Managed: it.Managed(), Escrow: escrow[it.ID], Internal: swarm.InternalPurpose(it.Labels)})
	}
	if edit != nil {
		edit(&o)
	}
	p := h.page(c, title(kind), string(kind)+"s")
	return h.render(c, status, p, views.ObjectsPage(p, o))
}

// ObjectsPage lists configs or secrets.
func (h *Handlers) ObjectsPage(c echo.Context) error {
	return h.renderObjects(c, http.StatusOK, kindOf(c), nil)
}

// contentLimit is the engine's limit for a kind.
func contentLimit(kind swarm.Kind) int {
	if kind == swarm.KindSecret {
		return swarm.MaxSecretSize
	}
	return swarm.MaxConfigSize
}

// readContent takes the content from the uploaded file if one was chosen, else from the text area.
func readContent(c echo.Context, kind swarm.Kind) ([]byte, string) {
	limit := contentLimit(kind)
	// The body may hold the text area and a file; anything much larger is refused before it is read.
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, int64(3*limit+64*1024))
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		f, err := fh.Open()
		if err != nil {
			return nil, "The uploaded file could not be read."
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
		if err != nil {
			return nil, "The uploaded file could not be read."
		}
		return data, swarm.ValidateContent(kind, data)
	} else if err != nil && !errors.Is(err, http.ErrMissingFile) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fmt.Sprintf("The upload is far over the engine's limit of %d KB.", limit/1024)
		}
	}
	data := []byte(c.FormValue("content"))
	return data, swarm.ValidateContent(kind, data)
}

// CreateObject creates a config or secret from typed or uploaded content.
func (h *Handlers) CreateObject(c echo.Context) error {
	kind := kindOf(c)
	data, contentErr := readContent(c, kind)
	f := views.ObjectForm{Name: strings.TrimSpace(c.FormValue("name"))}
	if kind == swarm.KindConfig && utf8.Valid(data) && len(data) <= swarm.MaxConfigSize {
		f.Content = string(data)
	}
	f.Errors.Add("name", swarm.ValidateName(f.Name))
	f.Errors.Add("content", contentErr)
	if !f.Errors.Any() {
		if err := h.createObject(c, kind, f.Name, data); errors.Is(err, swarm.ErrExists) {
			f.Errors.Add("name", "A "+string(kind)+" with this name exists. Names are unique; use New version to change one.")
		} else if errors.Is(err, swarm.ErrRefused) {
			f.Errors.Add("name", err.Error())
		} else if err != nil {
			f.Errors.Add("form", err.Error())
		}
	}
	if f.Errors.Any() {
		return h.renderObjects(c, http.StatusUnprocessableEntity, kind, func(o *views.Objects) { o.Form, o.Error = f, f.Errors["form"] })
	}
	return h.redirectNotice(c, "/"+string(kind)+"s", fmt.Sprintf("Created %s %s.", kind, f.Name))
}

// createObject creates the object, keeps a sealed copy of a secret's value, and audits;
// if the copy cannot be kept, the secret is deleted again so no secret exists without one.
func (h *Handlers) createObject(c echo.Context, kind swarm.Kind, name string, data []byte) error {
	ctx := c.Request().Context()
	if err := h.guardObject(c, string(kind)+".create", kind, name); err != nil {
		return err
	}
	id, err := h.engine.CreateObject(ctx, kind, name, data, nil)
	if err != nil {
		if !errors.Is(err, swarm.ErrExists) {
			h.audit(c, string(kind)+".create", string(kind)+":"+name, "failed: "+err.Error(), "")
		}
		return err
	}
	if kind == swarm.KindSecret {
		if err := h.store.EscrowSecret(ctx, id, name, data, currentUser(c).Username); err != nil {
			if _, rmErr := h.engine.RemoveObject(ctx, kind, name); rmErr != nil {
				h.log.Error("secret left without escrow", "secret", name, "error", rmErr)
			}
			return err
		}
	}
	h.audit(c, string(kind)+".create", string(kind)+":"+name, "ok", fmt.Sprintf("%d bytes", len(data)))
	return nil
}

// ConfigPage shows a config's content.
func (h *Handlers) ConfigPage(c echo.Context) error {
	o, err := h.engine.Object(c.Request().Context(), swarm.KindConfig, c.Param("name"))
	if err != nil {
		return err
	}
	v := views.ConfigView{Name: o.Name, Size: humanSize(int64(o.Size)), Created: views.FormatTime(o.CreatedAt), Labels: labelList(o.Labels),
		UsedBy: usageRows(o.UsedBy), Content: string(o.Data), Binary: !utf8.Valid(o.Data),
		CanEdit: canOperate(c)}
	p := h.page(c, "Config "+o.Name, "configs")
	return h.render(c, http.StatusOK, p, views.ConfigPage(p, v))
}

// DeleteObject deletes a config or secret unless services use it.
func (h *Handlers) DeleteObject(c echo.Context) error {
	kind := kindOf(c)
	name := c.Param("name")
	if ok, err := h.askFirst(c, "Delete "+string(kind)+" "+name+"?", "/"+string(kind)+"s"); !ok {
		return err
	}
	if _, err := h.removeObject(c, kind, name); errors.Is(err, swarm.ErrNotFound) || errors.Is(err, swarm.ErrRefused) {
		return err
	} else if err != nil {
		return h.renderObjects(c, http.StatusConflict, kind, func(v *views.Objects) { v.Error = "Not deleted: " + err.Error() })
	}
	return h.redirectNotice(c, "/"+string(kind)+"s", fmt.Sprintf("Deleted %s %s.", kind, name))
}

// removeObject deletes the object (and a secret's sealed copy) and audits the outcome.
func (h *Handlers) removeObject(c echo.Context, kind swarm.Kind, name string) (swarm.Object, error) {
	if err := h.guardObject(c, string(kind)+".delete", kind, name); err != nil {
		return swarm.Object{}, err
	}
	o, err := h.engine.RemoveObject(c.Request().Context(), kind, name)
	if err != nil {
		if !errors.Is(err, swarm.ErrNotFound) {
			h.audit(c, string(kind)+".delete", string(kind)+":"+name, refusal(err), "")
		}
		return o, err
	}
	if kind == swarm.KindSecret {
		if err := h.store.DropEscrow(c.Request().Context(), o.ID); err != nil {
			return o, err
		}
	}
	h.audit(c, string(kind)+".delete", string(kind)+":"+name, "ok", "")
	return o, nil
}
