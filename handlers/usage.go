package handlers

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/metrics"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// rangeOf reads ?range= as one of the graphs' ranges (1h unless another is asked for).
func rangeOf(c echo.Context) string {
	if _, ok := resourceRanges[c.QueryParam("range")]; ok {
		return c.QueryParam("range")
	}
	return "1h"
}

// serviceUsage builds a service's graphs over a range and its tasks' figures now.
func (h *Handlers) serviceUsage(ctx context.Context, name, rg string) (views.ServiceUsage, error) {
	u := views.ServiceUsage{Path: "/services/" + name, Where: "Node", Range: rg, Ranges: []string{"1h", "6h", "24h", "7d"}}
	if h.cfg.Resources == nil {
		return u, nil
	}
	u.On = true
	r := resourceRanges[rg]
	now := time.Now()
	rows, err := h.store.ResourceSamples(ctx, "service", name, r.step, now.Add(-r.span))
	if err != nil {
		return u, err
	}
	latest := h.cfg.Resources.Latest()
	detail := map[int64][]string{}
	if rg == "1h" { // each task's figures are kept in memory for the last hour
		for _, p := range h.cfg.Resources.TaskHistory(name, now.Add(-r.span)) {
			detail[p.T.Unix()] = append(detail[p.T.Unix()], fmt.Sprintf("task %s on %s: %s, %s", shortTask(p.Task), p.Node, views.Cores(p.CPU), views.Bytes(p.Memory)))
		}
	}
	u.Graphs = usageGraphs(rows, now.Add(-r.span), now, r.step, detail)
	addTasksNow(&u, latest, func(t metrics.TaskUse) (string, bool) { return t.Node, t.Service == name })
	return u, nil
}

// addTasksNow lists the tasks' figures now that pick keeps (with what names where each
// runs: its node or its service), and when they were read.
func addTasksNow(u *views.ServiceUsage, latest metrics.Current, pick func(metrics.TaskUse) (string, bool)) {
	for _, t := range latest.Tasks {
		if where, ok := pick(t); ok {
			u.Tasks = append(u.Tasks, views.TaskUseRow{Task: shortTask(t.Task), Node: where, CPU: views.Cores(t.CPU), Memory: views.Bytes(t.Memory),
				Net: views.Rate(t.NetRx) + " in, " + views.Rate(t.NetTx) + " out"})
		}
	}
	sort.Slice(u.Tasks, func(i, j int) bool { return u.Tasks[i].Node+u.Tasks[i].Task < u.Tasks[j].Node+u.Tasks[j].Task })
	if !latest.At.IsZero() {
		u.At = views.FormatTime(latest.At)
	}
}

// usageGraphs draws a series' CPU, memory (against its limit) and network graphs.
func usageGraphs(rows []store.ResourceSample, from, to time.Time, step time.Duration, detail map[int64][]string) []views.Graph {
	var cpu, mem, rx, tx []views.GraphPoint
	var limit int64
	for _, s := range rows {
		cpu = append(cpu, views.GraphPoint{T: s.T, V: s.CPU})
		mem = append(mem, views.GraphPoint{T: s.T, V: float64(s.Memory)})
		rx, tx = append(rx, views.GraphPoint{T: s.T, V: s.NetRx}), append(tx, views.GraphPoint{T: s.T, V: s.NetTx})
		limit = s.MemoryLimit
	}
	g := func(id, title string, format func(float64) string, series ...views.GraphSeries) views.Graph {
		return views.Graph{ID: id, Title: title, From: from, To: to, Step: step, Series: series, Format: format, Detail: detail}
	}
	graphs := []views.Graph{
		g("graph-cpu", "CPU", views.Cores, views.GraphSeries{Name: "CPU", Class: "graph-cpu", Points: cpu}),
		g("graph-memory", "Memory", views.BytesOf, views.GraphSeries{Name: "Memory", Class: "graph-mem", Points: mem}),
		g("graph-network", "Network", views.Rate, views.GraphSeries{Name: "In", Class: "graph-rx", Points: rx}, views.GraphSeries{Name: "Out", Class: "graph-tx", Points: tx}),
	}
	if n := len(rows); n > 0 {
		last := rows[n-1]
		graphs[0].Now = views.Cores(last.CPU)
		graphs[1].Now, graphs[1].Limit = views.Bytes(last.Memory), float64(limit)
		if limit > 0 {
			graphs[1].Now += " of " + views.Bytes(limit) + " (limit)"
		}
		graphs[2].Now = views.Rate(last.NetRx) + " in, " + views.Rate(last.NetTx) + " out"
	}
	return graphs
}

