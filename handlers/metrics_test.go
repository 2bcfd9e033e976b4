package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics with a token and parses it as Prometheus does.
func scrape(t *testing.T, ts *testServer, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// series finds the value of a family's series whose labels include want.
func series(f *dto.MetricFamily, want map[string]string) (float64, bool) {
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetricsParseAndCarryBerthsFamilies(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	s.addUser("scraper", store.RoleViewer)
	token := must(createToken(s.testServer, "scraper")).value(t)
	name := uniq("metrics")
	s.mustAPI(t, s.token, http.MethodPost, "/api/v1/services", map[string]any{"name": name, "image": enginetest.BusyboxImage, "endpoint_mode": "dnsrr",
		"replicas": 2, "command": []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"}}, http.StatusCreated)
	t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), name) })
	waitRunning(t, s, name, 2, enginetest.BusyboxImage)
	if r := s.api(t, "", http.MethodGet, "/metrics", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: %d", r.Status)
	}
	for range 3 {
		s.mustAPI(t, token, http.MethodGet, "/api/v1/services/"+name, nil, http.StatusOK)
	}
	s.mustAPI(t, token, http.MethodGet, "/api/v1/services/"+name+"-missing", nil, http.StatusNotFound) // the engine's "not found", answered by the error handler
	var families map[string]*dto.MetricFamily
	waitFor(t, 30*time.Second, "both tasks running in the metrics", func() bool {
		families = scrape(t, s.testServer, token)
		running, _ := series(families["berth_service_replicas_running"], map[string]string{"service": name})
		return running == 2
	})
	for _, family := range []string{"berth_http_requests_total", "berth_http_request_duration_seconds", "berth_live_model_ready", "berth_services",
		"berth_service_replicas_desired", "berth_tasks", "berth_nodes", "go_goroutines", "process_resident_memory_bytes"} {
		if families[family] == nil {
			t.Errorf("/metrics lacks %s", family)
		}
	}
	if n, _ := series(families["berth_http_requests_total"], map[string]string{"route": "/api/v1/services/:name", "method": "GET", "code": "200"}); n < 3 {
		t.Errorf("the service reads counted by route: %v", n)
	}
	if n, _ := series(families["berth_http_requests_total"], map[string]string{"route": "/api/v1/services/:name", "method": "GET", "code": "404"}); n != 1 {
		t.Errorf("the read of a missing service counted as 404: %v", n)
	}
	if n, _ := series(families["berth_http_requests_total"], map[string]string{"route": "/metrics", "code": "401"}); n != 1 {
		t.Errorf("the refused scrape counted: %v", n)
	}
	if n, _ := series(families["berth_service_replicas_desired"], map[string]string{"service": name}); n != 2 {
		t.Errorf("desired replicas of %s: %v", name, n)
	}
	if n, _ := series(families["berth_live_model_ready"], nil); n != 1 {
		t.Errorf("the live model is not ready in the metrics: %v", n)
	}
	var nodes float64
	for _, m := range families["berth_nodes"].GetMetric() {
		nodes += m.Gauge.GetValue()
	}
	if int(nodes) != len(s.cluster.Nodes) {
		t.Errorf("nodes in the metrics: %v, the swarm has %d", nodes, len(s.cluster.Nodes))
	}
	for _, f := range families["berth_http_requests_total"].GetMetric() {
		for _, l := range f.Label {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), name) {
				t.Errorf("a series names a path, not its route: %s", l.GetValue())
			}
		}
	}
}
