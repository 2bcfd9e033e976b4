package store

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/store/seal"
)

func TestSingleSignOnSecretIsSealedAndOneFromAnotherKeyReadsAsNone(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	set := SSOSettings{Name: "Acme", Issuer: "https://login.example.com/", ClientID: "berth", ClientSecret: "s3cret-value", Roles: map[string]Role{"ops": RoleOperator}}
	if err := s.SaveSSO(ctx, set); err != nil {
		t.Fatal(err)
	}
	raw, _ := s.Setting(ctx, settingSSO, "")
	if strings.Contains(raw, "s3cret-value") {
		t.Fatalf("the secret is stored in the clear: %s", raw)
	}
	got, err := s.SSO(ctx)
	if err != nil || got.ClientSecret != "s3cret-value" || got.Roles["ops"] != RoleOperator {
		t.Fatalf("read back: %+v %v", got, err)
	}
	// Saving without a secret keeps the stored one.
	set.ClientSecret, set.Name = "", "Acme SSO"
	if err := s.SaveSSO(ctx, set); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SSO(ctx); got.ClientSecret != "s3cret-value" || got.Name != "Acme SSO" {
		t.Errorf("after saving without a secret: %+v", got)
	}
	keys, err := seal.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Open(ctx, filepath.Join(t.TempDir(), "other.db"), keys)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.SetSetting(ctx, settingSSO, raw); err != nil {
		t.Fatal(err)
	}
	if got, err := other.SSO(ctx); err != nil || got.ClientSecret != "" || got.Issuer != set.Issuer {
		t.Errorf("settings from another key: %+v %v", got, err)
	}
}
