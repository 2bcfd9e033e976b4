package handlers

import (
	"context"
	"io"
	stdnet "net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/chromedp/chromedp"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"nhooyr.io/websocket"
)

// managerService runs a busybox service on the manager, whose engine Berth reaches, and returns its container id.
func managerService(t *testing.T, s *swarmServer) (string, string) {
	t.Helper()
	name := uniq("term")
	spec := serviceSpec(name)
	spec.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.role==manager"}}
	s.createService(t, spec)
	_, id, err := s.cluster.RunningContainer(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the live model to see the running task", func() bool {
		svc, _ := s.Model.Service(name)
		for _, task := range svc.Tasks {
			if task.State == "running" && strings.HasPrefix(id, task.ContainerID) {
				return true
			}
		}
		return false
	})
	return name, id
}

// execShells counts the interactive shells exec'd into the container (not its own command).
func execShells(t *testing.T, s *swarmServer, service string) int {
	out := s.readInService(t, service, "ps", "-o", "args")
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == "/bin/sh" {
			n++
		}
	}
	return n
}

func TestBrowserTerminalRunsCommandsResizesAndReportsTheExitCode(t *testing.T) {
	s := newSwarmServer(t)
	name, _ := managerService(t, s)
	b := newBrowser(t)
	b.signIn(t, s.URL, "op")
	b.do(t, "open the service",
		chromedp.Navigate(s.URL+"/services/"+name),
		chromedp.WaitVisible(chromedp.CSS("a.terminal-link")),
		chromedp.Click(chromedp.CSS("a.terminal-link")),
		chromedp.WaitVisible(chromedp.CSS("#terminal .xterm-rows")),
	)
	b.poll(t, "the terminal connects", `document.querySelector("#terminal-state").textContent === "Connected"`, 15*time.Second)
	screen := `document.querySelector(".xterm-rows").innerText`
	b.typeLine(t, "echo $((6*7))")
	b.poll(t, "the answer", screen+`.split("\n").some(l => l.trim() === "42")`, 10*time.Second)

	// Multi-byte text split across two writes arrives whole.
	b.typeLine(t, `printf 'caf\303'; sleep 0.5; printf '\251 \342\234\223\n'`)
	b.poll(t, "the accented text", screen+`.includes("café ✓")`, 10*time.Second)

	b.typeLine(t, "stty size")
	b.poll(t, "a size", screen+`.split("\n").some(l => /^\d+ \d+$/.test(l.trim()))`, 10*time.Second)
	before := eval[string](t, b, screen+`.split("\n").map(l => l.trim()).filter(l => /^\d+ \d+$/.test(l)).pop()`)
	b.do(t, "resize the window", chromedp.EmulateViewport(900, 500))
	time.Sleep(300 * time.Millisecond)
	b.typeLine(t, "clear; stty size")
	b.poll(t, "a new size", screen+`.split("\n").map(l => l.trim()).some(l => /^\d+ \d+$/.test(l) && l !== "`+before+`")`, 10*time.Second)

	b.typeLine(t, "exit 3")
	b.poll(t, "the exit code", `document.querySelector("#terminal-state").textContent.includes("exited with code 3")`, 10*time.Second)
	b.screenshot(t, "terminal")
	b.requireCleanConsole(t)

	recs, _ := s.Store.AuditRecords(context.Background(), store.AuditFilter{Action: "terminal."})
	if len(recs) != 2 || recs[0].Action != "terminal.close" || !strings.Contains(recs[0].Detail, "exit code 3") || recs[1].Action != "terminal.open" ||
		!strings.Contains(recs[1].Object, "service "+name) || recs[1].Actor != "op" {
		t.Errorf("terminal audit: %+v", recs)
	}
	if n := execShells(t, s, name); n != 0 {
		t.Errorf("%d exec'd shells left in the container", n)
	}
}

