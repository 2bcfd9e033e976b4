package handlers

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/alerts"
	"github.com/berthhq/berth/swarm/enginetest"
)

// hookReceiver is a webhook endpoint in the test process that keeps what arrived,
// checking each body's signature.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	messages []alerts.Message
	badSig   int
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var m alerts.Message
		json.Unmarshal(body, &m)
		r.mu.Lock()
		defer r.mu.Unlock()
		if req.Header.Get(alerts.SignatureHeader) != alerts.Sign(secret, body) {
			r.badSig++
		}
		r.messages = append(r.messages, m)
		io.WriteString(w, "thanks")
	}))
	t.Cleanup(r.Close)
	return r
}

// events lists the received messages as "event object".
func (r *hookReceiver) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.messages {
		out = append(out, m.Event+" "+m.Object)
	}
	return out
}

func subjects(t *testing.T, mail *enginetest.Mailpit) []string {
	t.Helper()
	list, err := mail.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range list {
		out = append(out, m.Subject)
	}
	return out
}

func count(list []string, want string) int {
	n := 0
	for _, s := range list {
		if strings.Contains(s, want) {
			n++
		}
	}
	return n
}

// alertChannels adds an email channel to mail and a signed webhook channel to hook, through the API.
func alertChannels(t *testing.T, ts *testServer, token string, mail *enginetest.Mailpit, hook *hookReceiver) {
	t.Helper()
	ts.mustAPI(t, token, http.MethodPost, "/api/v1/alerts/channels", map[string]any{"kind": "email", "name": "On-call", "host": mail.SMTPHost,
		"port": mail.SMTPPort, "security": "none", "username": "berth", "password": "mail-pass-9", "from": "berth@example.com", "to": []string{"ops@example.com"}}, http.StatusCreated)
	ts.mustAPI(t, token, http.MethodPost, "/api/v1/alerts/channels", map[string]any{"kind": "webhook", "name": "Pager", "url": hook.URL,
		"format": "json", "secret": "hook-secret-7"}, http.StatusCreated)
}

func TestAlertsReachEmailAndWebhookWhenAWorkerStopsAndWhenItIsBack(t *testing.T) {
	ctx := context.Background()
	cluster, err := enginetest.StartCluster(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Destroy)
	ts := newServer(t, cluster.Manager().Host())
	ts.addUser("alertadmin", store.RoleAdmin)
	token := must(createToken(ts, "alertadmin")).value(t)
	mail, hook := enginetest.StartMailpit(t), newHookReceiver(t, "hook-secret-7")
	alertChannels(t, ts, token, mail, hook)

	step(t, "Send a test reaches both channels and shows the servers' answers", func(t *testing.T) {
		var chans []struct{ ID int64 }
		ts.mustAPI(t, token, http.MethodGet, "/api/v1/alerts/channels", nil, http.StatusOK).decode(t, &chans)
		for _, ch := range chans {
			r := ts.mustAPI(t, token, http.MethodPost, "/api/v1/alerts/channels/"+itoa(ch.ID)+"/test", nil, http.StatusOK)
			if !strings.Contains(r.Body, "accepted by") && !strings.Contains(r.Body, "200 OK thanks") {
				t.Errorf("test answer %s", r.Body)
			}
		}
		if got := subjects(t, mail); count(got, "Berth test message") != 1 {
			t.Errorf("mail after the test: %v", got)
		}
		if got := hook.events(); len(got) != 1 || !strings.HasPrefix(got[0], "test ") {
			t.Errorf("webhook after the test: %v", got)
		}
		if p := ts.signedIn("alertviewer", store.RoleAdmin).get("/alerts"); strings.Contains(p.Body, "mail-pass-9") || strings.Contains(p.Body, "hook-secret-7") {
			t.Error("the Alerts page shows a channel's password or secret")
		}
	})

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go ts.Alerts.Run(runCtx, time.Second)
	worker := cluster.Nodes[1]
	var hostname string
	step(t, "a stopped worker: one email and one webhook naming the node", func(t *testing.T) {
		nodes := must(ts.Engine.NodeInfos(ctx)).value(t)
		for _, n := range nodes {
			if !n.Manager() {
				hostname = n.Hostname
			}
		}
		start := time.Now()
		worker.Stop()
		waitFor(t, 90*time.Second, "the node-down alert by email and webhook", func() bool {
			return count(subjects(t, mail), "Alert: Node "+hostname+" is") == 1 && count(hook.events(), "open node:"+hostname) == 1
		})
		t.Logf("the node-down alert arrived %s after the worker's engine stopped", time.Since(start).Round(time.Second))
		if p := ts.signedIn("alertop", store.RoleOperator).get("/"); !strings.Contains(p.Body, `id="alert-badge"`) {
			t.Error("the navigation shows no open alert")
		}
	})
	step(t, "started again: one resolved message per channel, and nothing more", func(t *testing.T) {
		start := time.Now()
		if err := worker.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 120*time.Second, "the resolved message by email and webhook", func() bool {
			return count(subjects(t, mail), "Resolved: Node "+hostname) == 1 && count(hook.events(), "resolved node:"+hostname) == 1
		})
		t.Logf("the resolved message arrived %s after the worker's engine started", time.Since(start).Round(time.Second))
		time.Sleep(3 * time.Second)
		mails, hooks := subjects(t, mail), hook.events()
		if count(mails, hostname) != 2 || count(hooks, hostname) != 2 || hook.badSig != 0 {
			t.Errorf("messages about the node: mail %v, webhook %v (%d bad signatures)", mails, hooks, hook.badSig)
		}
		var list []map[string]any
		ts.mustAPI(t, token, http.MethodGet, "/api/v1/alerts", nil, http.StatusOK).decode(t, &list)
		if len(list) != 1 || list[0]["state"] != "resolved" || list[0]["object"] != "node:"+hostname {
			t.Errorf("alerts: %v", list)
		}
	})
}

