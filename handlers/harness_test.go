package handlers

import (
	"context"
	"encoding/base32"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/store/seal"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/alerts"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/berthhq/berth/swarm/metrics"
	"github.com/labstack/echo/v4"
)

// unreachableEngine is a DOCKER_HOST where no engine listens, for tests that need none.
const unreachableEngine = "unix:///nonexistent/berth-test.sock"

// testServer is the real router over a real SQLite file and a real Docker client.
type testServer struct {
	t       testing.TB
	URL     string
	Store   *store.Store
	Engine  *swarm.Engine
	Model   *swarm.Model
	Backups *backup.Runner
	// Alerts is the alert monitor, not running: tests that need it run it (ts.runAlerts).
	Alerts  *alerts.Monitor
	Offsite *backup.Offsite
	Drills  *backup.Drills
	// Resources is the resource collection, not running: tests that need it run it.
	Resources *metrics.Collector
	// watch is the server's background context, ended when it closes.
	watch   context.Context
	Data    string
	Log     *syncBuffer
	handler *Handlers
	srv     *httptest.Server
	// stopWatch ends the engine status loop.
	stopWatch context.CancelFunc
}

// startServer serves Berth from dataDir (reused across restarts) against the engine at dockerHost.
func startServer(t testing.TB, dataDir, dockerHost string) *testServer {
	t.Helper()
	ctx := context.Background()
	key, _, err := seal.LoadKeyFile(filepath.Join(dataDir, "master.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(dataDir, "berth.db"), keys)
	if err != nil {
		t.Fatal(err)
	}
	logBuf := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logBuf, nil))
	eng, err := swarm.Connect(func(k string) string {
		if k == "DOCKER_HOST" {
			return dockerHost
		}
		return ""
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	eng.SetUploadPipeDir(filepath.Join(dataDir, "pipes"))
	model := swarm.NewModel(eng)                 // before Watch, which reads it
	go eng.Watch(watchCtx, 300*time.Millisecond) // as serve does, so the banner recovers by itself
	go model.Run(watchCtx)
	go eng.VolumeFacts(watchCtx, 10*time.Second) // as serve does, more often (Berth's own changes are read at once)
	backups := backup.NewRunner(eng, st, filepath.Join(dataDir, "backups"))
	monitor := &alerts.Monitor{Swarm: eng, Store: st, BackupDir: filepath.Join(dataDir, "backups"), Log: log,
		Interval: func(ctx context.Context) time.Duration { return backup.Interval(ctx, st) }}
	copier := backup.NewOffsite(st, backups, log)
	copier.Backoff = 500 * time.Millisecond // the fault tests wait for a retry
	backups.Completed = copier.Queue
	drills := &backup.Drills{St: st, Local: backups, Offsite: copier, Log: log}
	resources := &metrics.Collector{Source: eng, Store: st, Log: log, Every: time.Second,
		Collected: func() { eng.Announce(swarm.Change{Kind: "resources"}) }}
	monitor.Memory = resources.MemoryFacts // as serve does
	h := New(st, eng, backups, monitor, NewSessionManager(st, false), log, Config{Offsite: copier, Drills: drills, Resources: resources})
	go copier.Run(watchCtx, 2*time.Second)
	e := echo.New()
	h.Register(e)
	ts := &testServer{t: t, Store: st, Engine: eng, Model: model, Backups: backups, Alerts: monitor, Offsite: copier, Drills: drills, Resources: resources, watch: watchCtx, Data: dataDir, Log: logBuf,
		handler: h, srv: httptest.NewServer(e), stopWatch: stopWatch}
	ts.URL = ts.srv.URL
	t.Cleanup(ts.Close)
	return ts
}

// newSwarmOfOne starts a server on an engine of its own, made a one-node swarm, its helpers
// running Berth's static binary.
func newSwarmOfOne(t testing.TB) (*testServer, *enginetest.Node) {
	t.Helper()
	node := enginetest.Dedicated(t)
	ts := newServer(t, node.Host())
	if err := ts.Engine.Initialize(context.Background(), node.Addr); err != nil {
		t.Fatal(err)
	}
	ts.Engine.SetHelperBinary(staticBerthTB(t))
	return ts, node
}

// newServer starts a server on a fresh data directory.
func newServer(t testing.TB, dockerHost string) *testServer {
	return startServer(t, t.TempDir(), dockerHost)
}

// Close stops the server and closes its database (safe to call twice).
func (ts *testServer) Close() {
	if ts.srv == nil {
		return
	}
	ts.srv.Close()
	ts.stopWatch()
	ts.Engine.Close()
	ts.Store.Close()
	ts.srv = nil
}

// addUser creates a user directly in the store.
func (ts *testServer) addUser(name string, role store.Role) store.User {
	ts.t.Helper()
	u, err := ts.Store.CreateUser(context.Background(), name, testPassword, role)
	if err != nil {
		ts.t.Fatal(err)
	}
	return u
}

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// client is one visitor with its own cookies, as a browser would be.
type client struct {
	t    testing.TB
	base string
	http *http.Client
	csrf string
}

// signedIn adds a user with the role and returns a client signed in as them.
func (ts *testServer) signedIn(name string, role store.Role) *client {
	ts.addUser(name, role)
	c := ts.client()
	c.login(name, testPassword, "")
	return c
}

func (ts *testServer) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: ts.t, base: ts.URL, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is an answer with its body read.
type page struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) page {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := csrfField.FindSubmatch(body); m != nil {
		c.csrf = string(m[1])
	}
	return page{Status: res.StatusCode, Body: string(body), Header: res.Header, Location: res.Header.Get("Location")}
}

// get fetches a path.
func (c *client) get(path string) page {
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

// stream opens a server-sent events path and returns its status and whatever arrived within half a second.
func (c *client) stream(path string) page { return c.streamFor(path, 500*time.Millisecond) }

// streamFor opens a server-sent events path and returns what arrived within d.
func (c *client) streamFor(path string, d time.Duration) page {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body) // ends with the context for a live stream
	return page{Status: res.StatusCode, Body: string(body), Header: res.Header, Location: res.Header.Get("Location")}
}

// post submits a form with the CSRF token of the last page seen, as a user who said yes to
// any confirmation (TestDestructiveActionsAskFirst sends them unconfirmed; a form with
// confirmed set to "" goes unconfirmed).
func (c *client) post(path string, form url.Values) page {
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" {
		form.Set("_csrf", c.csrf)
	}
	if _, set := form["confirmed"]; !set {
		form.Set("confirmed", "yes")
	}
	return c.postRaw(path, form)
}