// dialTerminal opens the terminal websocket as the client, with an optional Origin.
func dialTerminal(t testing.TB, ts *testServer, c *client, container, origin string, extra ...string) (*websocket.Conn, *http.Response, error) {
	u, _ := url.Parse(ts.URL)
	q := url.Values{"csrf": {c.csrf}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	for _, ck := range c.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws://"+u.Host+"/terminal/"+container+"/ws?"+q.Encode(), &websocket.DialOptions{HTTPHeader: h})
}

func TestTerminalSocketRefusals(t *testing.T) {
	s := newSwarmServer(t)
	name, container := managerService(t, s)
	viewer := s.signedIn("viewer1", store.RoleViewer)
	if page := viewer.get("/services/" + name); page.Status != http.StatusOK || strings.Contains(page.Body, "terminal-link") {
		t.Errorf("a viewer is offered a terminal (status %d)", page.Status)
	}
	if page := viewer.get("/containers"); strings.Contains(page.Body, "terminal-link") {
		t.Error("the container list offers a viewer a terminal")
	}
	if page := s.op.get("/services/" + name); !strings.Contains(page.Body, "terminal-link") {
		t.Error("an operator is not offered a terminal")
	}
	anon := s.client()
	anon.get("/login")
	s.op.get("/terminal/" + container)
	for _, tc := range []struct {
		who    string
		c      *client
		origin string
		status int
	}{
		{"a viewer", viewer, "", http.StatusForbidden},
		{"an anonymous visitor", anon, "", http.StatusUnauthorized},
		{"a page of another site", s.op, "http://evil.example", http.StatusForbidden},
	} {
		ws, res, err := dialTerminal(t, s.testServer, tc.c, container, tc.origin)
		if err == nil {
			ws.CloseNow()
			t.Errorf("%s opened a terminal", tc.who)
			continue
		}
		if res == nil || res.StatusCode != tc.status {
			got := 0
			if res != nil {
				got = res.StatusCode
			}
			t.Errorf("%s: status %d, want %d", tc.who, got, tc.status)
		}
	}
	// Bad input gets a message in the pane and a clean close, never a leaked shell.
	ctx := context.Background()
	read := func(ws *websocket.Conn) string {
		var all []string
		for {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			typ, data, err := ws.Read(rctx)
			cancel()
			if err != nil {
				return strings.Join(all, "|") + "|close:" + websocket.CloseStatus(err).String()
			}
			if typ == websocket.MessageText {
				all = append(all, string(data))
			}
		}
	}
	for _, tc := range []struct {
		what, container string
		send            func(*websocket.Conn)
		want            string
	}{
		{"unknown container", "0123456789ab", nil, "No container 0123456789ab"},
		{"malformed message", container, func(ws *websocket.Conn) { ws.Write(ctx, websocket.MessageText, []byte("{not json")) }, "Malformed message"},
		{"oversized message", container, func(ws *websocket.Conn) {
			ws.Write(ctx, websocket.MessageText, []byte(`{"type":"input","data":"`+strings.Repeat("x", 100*1024)+`"}`))
		}, "close:StatusMessageTooBig"},
	} {
		ws, _, err := dialTerminal(t, s.testServer, s.op, tc.container, "")
		if err != nil {
			t.Fatalf("%s: dial: %v", tc.what, err)
		}
		if tc.send != nil {
			tc.send(ws)
		}
		if got := read(ws); !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.what, got, tc.want)
		}
		ws.CloseNow()
	}
	// A missing shell.
	s.op.get("/terminal/" + container + "?shell=/bin/zsh")
	ws, _, err := dialTerminal(t, s.testServer, s.op, container, "", "shell", "/bin/zsh")
	if err != nil {
		t.Fatal(err)
	}
	if got := read(ws); !strings.Contains(got, "no shell found") || !strings.Contains(got, "/bin/zsh") {
		t.Errorf("missing shell: %q", got)
	}
	waitFor(t, 10*time.Second, "no shell left behind", func() bool { return execShells(t, s, name) == 0 })
}

func TestRecordedTerminalSessionIsSealedAndReplayable(t *testing.T) {
	s := newSwarmServer(t)
	_, container := managerService(t, s)
	admin := s.signedIn("admin1", store.RoleAdmin)
	admin.get("/settings")
	if p := admin.post("/settings", url.Values{"record_terminals": {"true"}, "terminal_idle_minutes": {"0"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="terminal_idle_minutes-error"`) {
		t.Errorf("idle minutes of 0: %d", p.Status)
	}
	admin.post("/settings", url.Values{"record_terminals": {"true"}, "terminal_idle_minutes": {"30"}, "terminal_max_hours": {"2"}})
	if term, _ := s.Store.Terminal(context.Background()); !term.Record || term.IdleTimeout != 30*time.Minute {
		t.Fatalf("settings %+v", term)
	}
	if page := s.op.get("/terminal/" + container); !strings.Contains(page.Body, "This session's output is recorded.") {
		t.Error("the terminal page does not say the session is recorded")
	}
	ws, _, err := dialTerminal(t, s.testServer, s.op, container, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"input","data":"echo recorded-$((2+3))\rexit 0\r"}`))
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		typ, data, err := ws.Read(rctx)
		cancel()
		if err != nil || (typ == websocket.MessageText && strings.Contains(string(data), `"exit"`)) {
			break
		}
	}
	ws.CloseNow()
	var rec store.Recording
	waitFor(t, 10*time.Second, "the recording", func() bool {
		list, _ := s.Store.Recordings(ctx, 10)
		if len(list) == 1 {
			rec = list[0]
		}
		return len(list) == 1
	})
	if rec.Actor != "op" || rec.ExitCode != 0 {
		t.Errorf("recording %+v", rec)
	}
	if p := s.op.get("/recordings/" + itoa(rec.ID) + "/cast"); p.Status != http.StatusForbidden {
		t.Errorf("an operator fetched a recording: %d", p.Status)
	}
	cast := admin.get("/recordings/" + itoa(rec.ID) + "/cast")
	if cast.Status != http.StatusOK || !strings.HasPrefix(cast.Body, `{"env":`) || !strings.Contains(cast.Body, "recorded-5") {
		t.Fatalf("cast: %d %q\n%s", cast.Status, trim(cast.Body), s.Log.String()[max(0, len(s.Log.String())-1500):])
	}
	recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Action: "terminal.close"})
	if len(recs) != 1 || !strings.Contains(recs[0].Detail, "recorded as recording "+itoa(rec.ID)) {
		t.Errorf("close record %+v", recs)
	}
	// The replay page plays it in a browser.
	b := newBrowser(t)
	b.signIn(t, s.URL, "admin1")
	b.do(t, "open the recording",
		chromedp.Navigate(s.URL+"/recordings/"+itoa(rec.ID)),
	)
	b.poll(t, "the replay", `document.querySelector("#terminal").dataset.done === "true" && document.querySelector(".xterm-rows").innerText.includes("recorded-5")`, 20*time.Second)
	b.requireCleanConsole(t)
	s.Close()
	if dbFilesContain(t, s.Data, []byte("recorded-5")) {
		t.Error("the recording is in the database in clear")
	}
}

