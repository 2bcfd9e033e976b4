package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/berthhq/berth/swarm/enginetest"
)

// traefikModule builds Traefik from the module proxy: its go.mod has replace
// directives, so it is built from a small module that repeats them.
const traefikModule = `module berth-traefik-build

go 1.25.0

require github.com/traefik/traefik/v3 ` + enginetest.TraefikVersion + `

replace (
	github.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e
	github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59
	github.com/mailgun/minheap => github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595
)
`

// traefikCache is where the built binary is kept between runs (about 5 minutes to build cold).
const traefikCache = "/var/cache/berth-test"

// ensureTraefik returns the path of a static Traefik binary, building it once.
func ensureTraefik(ctx context.Context) (string, error) {
	bin := filepath.Join(traefikCache, "traefik-"+enginetest.TraefikVersion)
	if st, err := os.Stat(bin); err == nil && st.Size() > 0 {
		return bin, nil
	}
	if err := os.MkdirAll(traefikCache, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "berth-traefik-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(traefikModule), 0o644); err != nil {
		return "", err
	}
	fmt.Printf("testenv: building Traefik %s for the load balancer tests (cached in %s)\n", enginetest.TraefikVersion, traefikCache)
	start := time.Now()
	tmp := bin + ".partial"
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-s -w", "-o", tmp, "github.com/traefik/traefik/v3/cmd/traefik")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build traefik: %w", err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	fmt.Printf("testenv: Traefik built in %s\n", time.Since(start).Round(time.Second))
	return bin, nil
}
