package swarm

import (
	"strings"
	"testing"
)

func TestNormalizeRegistryURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"docker.io/acme-v1", "docker.io/acme-v1", ""},
		{"Docker.IO/acme-v1/", "docker.io/acme-v1", ""},
		{"index.docker.io/acme", "docker.io/acme", ""},
		{"ghcr.io/acme", "ghcr.io/acme", ""},
		{"registry.example.com:5000/team", "registry.example.com:5000/team", ""},
		{"localhost:5000", "localhost:5000", ""},
		{"10.213.0.1:5000/x", "10.213.0.1:5000/x", ""},
		{"https://ghcr.io/acme", "", "scheme"},
		{"ghcr.io/ac me", "", "spaces"},
		{"", "", "Enter the registry"},
		{"acme", "", "not a registry host"},
		{"user:pw@ghcr.io", "", "credentials out of the URL"},
		{"ghcr.io/UPPER", "", "not a valid registry path"},
	} {
		got, err := NormalizeRegistryURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestMatchCredentialPicksLongestPrefixAtPathBoundary(t *testing.T) {
	urls := []string{"docker.io", "docker.io/acme", "docker.io/acme-v1", "ghcr.io/acme/team", "registry.example.com:5000"}
	for _, tc := range []struct {
		image string
		want  int
	}{
		{"nginx:1.25", 0}, // docker.io/library/nginx
		{"acme/app:1", 1}, // docker.io/acme/app
		{"docker.io/acme-v1/app@sha256:" + strings.Repeat("a", 64), 2},
		{"acme-v1/app", 2}, // not docker.io/acme: prefixes end at a slash
		{"acme-v2/app", 0}, // falls back to the registry-wide credential
		{"ghcr.io/acme/team/api:2", 3},
		{"ghcr.io/acme/other:2", -1},
		{"registry.example.com:5000/x/y:1", 4},
		{"registry.example.com/x/y:1", -1}, // another host (no port)
		{"not a reference", -1},
	} {
		if got := MatchCredential(tc.image, urls); got != tc.want {
			t.Errorf("MatchCredential(%q) = %d, want %d", tc.image, got, tc.want)
		}
	}
}

func TestNextVersionNameAndNames(t *testing.T) {
	for in, want := range map[string]string{
		"app_conf":              "app_conf-v2",
		"app_conf-v2":           "app_conf-v3",
		"app_conf-v9":           "app_conf-v10",
		"db-v":                  "db-v-v2",
		strings.Repeat("a", 64): strings.Repeat("a", 61) + "-v2",
	} {
		got := NextVersionName(in)
		if got != want || ValidateName(got) != "" {
			t.Errorf("NextVersionName(%q) = %q (valid: %q), want %q", in, got, ValidateName(got), want)
		}
	}
	for name, bad := range map[string]bool{"ok.name_1-x": false, "": true, "-lead": true, "trail-": true, "sp ace": true, strings.Repeat("x", 65): true, "a": false} {
		if got := ValidateName(name) != ""; got != bad {
			t.Errorf("ValidateName(%q) refused=%v, want %v", name, got, bad)
		}
	}
	if ValidateContent(KindSecret, make([]byte, MaxSecretSize+1)) == "" || ValidateContent(KindConfig, make([]byte, MaxSecretSize+1)) != "" {
		t.Error("content limits differ from the engine's (secrets 500 KB, configs 1000 KB)")
	}
	if ValidateContent(KindConfig, nil) == "" {
		t.Error("empty content accepted")
	}
}
