package handlers

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
)

func TestProviderNamesBecomeValidUsernamesAndGroupsTheHighestRole(t *testing.T) {
	for _, tc := range []struct {
		claims map[string]any
		want   string
	}{
		{map[string]any{"preferred_username": "Alice.Smith"}, "alice.smith"},
		{map[string]any{"preferred_username": "alice@corp.example"}, "alice"},
		{map[string]any{"preferred_username": "Ålice Smith!"}, "lice-smith"},
		{map[string]any{"email": "bob.jones+ops@corp.example"}, "bob.jones-ops"},
		{map[string]any{"preferred_username": strings.Repeat("x", 40)}, strings.Repeat("x", 32)},
		{map[string]any{}, "sso-"},
	} {
		if got := ssoUsername(tc.claims, "sub-1"); !strings.HasPrefix(got, tc.want) || store.ValidateUsername(got) != "" {
			t.Errorf("ssoUsername(%v) = %q, want %q (valid)", tc.claims, got, tc.want)
		}
	}
	set := store.SSOSettings{Roles: map[string]store.Role{"ops": store.RoleOperator, "audit": store.RoleViewer, "root": store.RoleAdmin}}
	for groups, want := range map[string]store.Role{"audit ops": store.RoleOperator, "audit": store.RoleViewer, "x ops root": store.RoleAdmin, "x": ""} {
		if got := set.RoleFor(strings.Fields(groups)); got != want {
			t.Errorf("RoleFor(%s) = %q, want %q", groups, got, want)
		}
	}
}

func TestSingleSignOnSettingsAreCheckedFieldByField(t *testing.T) {
	good := func() ssoForm {
		return ssoForm{SSOForm: views.SSOForm{Issuer: "https://login.example.com/", ClientID: "berth", GroupsClaim: "groups", Roles: "ops = operator\n", MaxHours: "8"}, secret: "s"}
	}
	for _, tc := range []struct {
		name, field string
		change      func(*ssoForm)
	}{
		{"plain http elsewhere", "issuer", func(f *ssoForm) { f.Issuer = "http://login.example.com/" }},
		{"no client", "client_id", func(f *ssoForm) { f.ClientID = "" }},
		{"no secret yet", "client_secret", func(f *ssoForm) { f.secret = "" }},
		{"an unknown role", "roles", func(f *ssoForm) { f.Roles = "ops = root" }},
		{"no mapping", "roles", func(f *ssoForm) { f.Roles = "" }},
		{"too long a session", "max_hours", func(f *ssoForm) { f.MaxHours = "1000" }},
	} {
		f := good()
		tc.change(&f)
		if f.Validate() || f.Errors[tc.field] == "" {
			t.Errorf("%s: accepted, or no message at %s: %v", tc.name, tc.field, f.Errors)
		}
	}
	f := good()
	f.Issuer = "http://127.0.0.1:5556/"
	if !f.Validate() || f.roles["ops"] != store.RoleOperator || f.hours != 8 {
		t.Errorf("a loopback provider: %v %v", f.Errors, f.roles)
	}
}
