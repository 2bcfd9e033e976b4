package enginetest

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Registry is a stand-in for an image registry that checks basic-auth logins and
// records which username each request carried; it serves no images.
type Registry struct {
	// Host is host:port as the engines reach it (the host side of the test bridge).
	Host  string
	users map[string]string

	mu   sync.Mutex
	seen []RegistryRequest
}

// RegistryRequest is one authenticated request the stand-in received.
type RegistryRequest struct {
	Path     string
	Username string
	Password string
}

// StartRegistry serves a registry stand-in with the given username/password pairs until the test ends.
func StartRegistry(t testing.TB, users map[string]string) *Registry {
	t.Helper()
	requireHarness(t)
	if err := ensureBridge(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", bridgeAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{Host: ln.Addr().String(), users: users}
	srv := &http.Server{Handler: r}
	go srv.Serve(ln) //nolint:errcheck // ends with Close below
	t.Cleanup(func() { srv.Close() })
	return r
}

// ServeHTTP answers the registry API's version check and refuses everything else after recording it.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	user, pass, ok := req.BasicAuth()
	if !ok || r.users[user] != pass || pass == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="berth-test"`)
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required: wrong username or password"}]}`))
		return
	}
	r.mu.Lock()
	r.seen = append(r.seen, RegistryRequest{Path: req.URL.Path, Username: user, Password: pass})
	r.mu.Unlock()
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.Header().Set("Content-Type", "application/json")
	if req.URL.Path == "/v2/" {
		w.Write([]byte("{}"))
		return
	}
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"the stand-in serves no images"}]}`))
}

// UsernamesFor lists the usernames that authenticated requests under a path prefix carried.
func (r *Registry) UsernamesFor(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.seen {
		if strings.HasPrefix(s.Path, prefix) {
			out = append(out, s.Username)
		}
	}
	return out
}