func TestAlertDeliveriesSurviveAMailServerOutageAndARestart(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	ctx := context.Background()
	admin := s.signedIn("loopadmin", store.RoleAdmin)
	token := must(createToken(s.testServer, "loopadmin")).value(t)
	mail := enginetest.StartMailpit(t)
	s.mustAPI(t, token, http.MethodPost, "/api/v1/alerts/channels", map[string]any{"kind": "email", "name": "On-call", "host": mail.SMTPHost,
		"port": mail.SMTPPort, "security": "none", "from": "berth@example.com", "to": []string{"ops@example.com"}}, http.StatusCreated)
	admin.get("/alerts")
	form := url.Values{"degraded_minutes": {"60"}, "restart_failures": {"2"}, "cert_days": {"14"}, "disk_percent": {"99"}, "repeat_hours": {"4"}, "memory_percent": {"90"}, "memory_minutes": {"5"}}
	for kind := range alerts.Kinds {
		if kind != alerts.KindServiceDegraded { // the crashing service is short of tasks too: only its loop is asked for
			form.Set("on_"+kind, "on")
		}
	}
	if p := admin.post("/alerts/settings", form); p.Status != http.StatusSeeOther {
		t.Fatalf("settings: %d %s", p.Status, p.Body)
	}
	if saved := must(alerts.LoadSettings(ctx, s.Store)).value(t); !saved.Off[alerts.KindServiceDegraded] || saved.Off[alerts.KindRestartLoop] || saved.RestartFailures != 2 {
		t.Fatalf("saved settings: %+v", saved)
	}
	name := uniq("crash")
	s.mustAPI(t, s.token, http.MethodPost, "/api/v1/services", map[string]any{"name": name, "image": enginetest.BusyboxImage, "endpoint_mode": "dnsrr",
		"command": []string{"sh", "-c", "exit 3"}, "restart_policy": map[string]any{"condition": "any", "delay": "1s"}}, http.StatusCreated)
	t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), name) })
	mail.Stop()
	run := func(ts *testServer) context.CancelFunc {
		ts.Alerts.Backoff = []time.Duration{time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second}
		rc, cancel := context.WithCancel(ctx)
		go ts.Alerts.Run(rc, time.Second)
		return cancel
	}
	stop := run(s.testServer)
	var alertID int64
	step(t, "the restart loop opens an alert whose email fails while the server is down", func(t *testing.T) {
		waitFor(t, 90*time.Second, "a failed try in the alert's history", func() bool {
			var list []struct {
				ID         int64
				Kind       string
				Deliveries []string
			}
			s.mustAPI(t, token, http.MethodGet, "/api/v1/alerts?kind=restart_loop", nil, http.StatusOK).decode(t, &list)
			if len(list) == 1 && len(list[0].Deliveries) == 1 && strings.Contains(list[0].Deliveries[0], "failed") {
				alertID = list[0].ID
				return true
			}
			return false
		})
	})
	step(t, "an operator acknowledges it, and an open Alerts page is pushed the change", func(t *testing.T) {
		viewer := s.signedIn("loopviewer", store.RoleViewer)
		got := make(chan page, 1)
		go func() { got <- viewer.streamFor("/alerts/events", 6*time.Second) }()
		time.Sleep(time.Second)
		s.mustAPI(t, s.token, http.MethodPost, "/api/v1/alerts/"+itoa(alertID)+"/ack", nil, http.StatusOK)
		if p := <-got; !strings.Contains(p.Body, "event: alerts") || !strings.Contains(p.Body, "acknowledged") {
			t.Errorf("the open page's stream after the acknowledgement: %q", truncate(p.Body, 300))
		}
		if r := s.api(t, s.token, http.MethodPost, "/api/v1/alerts/"+itoa(alertID)+"/ack", nil); r.Status != http.StatusConflict {
			t.Errorf("acknowledging twice: %d %s", r.Status, r.Body)
		}
	})
	stop()
	dir := s.Data
	s.testServer.Close()
	ts2 := startServer(t, dir, s.cluster.Manager().Host())
	if err := mail.Start(); err != nil {
		t.Fatal(err)
	}
	stop2 := run(ts2)
	defer stop2()
	step(t, "after Berth restarts and the server is back, the pending email goes, and the history says so", func(t *testing.T) {
		waitFor(t, 60*time.Second, "the loop's email", func() bool { return count(subjects(t, mail), "restarts in a loop") == 1 })
		// The server has the message before Berth records the try: wait for the record too.
		var ds []store.AlertDelivery
		waitFor(t, 10*time.Second, "the delivery recorded as sent", func() bool {
			ds = must(ts2.Store.AlertDeliveries(ctx, alertID)).value(t)
			return len(ds) == 1 && ds[0].State == "sent"
		})
		if len(ds) != 1 || ds[0].State != "sent" || ds[0].Attempts < 2 || ds[0].LastError == "" {
			t.Errorf("delivery after the outage: %+v", ds)
		}
	})
	step(t, "fixed, the service's alert resolves", func(t *testing.T) {
		ts2.mustAPI(t, s.token, http.MethodPatch, "/api/v1/services/"+name, map[string]any{"command": []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"}}, http.StatusOK)
		waitFor(t, 120*time.Second, "the resolved email", func() bool { return count(subjects(t, mail), "Resolved: "+name+" restarts in a loop") == 1 })
	})
}

func TestABackupIntoAFullDirectoryRaisesBackupFailedWithItsReason(t *testing.T) {
	e := newBackupEnv(t)
	ctx := context.Background()
	dir := filepath.Join(e.Data, "backups")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a small disk for the backups: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	filler, _ := os.Create(filepath.Join(dir, "filler"))
	for _, err := filler.Write(make([]byte, 64<<10)); err == nil; _, err = filler.Write(make([]byte, 4<<10)) {
	}
	filler.Close()
	snap := e.backupNow(t)
	if snap.Status != "failed" || !strings.Contains(snap.Error, "no space left on device") {
		t.Fatalf("the backup into a full disk: %s %q", snap.Status, snap.Error)
	}
	waitFor(t, 30*time.Second, "the backup-failed alert", func() bool {
		if err := e.Alerts.CheckOnce(ctx); err != nil {
			t.Fatal(err)
		}
		list := must(e.Store.Alerts(ctx, store.AlertFilter{State: "open", Kind: alerts.KindBackupFailed})).value(t)
		return len(list) == 1 && strings.Contains(list[0].Detail, "no space left on device") && strings.Contains(list[0].Title, snap.ID)
	})
	// Its disk is full too: the disk alert opens beside it.
	if list := must(e.Store.Alerts(ctx, store.AlertFilter{State: "open", Kind: alerts.KindBackupDisk})).value(t); len(list) != 1 {
		t.Errorf("no disk alert for a full backup directory: %+v", list)
	}
}

// Bad channel settings are refused by field, and Send a test shows the server's own
// refusal next to the channel; the password is sealed in the database file.
func TestChannelSettingsAreCheckedAndATestShowsTheServersRefusal(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ts.addUser("chanadmin", store.RoleAdmin)
	token := must(createToken(ts, "chanadmin")).value(t)
	if r := ts.api(t, token, http.MethodPost, "/api/v1/alerts/channels", map[string]any{"kind": "email", "name": "x", "host": "smtp example", "port": 0,
		"security": "ssl", "from": "nobody", "to": []string{"also nobody"}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, `"host"`) || !strings.Contains(r.Body, `"port"`) || !strings.Contains(r.Body, `"security"`) || !strings.Contains(r.Body, `"from"`) || !strings.Contains(r.Body, `"to"`) {
		t.Errorf("bad email settings: %d %s", r.Status, r.Body)
	}
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no such hook", http.StatusNotFound) }))
	defer refusing.Close()
	closed := freeLocalPort(t)
	strict := enginetest.StartMailpitWithLogin(t, "berth", "right-password")
	for _, tc := range []struct {
		channel map[string]any
		says    string
	}{
		{map[string]any{"kind": "email", "name": "closed", "host": "127.0.0.1", "port": closed, "security": "none", "username": "u", "password": "pw-in-clear-1",
			"from": "berth@example.com", "to": []string{"ops@example.com"}}, "connection refused"},
		{map[string]any{"kind": "email", "name": "wrong login", "host": strict.SMTPHost, "port": strict.SMTPPort, "security": "none", "username": "berth", "password": "wrong-password",
			"from": "berth@example.com", "to": []string{"ops@example.com"}}, "535"},
		{map[string]any{"kind": "email", "name": "unknown", "host": "no-such-host.invalid", "port": 587, "security": "starttls", "from": "berth@example.com", "to": []string{"ops@example.com"}}, "no-such-host.invalid"},
		{map[string]any{"kind": "webhook", "name": "refusing", "url": refusing.URL, "format": "json"}, "404 Not Found no such hook"},
	} {
		var ch struct{ ID int64 }
		ts.mustAPI(t, token, http.MethodPost, "/api/v1/alerts/channels", tc.channel, http.StatusCreated).decode(t, &ch)
		r := ts.api(t, token, http.MethodPost, "/api/v1/alerts/channels/"+itoa(ch.ID)+"/test", nil)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tc.says) {
			t.Errorf("%s: test answered %d %s, want the server's %q", tc.channel["name"], r.Status, r.Body, tc.says)
		}
	}
	admin := ts.signedIn("chanpage", store.RoleAdmin)
	admin.get("/alerts")
	if p := admin.post("/alerts/channels/1/test", nil); p.Status != http.StatusUnprocessableEntity || !strings.Contains(between(p.Body, `id="channel-1"`, "</tr>"), "Not sent:") {
		t.Errorf("the page does not show the refusal next to the channel: %d", p.Status)
	}
	db, err := os.ReadFile(filepath.Join(ts.Data, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(ts.Data, "berth.db-wal"))
	if strings.Contains(string(db)+string(wal), "pw-in-clear-1") {
		t.Error("a channel's password is in the database file in clear")
	}
}

func freeLocalPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
