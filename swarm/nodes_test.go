package swarm

import (
	"reflect"
	"strings"
	"testing"

	dswarm "github.com/docker/docker/api/types/swarm"
)

func TestRoleChangesKeepTheQuorum(t *testing.T) {
	m := func(id string, leader bool, reach string) NodeInfo {
		return NodeInfo{ID: id, Hostname: id, Role: "manager", Leader: leader, Reachability: reach, Status: "ready"}
	}
	w := func(id, status string) NodeInfo {
		return NodeInfo{ID: id, Hostname: id, Role: "worker", Status: status}
	}
	one := []NodeInfo{m("m1", true, "reachable"), w("w1", "ready"), w("w2", "down")}
	three := []NodeInfo{m("m1", true, "reachable"), m("m2", false, "reachable"), m("m3", false, "reachable")}
	threeOneLost := []NodeInfo{m("m1", true, "reachable"), m("m2", false, "reachable"), m("m3", false, "unreachable")}
	two := []NodeInfo{m("m1", true, "reachable"), m("m2", false, "reachable"), w("w1", "ready")}
	for _, tc := range []struct {
		name     string
		nodes    []NodeInfo
		id, role string
		refusal  string
		warnings []string
	}{
		{"the last manager", one, "m1", "worker", "last manager", nil},
		{"a node that is down", one, "w2", "manager", "w2 is down", nil},
		{"already a manager", one, "m1", "manager", "already a manager", nil},
		{"a second manager", one, "w1", "manager", "", []string{"2 managers, an even number", "losing one more would lose the quorum"}},
		{"the leader of three", three, "m1", "worker", "", []string{"an even number", "lose the quorum", "m1 is the leader"}},
		{"below quorum", threeOneLost, "m2", "worker", "fewer than the 2 a quorum needs", nil},
		{"a third manager", two, "w1", "manager", "", nil},
	} {
		rc := CheckRoleChange(tc.nodes, tc.id, tc.role)
		if tc.refusal != "" && !strings.Contains(rc.Refusal, tc.refusal) || tc.refusal == "" && rc.Refusal != "" {
			t.Errorf("%s: refusal %q, want %q", tc.name, rc.Refusal, tc.refusal)
		}
		if len(rc.Warnings) != len(tc.warnings) {
			t.Errorf("%s: warnings %q, want %d", tc.name, rc.Warnings, len(tc.warnings))
			continue
		}
		for i, want := range tc.warnings {
			if !strings.Contains(rc.Warnings[i], want) {
				t.Errorf("%s: warning %q lacks %q", tc.name, rc.Warnings[i], want)
			}
		}
	}
}

func TestNodeLabelsFollowDockersRules(t *testing.T) {
	for _, tc := range []struct{ key, value, field string }{
		{"zone", "eu-1", ""}, {"berth.data", "true", ""}, {"Zone", "a", "key"}, {"bad key", "a", "key"},
		{"-zone", "a", "key"}, {"com.docker.x", "a", "key"}, {"zone", "a=b", "value"}, {"zone", strings.Repeat("v", 1025), "value"},
	} {
		if field, _ := ValidateNodeLabel(tc.key, tc.value); field != tc.field {
			t.Errorf("%q=%q: field %q, want %q", tc.key, tc.value, field, tc.field)
		}
	}
}

func TestNodeChangeChangesOnlyWhatItNames(t *testing.T) {
	base := func() dswarm.NodeSpec {
		return dswarm.NodeSpec{Role: dswarm.NodeRoleWorker, Availability: dswarm.NodeAvailabilityActive, Annotations: dswarm.Annotations{Labels: map[string]string{"zone": "a", "disk": "ssd"}}}
	}
	for _, tc := range []struct {
		change NodeChange
		want   func(*dswarm.NodeSpec)
	}{
		{NodeChange{Role: "manager"}, func(s *dswarm.NodeSpec) { s.Role = dswarm.NodeRoleManager }},
		{NodeChange{Availability: "drain"}, func(s *dswarm.NodeSpec) { s.Availability = dswarm.NodeAvailabilityDrain }},
		{NodeChange{SetLabel: "zone", LabelValue: "b"}, func(s *dswarm.NodeSpec) { s.Labels["zone"] = "b" }},
		{NodeChange{RemoveLabel: "disk"}, func(s *dswarm.NodeSpec) { delete(s.Labels, "disk") }},
	} {
		got, want := base(), base()
		tc.change.apply(&got)
		tc.want(&want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: %+v, want %+v", tc.change, got, want)
		}
	}
	var empty dswarm.NodeSpec
	NodeChange{SetLabel: "zone", LabelValue: "a"}.apply(&empty)
	if empty.Labels["zone"] != "a" {
		t.Error("a label on a node without labels was not set")
	}
}