func TestTerminalReachesOnlyRunningContainersBerthCanReach(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	name, taskContainer := managerService(t, s)
	waitFor(t, 10*time.Second, "the container list to offer a terminal for the manager's task", func() bool { // as the live model learns of it
		list := s.op.get("/containers")
		return strings.Contains(list.Body, `href="/terminal/`+taskContainer+`"`) && strings.Contains(list.Body, name)
	})
	// A container that is no service's task (here also stopped): a clear message and a clean close.
	created, err := s.docker.ContainerCreate(ctx, &container.Config{Image: "berth-test/busybox:latest", Cmd: []string{"true"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.docker.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}) })
	s.op.get("/containers")
	ws, _, err := dialTerminal(t, s.testServer, s.op, created.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, msg, _ := ws.Read(rctx)
	cancel()
	if !strings.Contains(string(msg), "not a task of a swarm service") {
		t.Errorf("a container that is no service's task: %q", msg)
	}
	ws.CloseNow()
	// A task on a worker: Berth says why it cannot open it yet.
	worker := uniq("on-worker")
	spec := serviceSpec(worker)
	spec.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.role==worker"}}
	s.createService(t, spec)
	node, id, err := s.cluster.RunningContainer(ctx, worker)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the live model to know the task's container", func() bool {
		p := s.op.get("/terminal/" + id)
		return p.Status == http.StatusConflict && strings.Contains(p.Body, "runs on another node ("+node.Hostname+")") && strings.Contains(p.Body, "agent")
	})
}

func TestBrowserTerminalShowsADroppedConnectionAndReconnects(t *testing.T) {
	s := newSwarmServer(t)
	_, container := managerService(t, s)
	net := newCuttableProxy(t, strings.TrimPrefix(s.URL, "http://"))
	b := newBrowser(t)
	b.do(t, "sign in and open a terminal",
		chromedp.Navigate("http://"+net.addr+"/login"),
		chromedp.SendKeys(chromedp.CSS("#username"), "op"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#environment")),
		chromedp.Navigate("http://"+net.addr+"/terminal/"+container),
	)
	b.poll(t, "connected", `document.querySelector("#terminal-state").textContent === "Connected"`, 15*time.Second)
	net.cutAll() // the network between browser and Berth drops
	b.poll(t, "the dropped state", `document.querySelector("#terminal-state").textContent.startsWith("Disconnected") && !document.querySelector("#terminal-reconnect").hidden`, 10*time.Second)
	b.do(t, "reconnect", chromedp.Click(chromedp.CSS("#terminal-reconnect")))
	b.poll(t, "connected again", `document.querySelector("#terminal-state").textContent === "Connected"`, 15*time.Second)
	b.typeLine(t, "echo back-$((1+1))")
	b.poll(t, "a working shell", `document.querySelector(".xterm-rows").innerText.includes("back-2")`, 10*time.Second)
}

// cuttableProxy forwards TCP to Berth so a test can drop every open connection.
type cuttableProxy struct {
	addr  string
	mu    sync.Mutex
	conns []stdnet.Conn
}

func newCuttableProxy(t *testing.T, target string) *cuttableProxy {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close(); p.cutAll() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := stdnet.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *cuttableProxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
