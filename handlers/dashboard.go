package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// StatusEngine is what the dashboard and every page's banner need: the engine's state.
type StatusEngine interface {
	Cached() swarm.Status
	Current() swarm.Status
	Refresh(ctx context.Context) swarm.Status
	Initialize(ctx context.Context, advertiseAddr string) error
}

// dashboardModel shows the engine's state as last checked (every 3 s) with the live model's counts.
func (h *Handlers) dashboardModel(c echo.Context) views.Dashboard {
	st := h.engine.Current()
	u := currentUser(c)
	return views.Dashboard{
		Reachable: st.Reachable, Error: st.Error, EngineVersion: st.EngineVersion, APIVersion: st.APIVersion,
		SwarmState: st.SwarmState, IsManager: st.IsManager, NodeName: st.NodeName, NodeAddr: st.NodeAddr,
		Nodes: st.Nodes, Managers: st.Managers, Services: st.Services, Tasks: st.Tasks, RunningTasks: st.RunningTasks,
		HasNetwork: st.HasNetwork, CanInitialize: u != nil && u.Role == store.RoleAdmin,
		Init: views.InitForm{AdvertiseAddr: swarm.SuggestAdvertiseAddr()},
	}
}

// Dashboard is the home page: the engine and swarm at a glance.
func (h *Handlers) Dashboard(c echo.Context) error {
	d := h.dashboardModel(c)
	p := h.page(c, "Dashboard", "dashboard")
	return h.render(c, http.StatusOK, p, views.DashboardPage(p, d))
}

// DashboardStatus is the dashboard's self-refreshing part.
func (h *Handlers) DashboardStatus(c echo.Context) error {
	return fragment(c, http.StatusOK, views.DashboardStatus(h.dashboardModel(c)))
}

// DashboardEvents pushes the dashboard's status again whenever the swarm changes.
func (h *Handlers) DashboardEvents(c echo.Context) error {
	return h.streamFragments(c, "status", func(ch swarm.Change) bool { return ch.Kind != "volume" },
		func() (templ.Component, error) { return views.DashboardStatus(h.dashboardModel(c)), nil })
}

// EngineBanner is the layout's banner, polled so it clears when the engine returns.
func (h *Handlers) EngineBanner(c echo.Context) error {
	st := h.engine.Cached()
	return fragment(c, http.StatusOK, views.EngineBannerView(views.EngineBanner{Reachable: st.Reachable, Error: st.Error, Locked: st.SwarmState == "locked"}))
}

// InitializeEnvironment turns the engine into a swarm manager with Berth's encrypted overlay network.
func (h *Handlers) InitializeEnvironment(c echo.Context) error {
	addr := strings.TrimSpace(c.FormValue("advertise_addr"))
	var form views.InitForm
	form.AdvertiseAddr = addr
	form.Errors.Add("advertise_addr", swarm.ValidateAdvertiseAddr(addr))
	status := http.StatusOK
	if !form.Errors.Any() {
		if err := h.engine.Initialize(c.Request().Context(), addr); err != nil {
			form.Errors.Add("form", err.Error())
			h.audit(c, "environment.initialize", "swarm", "failed: "+err.Error(), "advertise address "+addr)
		} else {
			h.audit(c, "environment.initialize", "swarm", "ok", "advertise address "+addr+"; network "+swarm.DefaultNetwork)
		}
		h.engine.Refresh(c.Request().Context()) // the page after the action shows the new state

	}
	if form.Errors.Any() {
		status = http.StatusUnprocessableEntity
	}
	if !isHTMX(c) && status == http.StatusOK {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	d := h.dashboardModel(c)
	if form.Errors.Any() {
		d.Init = form
	}
	if isHTMX(c) {
		return fragment(c, status, views.DashboardStatus(d))
	}
	p := h.page(c, "Dashboard", "dashboard")
	return h.render(c, status, p, views.DashboardPage(p, d))
}
