package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// NetworkEngine lists, creates and removes the swarm's networks.
type NetworkEngine interface {
	Networks(ctx context.Context) ([]swarm.NetworkInfo, error)
	CreateNetwork(ctx context.Context, s swarm.NetworkSpec) (swarm.NetworkInfo, error)
	RemoveNetwork(ctx context.Context, name string) error
}

// networksView builds the Networks page's model from the live model.
func (h *Handlers) networksView(c echo.Context) (views.NetworksView, error) {
	list, err := h.engine.Networks(c.Request().Context())
	if err != nil {
		return views.NetworksView{}, err
	}
	v := views.NetworksView{CanOperate: canOperate(c), Form: views.NetworkForm{Encrypted: true}}
	for _, n := range list {
		v.Rows = append(v.Rows, views.NetworkRow{Name: n.Name, Driver: n.Driver, Subnets: strings.Join(n.Subnets, ", "), Encrypted: n.Encrypted,
			Attachable: n.Attachable, Services: n.Services, Reserved: n.Reserved, Managed: n.Labels[swarm.ManagedLabel] == "true"})
	}
	return v, nil
}

func (h *Handlers) renderNetworks(c echo.Context, status int, edit func(*views.NetworksView)) error {
	v, err := h.networksView(c)
	if err != nil {
		return err
	}
	v.Notice = h.popNotice(c)
	if edit != nil {
		edit(&v)
	}
	p := h.page(c, "Networks", "networks")
	return h.render(c, status, p, views.NetworksPage(p, v))
}

// NetworksPage lists the swarm's networks.
func (h *Handlers) NetworksPage(c echo.Context) error {
	return h.renderNetworks(c, http.StatusOK, nil)
}

// NetworksEvents pushes the list again whenever a network or a service changes.
func (h *Handlers) NetworksEvents(c echo.Context) error {
	return h.streamFragments(c, "networks", func(ch swarm.Change) bool { return ch.Kind == "network" || ch.Kind == "service" },
		func() (templ.Component, error) {
			v, err := h.networksView(c)
			return views.NetworksTable(h.page(c, "Networks", "networks"), v), err
		})
}

// createNetwork creates an overlay network for the page and the API alike, audited.
func (h *Handlers) createNetwork(c echo.Context, s swarm.NetworkSpec) (swarm.NetworkInfo, error) {
	n, err := h.engine.CreateNetwork(c.Request().Context(), s)
	encrypted := s.Encrypted == nil || *s.Encrypted
	detail := "overlay, encrypted " + yesNo(encrypted) + ", attachable " + yesNo(s.Attachable)
	if s.Subnet != "" {
		detail += ", subnet " + s.Subnet
	}
	if _, invalid := swarm.IsSpecError(err); !invalid {
		h.audit(c, "network.create", "network:"+s.Name, outcomeOf(err), detail)
	}
	return n, err
}

// removeNetwork removes a network no service uses, for the page and the API alike, audited.
func (h *Handlers) removeNetwork(c echo.Context, name string) error {
	err := h.engine.RemoveNetwork(c.Request().Context(), name)
	switch {
	case errors.Is(err, swarm.ErrRefused):
		return h.denied(c, "network.delete", "network:"+name, err)
	case errors.Is(err, swarm.ErrNotFound):
		return err
	}
	h.audit(c, "network.delete", "network:"+name, refusal(err), "")
	return err
}

// CreateNetworkForm creates a network from the page's form.
func (h *Handlers) CreateNetworkForm(c echo.Context) error {
	encrypted := c.FormValue("encrypted") == "true"
	s := swarm.NetworkSpec{Name: strings.TrimSpace(c.FormValue("name")), Encrypted: &encrypted, Attachable: c.FormValue("attachable") == "true",
		Subnet: strings.TrimSpace(c.FormValue("subnet"))}
	_, err := h.createNetwork(c, s)
	if fields, ok := swarm.IsSpecError(err); ok {
		return h.renderNetworks(c, http.StatusUnprocessableEntity, func(v *views.NetworksView) {
			v.Form = views.NetworkForm{Name: s.Name, Subnet: s.Subnet, Encrypted: encrypted, Attachable: s.Attachable, Errors: fields}
		})
	}
	if err != nil {
		return err
	}
	return h.redirectNotice(c, "/networks", "Created the network "+s.Name+".")
}

// DeleteNetwork removes a network from the page; one in use is refused naming its services.
func (h *Handlers) DeleteNetwork(c echo.Context) error {
	name := c.Param("name")
	err := h.removeNetwork(c, name)
	var inUse *swarm.InUseError
	if errors.As(err, &inUse) {
		return h.renderNetworks(c, http.StatusConflict, func(v *views.NetworksView) { v.Error = "Not removed: " + err.Error() + "." })
	}
	if err != nil {
		return err
	}
	return h.redirectNotice(c, "/networks", "Removed the network "+name+".")
}

// apiNetwork is a network as the API shows it.
func apiNetwork(n swarm.NetworkInfo) map[string]any {
	out := map[string]any{"id": n.ID, "name": n.Name, "driver": n.Driver, "encrypted": n.Encrypted, "attachable": n.Attachable,
		"subnets": n.Subnets, "services": n.Services}
	if out["subnets"] == nil {
		out["subnets"] = []string{}
	}
	if out["services"] == nil {
		out["services"] = []string{}
	}
	if n.Reserved != "" {
		out["reserved"] = n.Reserved
	}
	return out
}

// APINetworks lists the swarm's networks.
func (h *Handlers) APINetworks(c echo.Context) error {
	list, err := h.engine.Networks(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, n := range list {
		out = append(out, apiNetwork(n))
	}
	return c.JSON(http.StatusOK, out)
}

// APICreateNetwork creates an overlay network (encrypted unless "encrypted": false).
func (h *Handlers) APICreateNetwork(c echo.Context) error {
	var s swarm.NetworkSpec
	if err := bindJSON(c, &s); err != nil {
		return err
	}
	n, err := h.createNetwork(c, s)
	if fields, ok := swarm.IsSpecError(err); ok {
		return fieldErrors(c, fields)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, apiNetwork(n))
}

// APIDeleteNetwork removes a network; 409 names the services using it.
func (h *Handlers) APIDeleteNetwork(c echo.Context) error {
	return deleted(c, h.removeNetwork(c, c.Param("name")))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
