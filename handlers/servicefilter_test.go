package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/swarm"
)

func TestServiceFilterPicksByNameStackStateAndNodeAPageAtATime(t *testing.T) {
	var list []swarm.Service
	for i := range 250 {
		s := swarm.Service{Spec: swarm.ServiceSpec{Name: fmt.Sprintf("svc-%03d", i), Image: "busybox", Labels: map[string]string{}}, Desired: 1, Running: 1}
		if i%10 == 0 {
			s.Spec.Labels[stackLabel] = "shop"
			s.Running = 0 // down
		}
		if i%2 == 0 {
			s.Tasks = []swarm.Task{{Node: "worker1", State: "running"}}
		} else {
			s.Tasks = []swarm.Task{{Node: "worker2", State: "failed"}}
		}
		list = append(list, s)
	}
	for _, tc := range []struct {
		f           serviceFilter
		rows, match int
		first, last string
	}{
		{serviceFilter{Page: 1}, 100, 250, "svc-000", "svc-099"},
		{serviceFilter{Page: 3}, 50, 250, "svc-200", "svc-249"},
		{serviceFilter{Page: 2, PerPage: 30}, 30, 250, "svc-030", "svc-059"},
		{serviceFilter{Q: "svc-01", Page: 1}, 10, 10, "svc-010", "svc-019"},
		{serviceFilter{Stack: "shop", Page: 1}, 25, 25, "svc-000", "svc-240"},
		{serviceFilter{State: "down", Page: 1}, 25, 25, "svc-000", "svc-240"},
		{serviceFilter{State: "ok", Node: "worker1", Page: 1}, 100, 100, "svc-002", "svc-248"},
		{serviceFilter{Node: "worker2", Page: 1}, 0, 0, "", ""}, // its tasks there failed: not running there
	} {
		page, matched, stacks, nodes := filterServices(list, tc.f)
		if len(page) != tc.rows || matched != tc.match {
			t.Errorf("%+v: %d rows of %d matching, want %d of %d", tc.f, len(page), matched, tc.rows, tc.match)
			continue
		}
		if len(page) > 0 && (page[0].Spec.Name != tc.first || page[len(page)-1].Spec.Name != tc.last) {
			t.Errorf("%+v: rows %s..%s, want %s..%s", tc.f, page[0].Spec.Name, page[len(page)-1].Spec.Name, tc.first, tc.last)
		}
		if len(stacks) != 1 || stacks[0] != "shop" || len(nodes) != 2 {
			t.Errorf("%+v: choices %v %v", tc.f, stacks, nodes)
		}
	}
	if q := (serviceFilter{Q: "a b", State: "rollout paused", Page: 2}).query(2); q != "page=2&q=a+b&state=rollout+paused" {
		t.Errorf("query string: %s", q)
	}
}

// The services page and the API filter the live swarm alike, the API pages on request,
// and a change shows on the next view however recently the same list was rendered.
func TestServicesPageAndAPIFilterTheLiveSwarm(t *testing.T) {
	s := newSwarmServer(t)
	stack := uniq("shop")
	var names []string
	for i := range 3 {
		spec := serviceSpec(fmt.Sprintf("%s-%d", stack, i))
		if i < 2 {
			spec.Labels = map[string]string{stackLabel: stack}
		}
		s.createService(t, spec)
		names = append(names, spec.Name)
	}
	rows := func(body string) []string {
		var out []string
		for _, n := range names {
			if strings.Contains(body, `id="service-`+n+`"`) {
				out = append(out, n)
			}
		}
		return out
	}
	if got := rows(s.op.get("/services?stack=" + stack).Body); !slices.Equal(got, names[:2]) {
		t.Errorf("the page filtered by stack shows %v, want %v", got, names[:2])
	}
	if got := rows(s.op.get("/services?q=" + names[2]).Body); !slices.Equal(got, names[2:]) {
		t.Errorf("the page filtered by name shows %v", got)
	}
	var all []APIService
	s.mustAPI(t, s.token, http.MethodGet, "/api/v1/services?stack="+stack, nil, http.StatusOK).decode(t, &all)
	if len(all) != 2 {
		t.Errorf("the API filtered by stack gives %d services, want 2", len(all))
	}
	first := s.mustAPI(t, s.token, http.MethodGet, "/api/v1/services?per_page=1&stack="+stack, nil, http.StatusOK)
	var one []APIService
	first.decode(t, &one)
	if len(one) != 1 || one[0].Name != names[0] || first.Header.Get("X-Total-Count") != "2" || !strings.Contains(first.Header.Get("Link"), "page=2") {
		t.Errorf("first page: %d services, total %q, link %q", len(one), first.Header.Get("X-Total-Count"), first.Header.Get("Link"))
	}
	second := s.mustAPI(t, s.token, http.MethodGet, "/api/v1/services?page=2&per_page=1&stack="+stack, nil, http.StatusOK)
	second.decode(t, &one)
	if len(one) != 1 || one[0].Name != names[1] || second.Header.Get("Link") != "" {
		t.Errorf("second page: %v, link %q", one, second.Header.Get("Link"))
	}
	if r := s.api(t, s.token, http.MethodGet, "/api/v1/services?per_page=0", nil); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "per_page is a whole number from 1 to 1000") {
		t.Errorf("per_page=0: %d %s", r.Status, r.Body)
	}
	// Rendered a moment ago, the list still shows a scale made since at once.
	s.mustAPI(t, s.token, http.MethodPatch, "/api/v1/services/"+names[0], map[string]any{"replicas": 0}, http.StatusOK)
	if list := s.op.get("/services?stack=" + stack); !strings.Contains(between(list.Body, `id="service-`+names[0]+`"`, "</tr>"), "scaled to 0") {
		t.Errorf("the list does not show the scale at once: %q", between(list.Body, `id="service-`+names[0]+`"`, "</tr>"))
	}
}
