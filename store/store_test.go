package store

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store/seal"
	"github.com/berthhq/berth/store/totp"
)

// openTest opens a store on a fresh file with a fixed master key.
func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	keys, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "berth.db")
	s, err := Open(context.Background(), path, keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestValidateUsernameAndPassword(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"alice", ""}, {"a.b-c_1", ""}, {"", "Enter a username."},
		{strings.Repeat("a", 33), "Use at most 32 characters."},
		{"Alice", "Use lower-case"}, {"-alice", "Use lower-case"}, {"al ice", "Use lower-case"},
	} {
		if got := ValidateUsername(tc.name); !strings.HasPrefix(got, tc.want) || (tc.want == "" && got != "") {
			t.Errorf("ValidateUsername(%q) = %q, want %q...", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct{ user, pw, want string }{
		{"alice", "correct horse battery", ""},
		{"alice", "short", "Use at least 12"},
		{"alice", "alice-is-my-password", "must not contain the username"},
		{"alice", "aaaaaaaaaaaaaaa", "one character repeated"},
		{"alice", strings.Repeat("x", 200) + strings.Repeat("y", 57), "at most 256"},
	} {
		got := ValidatePassword(tc.user, tc.pw)
		if (tc.want == "" && got != "") || (tc.want != "" && !strings.Contains(got, tc.want)) {
			t.Errorf("ValidatePassword(%q) = %q, want %q", tc.pw, got, tc.want)
		}
	}
}

func TestUsersPasswordsAndDuplicates(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "alice", "correct horse battery", RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "ALICE", "correct horse battery", RoleViewer); err == nil {
		t.Error("a username differing only in case was accepted")
	}
	if _, err := s.CreateUser(ctx, "alice", "correct horse battery", RoleViewer); !errors.Is(err, ErrUsernameTaken) {
		t.Errorf("duplicate: err = %v, want ErrUsernameTaken", err)
	}
	if _, err := s.CreateUser(ctx, "bob", "correct horse battery", Role("root")); err == nil {
		t.Error("an unknown role was accepted")
	}
	if _, err := s.CheckPassword(ctx, "alice", "wrong horse battery"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := s.CheckPassword(ctx, "nobody", "correct horse battery"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("unknown user: %v", err)
	}
	if got, err := s.CheckPassword(ctx, "alice", "correct horse battery"); err != nil || got.ID != u.ID {
		t.Fatalf("right password: %v", err)
	}
	if err := s.SetPassword(ctx, u.ID, "another long passphrase"); err != nil {
		t.Fatal(err)
	}
	after, _ := s.User(ctx, u.ID)
	if after.SessionEpoch == u.SessionEpoch {
		t.Error("a password change must move the session epoch so old sessions end")
	}
	if _, err := s.User(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing user: err = %v, want ErrNotFound", err)
	}
}

func TestSetupTokenWorksOnceAndExpires(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now().UTC()
	s.now = func() time.Time { return now }
	old, _ := s.NewSetupToken(ctx)
	token, _ := s.NewSetupToken(ctx)
	if err := s.CheckSetupToken(ctx, old); !errors.Is(err, ErrSetupTokenExpired) {
		t.Errorf("older token after a newer one: %v, want expired", err)
	}
	if err := s.CheckSetupToken(ctx, "made-up"); !errors.Is(err, ErrSetupTokenUnknown) {
		t.Errorf("unknown token: %v", err)
	}
	if _, err := s.CreateFirstAdmin(ctx, token, "root-admin", "short"); err == nil {
		t.Error("a weak password was accepted")
	}
	if err := s.CheckSetupToken(ctx, token); err != nil {
		t.Fatalf("a failed attempt must not use up the token: %v", err)
	}
	u, err := s.CreateFirstAdmin(ctx, token, "root-admin", "correct horse battery")
	if err != nil || u.Role != RoleAdmin {
		t.Fatalf("first admin: %+v, %v", u, err)
	}
	if _, err := s.CreateFirstAdmin(ctx, token, "second", "correct horse battery"); !errors.Is(err, ErrSetupTokenUsed) {
		t.Errorf("reused token: %v, want used", err)
	}
	late, _ := s.NewSetupToken(ctx)
	s.now = func() time.Time { return now.Add(SetupTokenLifetime + time.Second) }
	if err := s.CheckSetupToken(ctx, late); !errors.Is(err, ErrSetupTokenExpired) {
		t.Errorf("token after its lifetime: %v, want expired", err)
	}
}

func TestTOTPEnrolmentReplayAndRecoveryCodes(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "carol", "correct horse battery", RoleViewer)
	secret, err := s.BeginTOTP(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmTOTP(ctx, u.ID, "000000"); !errors.Is(err, ErrBadCode) && totp.Code(secret, totp.StepAt(time.Now()), 6) != "000000" {
		t.Errorf("wrong first code: %v", err)
	}
	code := totp.Code(secret, totp.StepAt(time.Now()), 6)
	codes, err := s.ConfirmTOTP(ctx, u.ID, code)
	if err != nil || len(codes) != recoveryCodeCount {
		t.Fatalf("confirm: %d codes, %v", len(codes), err)
	}
	if err := s.CheckSecondFactor(ctx, u.ID, code); !errors.Is(err, ErrBadCode) {
		t.Errorf("the enrolment code used again: %v, want refused", err)
	}
	next := totp.Code(secret, totp.StepAt(time.Now())+1, 6)
	if err := s.CheckSecondFactor(ctx, u.ID, next); err != nil {
		t.Errorf("the next step's code: %v", err)
	}
	if err := s.CheckSecondFactor(ctx, u.ID, strings.ToUpper(codes[0])); err != nil {
		t.Errorf("recovery code: %v", err)
	}
	if err := s.CheckSecondFactor(ctx, u.ID, codes[0]); !errors.Is(err, ErrBadCode) {
		t.Errorf("recovery code twice: %v, want refused", err)
	}
	if left, _ := s.RecoveryCodesLeft(ctx, u.ID); left != recoveryCodeCount-1 {
		t.Errorf("recovery codes left = %d", left)
	}
}

func TestAPITokensBelongToTheirOwner(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	alice, _ := s.CreateUser(ctx, "alice", "correct horse battery", RoleOperator)
	bob, _ := s.CreateUser(ctx, "bob", "correct horse battery", RoleViewer)
	token, tok, err := s.CreateAPIToken(ctx, alice.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.UserByAPIToken(ctx, token); err != nil || got.ID != alice.ID {
		t.Fatalf("token owner: %v %v", got.Username, err)
	}
	if _, err := s.RevokeAPIToken(ctx, bob.ID, tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob revoking alice's token: %v, want not found", err)
	}
	if _, _, err := s.UserByAPIToken(ctx, token); err != nil {
		t.Error("alice's token stopped working after bob's attempt")
	}
	if _, err := s.RevokeAPIToken(ctx, alice.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UserByAPIToken(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token still works: %v", err)
	}
	if _, _, err := s.CreateAPIToken(ctx, alice.ID, "  "); err == nil {
		t.Error("a blank token name was accepted")
	}
}

func TestAuditLogIsAppendOnlyAndFilters(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for _, r := range []AuditRecord{
		{Actor: "alice", Role: "admin", Source: "10.0.0.1", Via: "ui", Action: "user.create", Object: "user:bob"},
		{Actor: "bob", Role: "viewer", Source: "10.0.0.2", Via: "api", Action: "token.create", Object: "token:berth_ab"},
		{Actor: "alice", Role: "admin", Source: "10.0.0.1", Via: "ui", Action: "user.role", Object: "user:bob", Outcome: "denied: x"},
	} {
		if err := s.Audit(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := s.AuditRecords(ctx, AuditFilter{})
	if len(all) != 3 || all[0].Action != "user.role" || all[2].Outcome != "ok" {
		t.Fatalf("newest first with default outcome: %+v", all)
	}
	byActor, _ := s.AuditRecords(ctx, AuditFilter{Actor: "alice", Action: "user."})
	if len(byActor) != 2 {
		t.Errorf("actor+action filter: %d records", len(byActor))
	}
	byObject, _ := s.AuditRecords(ctx, AuditFilter{Object: "berth_"})
	if len(byObject) != 1 || byObject[0].Actor != "bob" {
		t.Errorf("object filter: %+v", byObject)
	}
	future, _ := s.AuditRecords(ctx, AuditFilter{From: time.Now().Add(time.Hour)})
	if len(future) != 0 {
		t.Errorf("date filter: %d records", len(future))
	}
	if _, err := s.db.Exec(`UPDATE audit_log SET actor = 'mallory'`); err == nil {
		t.Error("an audit record was changed")
	}
	if _, err := s.db.Exec(`DELETE FROM audit_log`); err == nil {
		t.Error("an audit record was deleted")
	}
}

func TestReopenKeepsDataAndSkipsAppliedMigrations(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, "dave", "correct horse battery", RoleAdmin); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, path, s.keys)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.UserByName(ctx, "dave"); err != nil {
		t.Fatalf("user lost on reopen: %v", err)
	}
	var versions int
	s2.db.QueryRow(`SELECT COUNT(*) FROM schema_version`).Scan(&versions)
	if versions != len(migrations) {
		t.Errorf("schema_version has %d rows, want %d", versions, len(migrations))
	}
}
