package agent

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxCheckedBody bounds the bodies the rules read (container and exec specs).
const maxCheckedBody = 1 << 20

// Server forwards the portal's granted calls to the node's engine and refuses every other.
type Server struct {
	NodeID    string            // this node's swarm id, which grants must name
	SelfImage string            // the agent's own image id, the only one helpers may use
	GrantKey  ed25519.PublicKey // the portal's grant key
	Socket    string            // the engine's unix socket
	Look      Lookup
	Log       *slog.Logger
	Now       func() time.Time

	proxy *httputil.ReverseProxy
}

// dialEngine connects to the node's engine.
func (s *Server) dialEngine(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", s.Socket)
}

// ServeHTTP checks the grant and the call against it, then forwards the call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g, err := Verify(s.GrantKey, r.Header.Get(Header), s.NodeID, s.Now())
	if err != nil {
		s.Log.Warn("agent: request refused", "from", r.RemoteAddr, "call", r.Method+" "+r.URL.Path, "reason", err)
		writeRefusal(w, err.Error())
		return
	}
	req := Request{Method: r.Method, Path: APIPath(r.URL.Path), Query: r.URL.Query()}
	if req.Path == HostPath {
		s.answerHost(w, r, g)
		return
	}
	if NeedsBody(req.Method, req.Path) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxCheckedBody+1))
		if err != nil || len(body) > maxCheckedBody {
			writeRefusal(w, "the request body is too large or broken")
			return
		}
		req.Body = body
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.ContentLength, r.TransferEncoding = int64(len(body)), nil
	}
	if err := Authorize(r.Context(), g, s.SelfImage, req, s.Look); err != nil {
		s.Log.Warn("agent: call refused", "action", g.Action, "call", req.Method+" "+req.Path, "reason", err)
		writeRefusal(w, err.Error())
		return
	}
	s.Log.Debug("agent: call", "action", g.Action, "call", req.Method+" "+req.Path)
	r.Header.Del(Header)
	if r.Header.Get("Upgrade") != "" {
		s.forwardUpgrade(w, r)
		return
	}
	s.reverseProxy().ServeHTTP(w, r)
}

// answerHost answers the node's memory and disk use to a grant for reading resource use.
func (s *Server) answerHost(w http.ResponseWriter, r *http.Request, g Grant) {
	if g.Action != ActStats || r.Method != http.MethodGet {
		writeRefusal(w, "the node's memory and disk are read only with a grant for resource use")
		return
	}
	u, err := ReadHost("/")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(u)
}

// streamBuffer is how much the agent moves at a time between the portal and the engine:
// volume archives are large, and fewer, larger writes cost less on both sides.
const streamBuffer = 1 << 20

// bufferPool lends the proxy its copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, streamBuffer); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// writeRefusal answers 403 in the engine's error shape, so Docker clients show the reason.
func writeRefusal(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	json.NewEncoder(w).Encode(map[string]string{"message": "Berth agent: " + msg})
}

func (s *Server) reverseProxy() *httputil.ReverseProxy {
	if s.proxy == nil {
		s.proxy = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(&url.URL{Scheme: "http", Host: "docker"}) },
			Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return s.dialEngine(ctx) },
				WriteBufferSize: streamBuffer, ReadBufferSize: streamBuffer},
			BufferPool:    bufferPool{},
			FlushInterval: -1,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				s.Log.Warn("agent: engine call failed", "call", r.Method+" "+r.URL.Path, "error", err)
				w.WriteHeader(http.StatusBadGateway)
			},
		}
	}
	return s.proxy
}

// forwardUpgrade carries an attach or exec stream: the engine's answer first, then
// bytes both ways, passing on a half close (a helper reads its stdin to the end
// and answers after) and closing both sides when the engine's side ends.
func (s *Server) forwardUpgrade(w http.ResponseWriter, r *http.Request) {
	backend, err := s.dialEngine(r.Context())
	if err != nil {
		http.Error(w, "the engine is not reachable", http.StatusBadGateway)
		return
	}
	defer backend.Close()
	out := r.Clone(r.Context())
	out.URL = &url.URL{Scheme: "http", Host: "docker", Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	out.Host, out.RequestURI = "docker", ""
	if err := out.Write(backend); err != nil {
		http.Error(w, "the engine is not reachable", http.StatusBadGateway)
		return
	}
	fromEngine := bufio.NewReader(backend)
	res, err := http.ReadResponse(fromEngine, out)
	if err != nil {
		http.Error(w, "the engine gave no answer", http.StatusBadGateway)
		return
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
		return
	}
	conn, client, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(client, "HTTP/1.1 101 %s\r\n", strings.TrimPrefix(res.Status, "101 "))
	res.Header.Write(client)
	client.WriteString("\r\n")
	if client.Flush() != nil {
		return
	}
	go func() {
		_, err := io.Copy(backend, client.Reader)
		if cw, ok := backend.(interface{ CloseWrite() error }); ok && err == nil {
			cw.CloseWrite()
			return
		}
		backend.Close()
	}()
	io.Copy(conn, fromEngine)
	if tc, ok := conn.(*tls.Conn); ok {
		tc.CloseWrite()
	}
}