// postRaw submits a form exactly as given.
func (c *client) postRaw(path string, form url.Values) page {
	return c.send(http.MethodPost, path, form)
}

// send submits a form with the given method (the CSRF token also goes in the header htmx and scripts use).
func (c *client) send(method, path string, form url.Values) page {
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(form.Encode()))
	if t := form.Get("_csrf"); t != "" && method != http.MethodPost {
		req.Header.Set("X-CSRF-Token", t)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// login signs in through the form and fails the test unless it succeeds.
func (c *client) login(username, password, otp string) {
	c.t.Helper()
	if p := c.tryLogin(username, password, otp); p.Status != http.StatusSeeOther {
		c.t.Fatalf("login %s: status %d\n%s", username, p.Status, p.Body)
	}
}

// tryLogin loads the login page (for its CSRF token) and posts the form.
func (c *client) tryLogin(username, password, otp string) page {
	c.get("/login")
	return c.post("/login", url.Values{"username": {username}, "password": {password}, "otp": {otp}})
}

// signedIn reports whether the client's session reaches the dashboard.
func (c *client) signedIn() bool {
	p := c.get("/account")
	return p.Status == http.StatusOK
}

// syncBuffer collects the server's log so tests can search it while it writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Reset forgets what was written (the load benchmark's millions of request lines).
func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// totpDecode reads the base32 key an enrolment page shows.
func totpDecode(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}

// checked is a call's value and error, so a "nothing changed" check never reads a
// failed listing as "nothing there": must(call()).value(t).
type checked[T any] struct {
	v   T
	err error
}

// must holds a call's results until value checks the error.
func must[T any](v T, err error) checked[T] { return checked[T]{v, err} }

// value fails the test if the call failed and returns what it returned.
func (c checked[T]) value(t testing.TB) T {
	t.Helper()
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.v
}

// step runs one named step of a scenario as a subtest, so a failure names the step;
// a failed step ends the scenario, because the steps after it build on its state.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, fn) {
		t.FailNow()
	}
}
