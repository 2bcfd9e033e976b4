package handlers

import (
	"net/http"
	"time"

	"github.com/berthhq/berth/swarm/metrics"
	"github.com/labstack/echo/v4"
)

// Resources is what pages and the API read of the resource collection: its latest
// figures, and each task's over the last hour.
type Resources interface {
	Latest() metrics.Current
	TaskHistory(service string, from time.Time) []metrics.TaskPoint
}

// resourceRanges are the ranges a graph or the API can ask for, each with the step it is drawn in.
var resourceRanges = map[string]struct{ span, step time.Duration }{
	"1h": {time.Hour, 15 * time.Second}, "6h": {6 * time.Hour, time.Minute},
	"24h": {24 * time.Hour, 5 * time.Minute}, "7d": {7 * 24 * time.Hour, 30 * time.Minute},
}

// apiSample is one point of a resource graph.
type apiSample struct {
	T           string  `json:"t"`
	CPU         float64 `json:"cpu"`          // cores
	Memory      int64   `json:"memory_bytes"` // in use
	MemoryLimit int64   `json:"memory_limit_bytes,omitempty"`
	NetRx       float64 `json:"net_rx_bytes"` // per second
	NetTx       float64 `json:"net_tx_bytes"` // per second
}

// resourceHistory answers a series' samples over ?range= (1h, 6h, 24h or 7d).
func (h *Handlers) resourceHistory(c echo.Context, kind, name string) error {
	rg := c.QueryParam("range")
	if rg == "" {
		rg = "1h"
	}
	r, ok := resourceRanges[rg]
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "Choose range=1h, 6h, 24h or 7d.")
	}
	rows, err := h.store.ResourceSamples(c.Request().Context(), kind, name, r.step, time.Now().Add(-r.span))
	if err != nil {
		return err
	}
	out := make([]apiSample, 0, len(rows))
	for _, s := range rows {
		out = append(out, apiSample{T: apiTime(s.T), CPU: s.CPU, Memory: s.Memory, MemoryLimit: s.MemoryLimit, NetRx: s.NetRx, NetTx: s.NetTx})
	}
	return c.JSON(http.StatusOK, map[string]any{"samples": out, "step_s": int(r.step / time.Second)})
}

// APIServiceMetrics answers a service's resource use over a range.
func (h *Handlers) APIServiceMetrics(c echo.Context) error {
	svc, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return h.resourceHistory(c, "service", svc.Spec.Name)
}

// APINodeMetrics answers a node's resource use over a range (the node by id or hostname).
func (h *Handlers) APINodeMetrics(c echo.Context) error {
	nodes, err := h.engine.Nodes(c.Request().Context())
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.ID == c.Param("id") || n.Hostname == c.Param("id") {
			return h.resourceHistory(c, "node", n.Hostname)
		}
	}
	return echo.NewHTTPError(http.StatusNotFound, "No node "+c.Param("id")+".")
}

// withUse adds a service's latest CPU and memory to its API state, when collected.
func (h *Handlers) withUse(s *APIService) {
	if h.cfg.Resources == nil {
		return
	}
	if u, ok := h.cfg.Resources.Latest().Services[s.Name]; ok {
		s.State.CPU, s.State.MemoryBytes = &u.CPU, &u.Memory
	}
}
