package main

import (
	"context"

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
	return buildOnce(ctx, "traefik", enginetest.TraefikVersion, traefikModule, "github.com/traefik/traefik/v3/cmd/traefik")
}