// topRow ranks one service.
func (h *Handlers) topRows(ctx context.Context, by string) ([]views.TopRow, string, error) {
	services, err := h.engine.Services(ctx)
	if err != nil {
		return nil, "", err
	}
	latest := h.cfg.Resources.Latest()
	var rows []views.TopRow
	for _, s := range services {
		u, ok := latest.Services[s.Spec.Name]
		if !ok {
			continue
		}
		r := views.TopRow{Name: s.Spec.Name, Stack: s.Spec.Labels[stackLabel], CPUv: u.CPU, Memv: u.Memory, CPU: views.Cores(u.CPU), Memory: views.Bytes(u.Memory),
			Net: views.Rate(u.NetRx) + " in, " + views.Rate(u.NetTx) + " out", Tasks: s.Running}
		if u.MemoryLimit > 0 {
			r.Limit = fmt.Sprintf("%.0f %% of %s", float64(u.Memory)/float64(u.MemoryLimit)*100, views.Bytes(u.MemoryLimit))
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if by == "memory" {
			return rows[i].Memv > rows[j].Memv
		}
		return rows[i].CPUv > rows[j].CPUv
	})
	at := ""
	if !latest.At.IsZero() {
		at = views.FormatTime(latest.At)
	}
	return rows, at, nil
}

// topBy reads ?by= as cpu or memory.
func topBy(c echo.Context) string {
	if c.QueryParam("by") == "memory" {
		return "memory"
	}
	return "cpu"
}

// TopPage ranks the services by their CPU or memory now.
func (h *Handlers) TopPage(c echo.Context) error {
	if h.cfg.Resources == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Resource use is not collected by this Berth.")
	}
	by := topBy(c)
	rows, at, err := h.topRows(c.Request().Context(), by)
	if err != nil {
		return err
	}
	p := h.page(c, "Top", "top")
	return h.render(c, http.StatusOK, p, views.TopPage(p, by, views.TopTable(by, rows, at)))
}

// TopEvents pushes the ranking again after every collection.
func (h *Handlers) TopEvents(c echo.Context) error {
	if h.cfg.Resources == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Resource use is not collected by this Berth.")
	}
	by := topBy(c)
	return h.streamFragments(c, "top", func(ch swarm.Change) bool { return ch.Kind == "resources" || ch.Kind == "service" },
		func() (templ.Component, error) {
			rows, at, err := h.topRows(c.Request().Context(), by)
			return views.TopTable(by, rows, at), err
		})
}

