package swarm

import (
	"regexp"
	"strings"
	"testing"
)

// domainShape is what a host Berth writes into a Traefik rule may look like: no
// backquote, quote, space or parenthesis can end the rule early.
var domainShape = regexp.MustCompile(`^(\*\.)?[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$`)

func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"app.example.com", "*.example.com", "Bücher.example", "a`) || Host(`evil", "x.example:443", "https://x.example", "..", "*.*.x", " a.b ", "xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		h, err := NormalizeHost(raw)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a message")
			}
			return
		}
		if !domainShape.MatchString(h) || len(h) > 255 {
			t.Fatalf("NormalizeHost(%q) = %q: not a plain host name", raw, h)
		}
		if again, err := NormalizeHost(h); err != nil || again != h {
			t.Fatalf("NormalizeHost(%q) = %q, and again %q, %v", raw, h, again, err)
		}
	})
}

func FuzzImageReference(f *testing.F) {
	for _, s := range []string{"busybox", "registry.example.com:5000/team/app:1.2", "app@sha256:" + strings.Repeat("a", 64), "UPPER/case", "a:b:c", "app:", "/app", "app@sha256:short"} {
		f.Add(s, "")
	}
	f.Add("team/app", "1.2")
	f.Fuzz(func(t *testing.T, image, tag string) {
		s := ServiceSpec{Name: "app", Image: image, Tag: tag}
		errs := s.Validate()
		if errs["image"] != "" || errs["tag"] != "" {
			return
		}
		ref := s.Reference()
		repo, err := ImageRepository(ref)
		if err != nil {
			t.Fatalf("Validate accepted %q, which is not an image reference: %v", ref, err)
		}
		img, gotTag, digest := splitReference(ref)
		back := img
		if gotTag != "" {
			back += ":" + gotTag
		}
		if digest != "" {
			back += "@" + digest
		}
		if back != ref {
			t.Fatalf("%q splits into %q %q %q, which joins to %q", ref, img, gotTag, digest, back)
		}
		if !strings.HasSuffix(repo, strings.TrimPrefix(strings.TrimPrefix(img, "docker.io/"), "library/")) {
			t.Fatalf("%q has the repository %q, which does not end in its image %q", ref, repo, img)
		}
	})
}

func FuzzLabelKey(f *testing.F) {
	for _, s := range []string{"app.tier", "traefik.http.routers.x.rule", "Traefik.enable", "berth.owner", "com.docker.stack.namespace", " traefik.x", "traefik\t.x", "", "BERTH.managed"} {
		f.Add(s, "v")
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		msg := ValidateLabelKey(key)
		lower := strings.ToLower(strings.TrimSpace(key))
		for _, p := range ReservedLabelPrefixes {
			if strings.HasPrefix(lower, p) && msg == "" {
				t.Fatalf("the label key %q, under %s, was allowed", key, p)
			}
		}
		s := ServiceSpec{Name: "app", Image: "busybox", Labels: map[string]string{key: value}}
		if got := s.Validate()["labels."+key]; (got == "") != (msg == "") {
			t.Fatalf("Validate says %q of the label %q, ValidateLabelKey %q", got, key, msg)
		}
		// A label kept from the current spec passes validation only if it is unchanged.
		kept := KeepLabels(&s, map[string]string{key: value + "x"})
		if len(kept) != 0 {
			t.Fatalf("a changed label %q was kept", key)
		}
	})
}

func FuzzEnvKey(f *testing.F) {
	for _, s := range []string{"PATH", "A_B", "1A", "A B", "A=B", "", "LD_PRELOAD", "x.y-z"} {
		f.Add(s, "value")
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		s := ServiceSpec{Name: "app", Image: "busybox", Env: map[string]string{key: value}}
		errs := s.Validate()
		if errs["env."+key] != "" || errs["env."+key+".value"] != "" {
			return
		}
		if strings.ContainsAny(key, "= \t\n\x00") || key == "" {
			t.Fatalf("the variable name %q was accepted", key)
		}
		if len(value) > 64*1024 {
			t.Fatalf("a value of %d bytes was accepted", len(value))
		}
	})
}
