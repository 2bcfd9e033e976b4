package swarm

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// OriginHeader names, on each engine API call, the Berth route whose request made it
// ("GET /nodes"); calls made by Berth's own background work carry none.
const OriginHeader = "X-Berth-Origin"

type originKey struct{}

// WithOrigin marks ctx as serving the route, so the engine calls made under it say so.
func WithOrigin(ctx context.Context, route string) context.Context {
	return context.WithValue(ctx, originKey{}, route)
}

// originOf is the route ctx serves ("" for background work).
func originOf(ctx context.Context) string {
	route, _ := ctx.Value(originKey{}).(string)
	return route
}

// originTransport names the route on every engine call and counts calls per route.
type originTransport struct {
	base   http.RoundTripper
	counts *sync.Map // route -> *atomic.Int64
}

func (t originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	route := originOf(r.Context())
	if route != "" {
		r = r.Clone(r.Context())
		r.Header.Set(OriginHeader, route)
	} else {
		route = "background"
	}
	n, _ := t.counts.LoadOrStore(route, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	return t.base.RoundTrip(r)
}

// newTransport is the engine client's transport: idle connections released as the
// docker client's own default does, wrapped to name and count each call's origin.
func newTransport(counts *sync.Map) (*http.Transport, http.RoundTripper) {
	base := &http.Transport{MaxIdleConns: 6, IdleConnTimeout: 30 * time.Second}
	return base, originTransport{base: base, counts: counts}
}

// EngineCalls is how many engine API calls each route's requests made since the
// engine was connected ("background" for Berth's own loops).
func (e *Engine) EngineCalls() map[string]int64 {
	out := map[string]int64{}
	e.calls.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}
