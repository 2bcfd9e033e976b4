package swarm

import (
	"testing"

	dswarm "github.com/docker/docker/api/types/swarm"
)

func TestAgentsAreReachedAtTheirAddressOnBerthsOverlay(t *testing.T) {
	attach := func(name string, addrs ...string) dswarm.NetworkAttachment {
		var a dswarm.NetworkAttachment
		a.Network.Spec.Name = name
		a.Addresses = addrs
		return a
	}
	for _, tc := range []struct {
		name string
		task dswarm.Task
		want string
	}{
		{"on berth among others", dswarm.Task{NetworksAttachments: []dswarm.NetworkAttachment{attach("ingress", "10.0.0.5/24"), attach(DefaultNetwork, "10.0.1.7/24")}}, "10.0.1.7:7441"},
		{"an IPv6 address", dswarm.Task{NetworksAttachments: []dswarm.NetworkAttachment{attach(DefaultNetwork, "fd00::7/64")}}, "[fd00::7]:7441"},
		{"not on berth", dswarm.Task{NetworksAttachments: []dswarm.NetworkAttachment{attach("other", "10.0.2.9/24")}}, ""},
		{"no address yet", dswarm.Task{NetworksAttachments: []dswarm.NetworkAttachment{attach(DefaultNetwork)}}, ""},
	} {
		if got := overlayAddr(tc.task); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
