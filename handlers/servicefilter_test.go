package handlers

import (
	"fmt"
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
