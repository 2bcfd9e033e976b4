package enginetest

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/berthhq/berth/swarm"
)

// CountingProxy passes a node's engine API through, counting every call by the Berth
// route named in its origin header ("background" when none) and by endpoint: the
// witness, outside Berth, of which pages make the engine work.
type CountingProxy struct {
	path string
	mu   sync.Mutex
	// byOrigin counts calls per route, byEndpoint per "METHOD /path" (API version stripped).
	byOrigin, byEndpoint map[string]int
}

// apiVersion is the version prefix of engine API paths.
var apiVersion = regexp.MustCompile(`^/v[0-9.]+`)

// NewCountingProxy serves a counting proxy to the node's engine until the test ends.
func NewCountingProxy(t testing.TB, n *Node) *CountingProxy {
	t.Helper()
	p := &CountingProxy{path: filepath.Join(t.TempDir(), "counted.sock"), byOrigin: map[string]int{}, byEndpoint: map[string]int{}}
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: "engine"})
			r.Out.Host = "engine"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", n.Socket)
		}},
		FlushInterval: -1, // events and logs stream through as they come
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get(swarm.OriginHeader)
		if origin == "" {
			origin = "background"
		}
		p.mu.Lock()
		p.byOrigin[origin]++
		p.byEndpoint[r.Method+" "+apiVersion.ReplaceAllString(r.URL.Path, "")]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

// Host is the DOCKER_HOST value that reaches the engine through the proxy.
func (p *CountingProxy) Host() string { return "unix://" + p.path }

// Counts returns copies of the counts so far: by origin route, and by endpoint.
func (p *CountingProxy) Counts() (byOrigin, byEndpoint map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	byOrigin, byEndpoint = map[string]int{}, map[string]int{}
	for k, v := range p.byOrigin {
		byOrigin[k] = v
	}
	for k, v := range p.byEndpoint {
		byEndpoint[k] = v
	}
	return byOrigin, byEndpoint
}
