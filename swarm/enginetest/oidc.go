package enginetest

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// EnvOIDC names the built OpenID provider (set by the test command).
const EnvOIDC = "BERTH_TEST_OIDC"

// OIDCUser is a user of the test provider, with their groups.
type OIDCUser struct {
	ID, Username, Password, Email string
	Groups                        []string
}

// OIDCProvider is a real OpenID provider (zitadel/oidc's example, swarm/enginetest/oidcprovider)
// with a login page, serving one confidential client for Berth and another ("other-app").
// Its issuer address is a pass-through proxy in front of it, through which a test may
// play an attacker and replace the ID token in the provider's token answers (Tamper).
type OIDCProvider struct {
	Issuer, ClientID, ClientSecret string
	users                          string
	mu                             sync.Mutex
	tamper                         func(idToken string) string
	serverProcess
}

// StartOIDC starts a provider whose clients accept the redirect URI, stopped when the test ends.
func StartOIDC(t testing.TB, redirectURI string, users ...OIDCUser) *OIDCProvider {
	t.Helper()
	bin := toolBinary(t, EnvOIDC, "OpenID provider")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &OIDCProvider{Issuer: "http://" + ln.Addr().String() + "/", ClientID: "berth", ClientSecret: "berth-client-secret-" + strconv.Itoa(freePort(t)),
		users: filepath.Join(dir, "users.json")}
	p.SetUsers(t, users...)
	p.name, p.wait, p.addr, p.log = "oidc provider", 15*time.Second, net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))), filepath.Join(dir, "provider.log")
	p.args = []string{"/usr/bin/env", "ADDR=" + p.addr, "ISSUER=" + p.Issuer, "CLIENT_ID=" + p.ClientID, "CLIENT_SECRET=" + p.ClientSecret,
		"REDIRECT_URI=" + redirectURI, "USERS_FILE=" + p.users, bin}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: p.addr})
	proxy.ModifyResponse = p.modify
	proxy.ErrorLog = log.New(io.Discard, "", 0) // the provider stopped on purpose answers 502
	srv := &http.Server{Handler: proxy}
	go srv.Serve(ln) //nolint:errcheck // ends with Close below
	t.Cleanup(func() { srv.Close() })
	return p
}

// Tamper makes the provider's token answers carry the ID token change returns (nil: as issued).
func (p *OIDCProvider) Tamper(change func(idToken string) string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = change
}

// modify replaces the ID token of a token answer when the test asked to.
func (p *OIDCProvider) modify(res *http.Response) error {
	p.mu.Lock()
	change := p.tamper
	p.mu.Unlock()
	if change == nil || res.Request.URL.Path != "/oauth/token" || res.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	answer := map[string]any{}
	if err := json.Unmarshal(body, &answer); err != nil {
		return err
	}
	if id, ok := answer["id_token"].(string); ok {
		answer["id_token"] = change(id)
	}
	body, _ = json.Marshal(answer)
	res.Body, res.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// SetUsers replaces the provider's users (it reads them at every sign-in).
func (p *OIDCProvider) SetUsers(t testing.TB, users ...OIDCUser) {
	t.Helper()
	file := map[string]any{}
	for _, u := range users {
		file[u.ID] = map[string]any{"ID": u.ID, "Username": u.Username, "Password": u.Password, "Email": u.Email, "EmailVerified": true,
			"FirstName": u.Username, "LastName": "Test", "groups": u.Groups}
	}
	data, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	tmp := p.users + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p.users); err != nil {
		t.Fatal(err)
	}
}
