package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// MailpitVersion is the SMTP server the alert tests deliver to, built from the module proxy.
const MailpitVersion = "v1.33.1"

// EnvMailpit names the built mailpit binary (set by the test command).
const EnvMailpit = "BERTH_TEST_MAILPIT"

// Mailpit is a real SMTP server with an HTTP API to read what arrived.
type Mailpit struct {
	SMTPHost string
	SMTPPort int
	api      string
	serverProcess
}

// MailMessage is one message as mailpit lists it.
type MailMessage struct {
	Subject string
	To      []struct{ Address string }
	Created time.Time
}

// StartMailpit starts a mail server on free local ports that takes any login, stopped when the test ends.
func StartMailpit(t testing.TB) *Mailpit { return startMailpit(t, "") }

// StartMailpitWithLogin starts a mail server that accepts only this user and password.
func StartMailpitWithLogin(t testing.TB, user, password string) *Mailpit {
	file := filepath.Join(t.TempDir(), "smtp-users")
	if err := os.WriteFile(file, []byte(user+":"+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startMailpit(t, file)
}

func startMailpit(t testing.TB, users string) *Mailpit {
	t.Helper()
	bin := toolBinary(t, EnvMailpit, "mail server")
	m := &Mailpit{SMTPHost: "127.0.0.1", SMTPPort: freePort(t)}
	m.name, m.wait = "mailpit", 15*time.Second
	m.addr = net.JoinHostPort(m.SMTPHost, strconv.Itoa(m.SMTPPort))
	web := freePort(t)
	m.api = fmt.Sprintf("http://127.0.0.1:%d", web)
	m.args = []string{"--smtp", fmt.Sprintf("127.0.0.1:%d", m.SMTPPort), "--listen", fmt.Sprintf("127.0.0.1:%d", web),
		"--database", filepath.Join(t.TempDir(), "mail.db"), "--smtp-auth-allow-insecure", "--quiet"}
	if users != "" {
		m.args = append(m.args, "--smtp-auth-file", users)
	} else {
		m.args = append(m.args, "--smtp-auth-accept-any")
	}
	m.args = append([]string{bin}, m.args...)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

// Messages lists what arrived, newest first.
func (m *Mailpit) Messages(ctx context.Context) ([]MailMessage, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.api+"/api/v1/messages?limit=200", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var body struct{ Messages []MailMessage }
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, err
	}
	return body.Messages, nil
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// toolBinary is the path of a server the test command built (named by env); without it
// the test is skipped, or fails under CI, where the test command always builds it.
func toolBinary(t testing.TB, env, what string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no %s (%s unset) under CI", what, env)
		}
		t.Skip("no " + what + ": run the tests with the test command (go run ./cmd/testenv)")
	}
	return bin
}
