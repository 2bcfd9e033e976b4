package handlers

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsEngine is what the Prometheus endpoint reads of the swarm: the live model's services and nodes.
type MetricsEngine interface {
	Services(ctx context.Context) ([]swarm.Service, error)
	Nodes(ctx context.Context) ([]swarm.NodeInfo, error)
	ModelState() (ready bool, syncedAt time.Time, lastError string)
}

// promMetrics holds Berth's Prometheus registry and its request counters.
type promMetrics struct {
	registry *prometheus.Registry
	handler  http.Handler // the registry in Prometheus's text format
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// newMetrics registers Berth's own families; the swarm's are read at each scrape by swarmCollector.
func newMetrics(h *Handlers) *promMetrics {
	m := &promMetrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_http_requests_total",
			Help: "HTTP requests Berth answered, by route pattern, method and status code."}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_http_request_duration_seconds",
			Help:    "How long Berth took to answer, by route pattern and method (streams and terminals count while open).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"route", "method"}),
	}
	m.registry.MustRegister(m.requests, m.latency, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), swarmCollector{h})
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

// measure counts every request by its route pattern (never its path, so ids make no new series).
func (h *Handlers) measure(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		code := c.Response().Status
		if err != nil && !c.Response().Committed {
			code, _ = errorStatus(err) // what the error handler will answer
		}
		h.prom.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(code)).Inc()
		h.prom.latency.WithLabelValues(route, c.Request().Method).Observe(time.Since(start).Seconds())
		return err
	}
}

// Metrics answers Prometheus's text format (an API token of any role).
func (h *Handlers) Metrics(c echo.Context) error {
	h.prom.handler.ServeHTTP(c.Response(), c.Request())
	return nil
}

// swarmCollector reads the live model and Berth's records at each scrape: nothing is polled for it.
type swarmCollector struct{ h *Handlers }

var (
	descModelReady   = prometheus.NewDesc("berth_live_model_ready", "1 when Berth's live model of the swarm is current.", nil, nil)
	descServices     = prometheus.NewDesc("berth_services", "Services in the swarm.", nil, nil)
	descDesired      = prometheus.NewDesc("berth_service_replicas_desired", "A service's desired tasks.", []string{"service", "stack"}, nil)
	descRunning      = prometheus.NewDesc("berth_service_replicas_running", "A service's running tasks.", []string{"service", "stack"}, nil)
	descTasks        = prometheus.NewDesc("berth_tasks", "Tasks by state.", []string{"state"}, nil)
	descNodes        = prometheus.NewDesc("berth_nodes", "Nodes by role, status and availability.", []string{"role", "status", "availability"}, nil)
	descBackupRuns   = prometheus.NewDesc("berth_backup_runs", "Backup runs on record, by outcome.", []string{"status"}, nil)
	descLastBackup   = prometheus.NewDesc("berth_backup_last_complete_timestamp_seconds", "When the newest complete backup finished.", nil, nil)
	descLastDuration = prometheus.NewDesc("berth_backup_last_duration_seconds", "How long the newest complete backup took.", nil, nil)
	descAlertsOpen   = prometheus.NewDesc("berth_alerts_open", "Open alerts (acknowledged ones included), by kind.", []string{"kind"}, nil)
	descCopies       = prometheus.NewDesc("berth_offsite_copies", "Snapshots' off-site copies, by state.", []string{"state"}, nil)
	descLastDrill    = prometheus.NewDesc("berth_restore_drill_last_passed", "1 when the newest restore drill passed, 0 when it failed.", nil, nil)
	descServiceCPU   = prometheus.NewDesc("berth_service_cpu_cores", "A service's CPU use on a node over the last collection, in cores.", []string{"service", "stack", "node"}, nil)
	descServiceMem   = prometheus.NewDesc("berth_service_memory_bytes", "A service's memory in use on a node (page cache the kernel may drop left out).", []string{"service", "stack", "node"}, nil)
	descNodeCPU      = prometheus.NewDesc("berth_node_cpu_cores", "CPU used by a node's task containers, in cores.", []string{"node"}, nil)
	descNodeMem      = prometheus.NewDesc("berth_node_memory_bytes", "Memory in use by a node's task containers.", []string{"node"}, nil)
	descHostMem      = prometheus.NewDesc("berth_node_host_memory_used_bytes", "Memory in use on the whole node (its total less what the kernel reports available).", []string{"node"}, nil)
	descHostMemTotal = prometheus.NewDesc("berth_node_host_memory_total_bytes", "The node's memory.", []string{"node"}, nil)
	descDiskUsed     = prometheus.NewDesc("berth_node_disk_used_bytes", "Bytes in use on the disk of the node's Docker data root.", []string{"node"}, nil)
	descDiskTotal    = prometheus.NewDesc("berth_node_disk_total_bytes", "The size of the disk of the node's Docker data root.", []string{"node"}, nil)
)

