package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// berthProcess is Berth built as the README says and run as its own process, for tests
// that kill it in the middle of something.
type berthProcess struct {
	t    *testing.T
	bin  string
	Data string
	Addr string
	env  []string
	cmd  *exec.Cmd
}

// newBerthProcess prepares a Berth on an engine with a fresh data directory (not started).
func newBerthProcess(t *testing.T, dockerHost string) *berthProcess {
	p := &berthProcess{t: t, bin: staticBerth(t), Data: t.TempDir(), Addr: freeAddr(t)}
	p.env = append(os.Environ(), "DOCKER_HOST="+dockerHost, "BERTH_DATA="+p.Data)
	t.Cleanup(p.Kill)
	return p
}

// run runs a subcommand (user add, token create) and returns what it printed.
func (p *berthProcess) run(stdin string, args ...string) string {
	p.t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Env, cmd.Stdin = p.env, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("berth %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// member adds a member with testPassword and returns an API token of theirs.
func (p *berthProcess) member(name, role string) string {
	p.run(testPassword+"\n", "user", "add", "--username", name, "--role", role, "--password-stdin")
	return p.run("", "token", "create", "--username", name, "--name", "process-test")
}

// Serve starts `berth serve` and waits until it answers.
func (p *berthProcess) Serve() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "serve", "--addr", p.Addr)
	p.cmd.Env = p.env
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + p.Addr + "/healthz"); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatal("berth did not start")
}

// Kill ends the process at once, as a power cut would.
func (p *berthProcess) Kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(os.Kill)
		p.cmd.Wait()
		p.cmd = nil
	}
}

// call sends an API request with a token and a JSON body (nil: none).
func (p *berthProcess) call(method, path, token string, body any) (int, string) {
	p.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, "http://"+p.Addr+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}