// addNodeUse fills the nodes' figures now and their trends over the last hour (a minute a point).
func (h *Handlers) addNodeUse(ctx context.Context, rows []views.NodeRow) error {
	if h.cfg.Resources == nil {
		return nil
	}
	latest := h.cfg.Resources.Latest()
	series, err := h.store.ResourceSeries(ctx, "node", time.Minute, time.Now().Add(-time.Hour))
	if err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		use, ok := latest.Nodes[r.Hostname]
		if !ok {
			continue
		}
		r.Use.CPU = strconv.FormatFloat(use.CPU, 'f', 2, 64)
		host, known := latest.Hosts[r.Hostname]
		if known && host.MemoryTotal > 0 {
			r.Use.Memory, r.Use.TasksMemory = views.Bytes(host.MemoryUsed), views.Bytes(use.Memory)
			r.Memory = views.Bytes(host.MemoryTotal)
		}
		if host.DiskTotal > 0 {
			pct := float64(host.DiskUsed) / float64(host.DiskTotal) * 100
			r.Use.Disk = fmt.Sprintf("%.0f %% of %s", pct, views.Bytes(host.DiskTotal))
			switch {
			case pct >= 90:
				r.Use.DiskClass = "state-bad"
			case pct >= 80:
				r.Use.DiskClass = "state-warn"
			}
		}
		var cpu, mem, disk []float64
		for _, s := range series[r.Hostname] {
			cpu, mem, disk = append(cpu, s.CPU), append(mem, float64(s.HostMemory)), append(disk, float64(s.DiskUsed))
		}
		cpus, _ := strconv.ParseFloat(r.CPUs, 64)
		r.Use.CPUTrend = views.Sparkline{Values: cpu, Max: cpus, Title: "CPU over the last hour"}
		r.Use.MemTrend = views.Sparkline{Values: mem, Max: float64(host.MemoryTotal), Title: "Memory over the last hour"}
		r.Use.DTrend = views.Sparkline{Values: disk, Max: float64(host.DiskTotal), Title: "Disk over the last hour"}
	}
	return nil
}

// nodeUsage builds a node's graphs over a range (its tasks' CPU, its memory and disk
// against their totals) and its tasks' figures now.
func (h *Handlers) nodeUsage(ctx context.Context, n views.NodeRow, rg string) (views.ServiceUsage, error) {
	u := views.ServiceUsage{Path: "/nodes/" + n.ID, Where: "Service", Range: rg, Ranges: []string{"1h", "6h", "24h", "7d"}}
	if h.cfg.Resources == nil {
		return u, nil
	}
	u.On = true
	r := resourceRanges[rg]
	now := time.Now()
	rows, err := h.store.ResourceSamples(ctx, "node", n.Hostname, r.step, now.Add(-r.span))
	if err != nil {
		return u, err
	}
	latest := h.cfg.Resources.Latest()
	host := latest.Hosts[n.Hostname]
	var cpu, tasks, mem, disk []views.GraphPoint
	for _, s := range rows {
		cpu, tasks = append(cpu, views.GraphPoint{T: s.T, V: s.CPU}), append(tasks, views.GraphPoint{T: s.T, V: float64(s.Memory)})
		if s.HostMemory > 0 {
			mem, disk = append(mem, views.GraphPoint{T: s.T, V: float64(s.HostMemory)}), append(disk, views.GraphPoint{T: s.T, V: float64(s.DiskUsed)})
		}
	}
	cpus, _ := strconv.ParseFloat(n.CPUs, 64)
	g := func(id, title string, limit float64, format func(float64) string, series ...views.GraphSeries) views.Graph {
		return views.Graph{ID: id, Title: title, From: now.Add(-r.span), To: now, Step: r.step, Series: series, Limit: limit, Format: format}
	}
	u.Graphs = []views.Graph{
		g("graph-cpu", "CPU of its tasks", cpus, views.Cores, views.GraphSeries{Name: "CPU", Class: "graph-cpu", Points: cpu}),
		g("graph-memory", "Memory", float64(host.MemoryTotal), views.BytesOf, views.GraphSeries{Name: "The node", Class: "graph-mem", Points: mem},
			views.GraphSeries{Name: "Its tasks", Class: "graph-rx", Points: tasks}),
		g("graph-disk", "Disk (data root)", float64(host.DiskTotal), views.BytesOf, views.GraphSeries{Name: "In use", Class: "graph-tx", Points: disk}),
	}
	if use, ok := latest.Nodes[n.Hostname]; ok {
		u.Graphs[0].Now = views.Cores(use.CPU) + " of " + n.CPUs
		u.Graphs[1].Now = views.Bytes(host.MemoryUsed) + " of " + views.Bytes(host.MemoryTotal)
		u.Graphs[2].Now = views.Bytes(host.DiskUsed) + " of " + views.Bytes(host.DiskTotal)
	}
	addTasksNow(&u, latest, func(t metrics.TaskUse) (string, bool) { return t.Service, t.Node == n.Hostname })
	return u, nil
}
