package handlers

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/swarm"
)

func TestStackObjectVersionsFollowTheOneInUse(t *testing.T) {
	for _, tc := range []struct {
		inUse     []string
		cur, next string
		base      string
	}{
		{nil, "", "app_conf-v2", "app_conf"},
		{[]string{"app_conf"}, "app_conf", "app_conf-v2", "app_conf"},
		{[]string{"app_conf-v2", "other"}, "app_conf-v2", "app_conf-v3", "app_conf"},
		{[]string{"app_conf-v9", "app_conf-v10"}, "app_conf-v10", "app_conf-v11", "app_conf"},
		{[]string{"app_config"}, "", "app_conf-v2", "app_conf"}, // another object that starts alike
	} {
		use := map[string]bool{}
		for _, n := range tc.inUse {
			use[n] = true
		}
		cur := currentVersion(tc.base, use)
		if cur != tc.cur {
			t.Errorf("in use %v: current %q, want %q", tc.inUse, cur, tc.cur)
		}
		if next := nextVersion(tc.base, orText(cur, tc.base)); next != tc.next {
			t.Errorf("after %q: %q, want %q", cur, next, tc.next)
		}
	}
}

func TestStackPreviewNamesTheFieldsThatChange(t *testing.T) {
	one, two := uint64(1), uint64(2)
	base := swarm.ServiceSpec{Name: "app_web", Image: "nginx", Tag: "1.27", Replicas: &one, Env: map[string]string{"A": "1"},
		Labels: map[string]string{swarm.StackLabel: "app", swarm.StackImageLabel: "nginx:1.27"}, Networks: []string{"app_default"}}
	for _, tc := range []struct {
		name   string
		change func(*swarm.ServiceSpec)
		want   string
	}{
		{"nothing but Berth's own labels", func(s *swarm.ServiceSpec) { s.Labels = nil }, ""},
		{"the tag", func(s *swarm.ServiceSpec) { s.Tag = "1.28" }, "tag"},
		{"replicas and a variable", func(s *swarm.ServiceSpec) { s.Replicas = &two; s.Env = map[string]string{"A": "2"} }, "env,replicas"},
		{"a variable gone", func(s *swarm.ServiceSpec) { s.Env = nil }, "env"},
		{"a label of the file's", func(s *swarm.ServiceSpec) { s.Labels = map[string]string{"team": "x"} }, "labels"},
	} {
		next := base
		next.Labels, next.Env = map[string]string{}, map[string]string{}
		for k, v := range base.Labels {
			next.Labels[k] = v
		}
		for k, v := range base.Env {
			next.Env[k] = v
		}
		tc.change(&next)
		if got := strings.Join(changedFields(base.Normalized(), next.Normalized()), ","); got != tc.want {
			t.Errorf("%s: fields %q, want %q", tc.name, got, tc.want)
		}
	}
}
