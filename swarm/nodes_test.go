package swarm

import (
	"strings"
	"testing"
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
