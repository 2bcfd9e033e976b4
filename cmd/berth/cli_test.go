package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
)

// syncBuffer is a log sink the test can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a getenv over a fixed map; the engine is never the user's own.
func env(kv map[string]string) func(string) string {
	return func(k string) string {
		if k == "DOCKER_HOST" && kv[k] == "" {
			return "unix:///nonexistent/berth-cli-test.sock"
		}
		return kv[k]
	}
}

// startServe runs `berth serve` in the background and returns its base URL, its log and a stop function.
func startServe(t *testing.T, dataDir string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dataDir}, env(nil), strings.NewReader(""), &bytes.Buffer{}, logs)
	}()
	addr := regexp.MustCompile(`msg="berth listening" addr=(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := addr.FindStringSubmatch(logs.String()); m != nil {
			var once sync.Once
			var stopErr error
			stop := func() error {
				once.Do(func() {
					cancel()
					select {
					case stopErr = <-done:
					case <-time.After(20 * time.Second):
						t.Error("serve did not stop within 20s of SIGTERM")
					}
				})
				return stopErr
			}
			return "http://" + m[1], logs, stop
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	t.Fatalf("serve did not start:\n%s", logs.String())
	return "", nil, nil
}

func TestServeFirstStartPrintsSetupLinkAndStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	base, logs, stop := startServe(t, dir)
	m := regexp.MustCompile(`setup_url="?\S+/setup\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no setup link in the log:\n%s", logs.String())
	}
	res, err := http.Get(base + "/setup?token=" + m[1])
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("setup link answers %d", res.StatusCode)
	}
	if err := stop(); err != nil {
		t.Errorf("graceful shutdown returned %v", err)
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Error("no shutdown in the log")
	}
	if strings.Contains(logs.String(), "master.key") && strings.Contains(logs.String(), "key=") {
		t.Error("the log may hold the key")
	}
}

func TestUserAddTokenCreateAndHealthcheck(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	e := env(map[string]string{"BERTH_DATA": dir})
	var out bytes.Buffer
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		err   string
	}{
		{"no password-stdin", []string{"user", "add", "--username", "ann", "--role", "admin"}, "", "--password-stdin"},
		{"bad role", []string{"user", "add", "--username", "ann", "--role", "root", "--password-stdin"}, "correct horse battery\n", "--role must be"},
		{"bad username", []string{"user", "add", "--username", "Ann!", "--role", "admin", "--password-stdin"}, "correct horse battery\n", "--username"},
		{"weak password", []string{"user", "add", "--username", "ann", "--role", "admin", "--password-stdin"}, "short\n", "at least 12"},
	} {
		err := run(ctx, tc.args, e, strings.NewReader(tc.stdin), &out, &out)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
		}
	}
	if err := run(ctx, []string{"user", "add", "--username", "ann", "--role", "operator", "--password-stdin"}, e, strings.NewReader("correct horse battery\n"), &out, &out); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"user", "add", "--username", "ann", "--role", "viewer", "--password-stdin"}, e, strings.NewReader("correct horse battery\n"), &out, &out); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("duplicate user: %v", err)
	}
	if err := run(ctx, []string{"token", "create", "--username", "nobody", "--name", "ci"}, e, nil, &out, &out); err == nil || !strings.Contains(err.Error(), `no user named "nobody"`) {
		t.Errorf("token for unknown user: %v", err)
	}
	var tokenOut bytes.Buffer
	if err := run(ctx, []string{"token", "create", "--username", "ann", "--name", "ci"}, e, nil, &tokenOut, &out); err != nil {
		t.Fatal(err)
	}
	token := tokenOut.String()
	if !regexp.MustCompile(`^berth_[A-Za-z0-9_-]{43}\n$`).MatchString(token) {
		t.Fatalf("token create printed %q, want only the token", token)
	}

	base, _, stop := startServe(t, dir)
	defer stop()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(body.String(), `"username":"ann"`) || !strings.Contains(body.String(), `"role":"operator"`) {
		t.Errorf("/api/v1/me with the CLI token: %d %s", res.StatusCode, body.String())
	}
	var hc bytes.Buffer
	if err := run(ctx, []string{"healthcheck", "--addr", strings.TrimPrefix(base, "http://")}, e, nil, &hc, &hc); err != nil || !strings.Contains(hc.String(), "database=ok") {
		t.Errorf("healthcheck against a running server: %v %s", err, hc.String())
	}
	if err := run(ctx, []string{"healthcheck", "--addr", "127.0.0.1:1"}, e, nil, &hc, &hc); err == nil {
		t.Error("healthcheck with nothing listening passed")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, config{DataDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, _ := st.AuditRecords(ctx, store.AuditFilter{})
	var actions []string
	for _, r := range recs {
		if r.Via == "cli" && strings.HasPrefix(r.Actor, "cli") {
			actions = append(actions, r.Action)
		}
	}
	if strings.Join(actions, ",") != "token.create,user.create" {
		t.Errorf("CLI audit records: %v", actions)
	}
}
