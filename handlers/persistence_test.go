package handlers

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/store/seal"
	"github.com/berthhq/berth/store/totp"
)

func TestRestartKeepsUsersSessionsAndAudit(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, unreachableEngine)
	c := ts.signedIn("alice", store.RoleAdmin)
	c.get("/team")
	c.post("/team", url.Values{"username": {"bob"}, "role": {"viewer"}, "password": {testPassword}})
	ts.Close()

	ts2 := startServer(t, dir, unreachableEngine)
	c.base = ts2.URL // the same browser, with its cookie, against the restarted server
	p := c.get("/team")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="member-bob"`) {
		t.Fatalf("after restart the session or the user is gone: status %d", p.Status)
	}
	audit := c.get("/audit")
	for _, want := range []string{"auth.login", "user.create", "user:bob"} {
		if !strings.Contains(audit.Body, want) {
			t.Errorf("audit page after restart lacks %q", want)
		}
	}
}

func TestDatabaseHoldsNoSecretInClear(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, unreachableEngine)
	const adminPassword = "zebra-quartz-lantern-42"
	if _, err := ts.Store.CreateUser(context.Background(), "alice", adminPassword, store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	c := ts.client()
	c.login("alice", adminPassword, "")
	c.get("/account")
	token := between(c.post("/account/tokens", url.Values{"name": {"ci"}}).Body, `id="new-token">`, "<")
	secret := enrolTOTP(t, c)
	sessionCookie := ""
	u, _ := url.Parse(ts.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "berth_session" {
			sessionCookie = ck.Value
		}
	}
	c.get("/team")
	const memberPassword = "violet-harbour-mosaic-7"
	c.post("/team", url.Values{"username": {"bob"}, "role": {"viewer"}, "password": {memberPassword}})
	ts.Close() // checkpoints the WAL into the main file

	key, _, err := seal.LoadKeyFile(filepath.Join(dir, "master.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	needles := map[string][]byte{
		"admin password":     []byte(adminPassword),
		"member password":    []byte(memberPassword),
		"API token":          []byte(token),
		"API token body":     []byte(strings.TrimPrefix(token, "berth_")),
		"session token":      []byte(sessionCookie),
		"master key (raw)":   key,
		"master key (hex)":   []byte(hex.EncodeToString(key)),
		"TOTP secret (raw)":  secret,
		"TOTP secret (text)": []byte(totp.Encode(secret)),
	}
	files, _ := filepath.Glob(filepath.Join(dir, "berth.db*"))
	if len(files) == 0 || token == "" || sessionCookie == "" {
		t.Fatalf("nothing to check: files %v, token %q, cookie %q", files, token, sessionCookie)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, needle := range needles {
			if bytes.Contains(data, needle) {
				t.Errorf("%s holds the %s in clear", filepath.Base(f), name)
			}
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, "master.key")); st.Mode().Perm() != 0o600 {
		t.Errorf("master key file mode %v", st.Mode().Perm())
	}
	if strings.Contains(ts.Log.String(), adminPassword) || strings.Contains(ts.Log.String(), token) || strings.Contains(ts.Log.String(), hex.EncodeToString(key)) {
		t.Error("the server log holds a password, token or the master key")
	}
}

func TestRequiredTwoFactorKeepsMembersOnEnrolment(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ts.addUser("admin1", store.RoleAdmin)
	ts.addUser("bob", store.RoleOperator)
	admin := ts.client()
	admin.login("admin1", testPassword, "")
	enrolTOTP(t, admin)
	admin.get("/settings")
	admin.post("/settings", url.Values{"require_2fa": {"true"}})
	if on, _ := ts.Store.Require2FA(context.Background()); !on {
		t.Fatal("setting not saved")
	}
	bob := ts.client()
	bob.login("bob", testPassword, "")
	if p := bob.get("/audit"); p.Status != http.StatusSeeOther || p.Location != "/account/2fa" {
		t.Errorf("bob without two-factor: status %d to %q, want the enrolment page", p.Status, p.Location)
	}
	if p := bob.get("/account/2fa"); p.Status != http.StatusOK || !strings.Contains(p.Body, "requires two-factor") {
		t.Errorf("enrolment page: status %d", p.Status)
	}
	enrolTOTP(t, bob)
	if p := bob.get("/audit"); p.Status != http.StatusOK {
		t.Errorf("bob after enrolment: status %d", p.Status)
	}
	bob.get("/account")
	if p := bob.post("/account/2fa/disable", nil); p.Status != http.StatusForbidden {
		t.Errorf("turning off required two-factor: status %d, want 403", p.Status)
	}
	recs, _ := ts.Store.AuditRecords(context.Background(), store.AuditFilter{Action: "settings.update"})
	if len(recs) != 1 || recs[0].Actor != "admin1" || recs[0].Detail != "false -> true" {
		t.Errorf("settings audit: %+v", recs)
	}
}

func TestAuditPageFiltersAndExportsCSV(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	ctx := context.Background()
	ts.addUser("alice", store.RoleViewer)
	for i := 0; i < 3; i++ {
		ts.Store.Audit(ctx, store.AuditRecord{Actor: "carol", Role: "admin", Source: "10.1.1.1", Via: "api", Action: "user.create", Object: "user:x" + itoa(int64(i))})
	}
	ts.Store.Audit(ctx, store.AuditRecord{Actor: "dave", Role: "admin", Source: "10.1.1.2", Via: "ui", Action: "token.create", Object: "=cmd|' /C calc'!A0"})
	c := ts.client()
	c.login("alice", testPassword, "")
	p := c.get("/audit?actor=carol&action=user.")
	if strings.Count(p.Body, "user:x") != 3 || strings.Contains(p.Body, "dave") {
		t.Errorf("filtered page shows the wrong records")
	}
	if bad := c.get("/audit?from=yesterday"); bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `id="from-error"`) {
		t.Errorf("bad date: status %d", bad.Status)
	}
	today := time.Now().UTC().Format("2006-01-02")
	if p := c.get("/audit?from=" + today + "&to=" + today + "&actor=dave"); !strings.Contains(p.Body, "token.create") {
		t.Error("today's records missing with an inclusive date range")
	}
	csv := c.get("/audit.csv?actor=dave")
	if csv.Status != http.StatusOK || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: status %d, type %s", csv.Status, csv.Header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(csv.Body), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "id,time_utc,actor,role,source,via,action,object,outcome,detail") {
		t.Fatalf("CSV lines: %q", lines)
	}
	if !strings.Contains(lines[1], `'=cmd`) {
		t.Errorf("a formula-like cell was not neutralised: %s", lines[1])
	}
	if strings.Contains(c.get("/audit").Body, "Delete") {
		t.Error("the audit page offers to delete records")
	}
}
