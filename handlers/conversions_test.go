package handlers

import (
	"encoding/json"
	"testing"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/volumewrite"
)

// Engine-free tests of the conversions a form or request change goes through, so they answer in milliseconds.

func TestPatchChangesOnlyTheFieldsSent(t *testing.T) {
	one, three := uint64(1), uint64(3)
	base := func() swarm.ServiceSpec {
		return swarm.ServiceSpec{Name: "app", Image: "team/app", Tag: "1.0", Replicas: &one, Env: map[string]string{"A": "1", "B": "2"},
			Labels: map[string]string{"tier": "web"}, Secrets: []swarm.FileRef{{Name: "db"}}}
	}
	for _, tc := range []struct {
		name  string
		patch string
		want  func(*swarm.ServiceSpec)
	}{
		{"a tag", `{"tag": "1.1"}`, func(s *swarm.ServiceSpec) { s.Tag = "1.1" }},
		{"a digest replaces the tag", `{"digest": "sha256:abc"}`, func(s *swarm.ServiceSpec) { s.Digest, s.Tag = "sha256:abc", "" }},
		{"a full reference in image replaces the tag", `{"image": "team/app:2.0"}`, func(s *swarm.ServiceSpec) { s.Image, s.Tag = "team/app:2.0", "" }},
		{"an image without a tag keeps the tag", `{"image": "team/other"}`, func(s *swarm.ServiceSpec) { s.Image = "team/other" }},
		{"env: set one, remove one with null", `{"env": {"A": "9", "B": null, "C": "3"}}`, func(s *swarm.ServiceSpec) { s.Env = map[string]string{"A": "9", "C": "3"} }},
		{"replicas", `{"replicas": 3}`, func(s *swarm.ServiceSpec) { s.Replicas = &three }},
		{"secrets replaced whole", `{"secrets": []}`, func(s *swarm.ServiceSpec) { s.Secrets = []swarm.FileRef{} }},
		{"nothing", `{}`, func(*swarm.ServiceSpec) {}},
	} {
		var p servicePatch
		if err := json.Unmarshal([]byte(tc.patch), &p); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, want := base(), base()
		p.apply(&got)
		tc.want(&want)
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, a, b)
		}
	}
}

func TestArchiveKindsByName(t *testing.T) {
	for name, want := range map[string]string{"site.tar": volumewrite.KindTar, "site.TAR.GZ": volumewrite.KindTgz, "site.tgz": volumewrite.KindTgz,
		"site.zip": volumewrite.KindZip, "notes.txt": "", "tar": "", "archive.tar.bz2": ""} {
		if got := archiveKind(name); got != want {
			t.Errorf("archiveKind(%q) = %q, want %q", name, got, want)
		}
	}
}
