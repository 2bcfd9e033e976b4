package enginetest

import (
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
)

// Proxy forwards a unix socket to an engine's socket, so a test can cut every
// open connection (an events stream, say) while the engine itself stays up.
type Proxy struct {
	path   string
	target string
	ln     net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// NewProxy serves a proxy to the node's engine until the test ends.
func NewProxy(t testing.TB, n *Node) *Proxy {
	t.Helper()
	p := &Proxy{path: filepath.Join(t.TempDir(), "engine.sock"), target: n.Socket, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	p.ln = ln
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.CutAll() })
	return p
}

// Host is the DOCKER_HOST value that reaches the engine through the proxy.
func (p *Proxy) Host() string { return "unix://" + p.path }

func (p *Proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("unix", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.track(in, out)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *Proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// CutAll closes every connection open through the proxy; new ones still work.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}