func (s swarmCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descModelReady, descServices, descDesired, descRunning, descTasks, descNodes,
		descBackupRuns, descLastBackup, descLastDuration, descAlertsOpen, descCopies, descLastDrill,
		descServiceCPU, descServiceMem, descNodeCPU, descNodeMem, descHostMem, descHostMemTotal, descDiskUsed, descDiskTotal} {
		ch <- d
	}
}

func (s swarmCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ready, _, _ := s.h.engine.ModelState()
	gauge(descModelReady, boolFloat(ready))
	stacks := map[string]string{}
	if services, err := s.h.engine.Services(ctx); err == nil {
		gauge(descServices, float64(len(services)))
		tasks := map[string]int{}
		for _, svc := range services {
			stack := svc.Spec.Labels[swarm.StackLabel]
			stacks[svc.Spec.Name] = stack
			gauge(descDesired, float64(svc.Desired), svc.Spec.Name, stack)
			gauge(descRunning, float64(svc.Running), svc.Spec.Name, stack)
			for _, t := range svc.Tasks {
				tasks[t.State]++
			}
		}
		for state, n := range tasks {
			gauge(descTasks, float64(n), state)
		}
	}
	if nodes, err := s.h.engine.Nodes(ctx); err == nil {
		count := map[[3]string]int{}
		for _, n := range nodes {
			count[[3]string{n.Role, n.Status, n.Availability}]++
		}
		for k, n := range count {
			gauge(descNodes, float64(n), k[0], k[1], k[2])
		}
	}
	if s.h.cfg.Resources != nil {
		use := s.h.cfg.Resources.Latest()
		for k, u := range use.PerNode {
			gauge(descServiceCPU, u.CPU, k[0], stacks[k[0]], k[1])
			gauge(descServiceMem, float64(u.Memory), k[0], stacks[k[0]], k[1])
		}
		for node, u := range use.Nodes {
			gauge(descNodeCPU, u.CPU, node)
			gauge(descNodeMem, float64(u.Memory), node)
		}
		for node, u := range use.Hosts {
			gauge(descHostMem, float64(u.MemoryUsed), node)
			gauge(descHostMemTotal, float64(u.MemoryTotal), node)
			gauge(descDiskUsed, float64(u.DiskUsed), node)
			gauge(descDiskTotal, float64(u.DiskTotal), node)
		}
	}
	s.collectRecords(ctx, gauge)
}

// collectRecords reports backups, off-site copies, drills and alerts from Berth's database.
func (s swarmCollector) collectRecords(ctx context.Context, gauge func(*prometheus.Desc, float64, ...string)) {
	st := s.h.store
	if runs, err := st.BackupRuns(ctx, 10000); err == nil {
		byStatus := map[string]int{}
		var last *store.BackupRun
		for i, r := range runs {
			byStatus[r.Status]++
			if last == nil && r.Status == "complete" {
				last = &runs[i]
			}
		}
		for status, n := range byStatus {
			gauge(descBackupRuns, float64(n), status)
		}
		if last != nil {
			gauge(descLastBackup, float64(last.Finished.Unix()))
			gauge(descLastDuration, last.Finished.Sub(last.Started).Seconds())
		}
	}
	if open, err := st.Alerts(ctx, store.AlertFilter{State: "open", Limit: 10000}); err == nil {
		byKind := map[string]int{}
		for _, a := range open {
			byKind[a.Kind]++
		}
		for kind, n := range byKind {
			gauge(descAlertsOpen, float64(n), kind)
		}
	}
	if copies, err := st.OffsiteCopies(ctx); err == nil {
		byState := map[string]int{}
		for _, c := range copies {
			byState[c.State]++
		}
		for state, n := range byState {
			gauge(descCopies, float64(n), state)
		}
	}
	if drills, err := st.RestoreDrills(ctx, 1); err == nil && len(drills) > 0 && drills[0].Status != "running" {
		gauge(descLastDrill, boolFloat(drills[0].Status == "passed"))
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
