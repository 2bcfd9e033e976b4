package handlers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// ssoCache keeps the identity provider's settings in memory (read at every request of a provider user).
type ssoCache struct {
	mu     sync.RWMutex
	set    store.SSOSettings
	loaded bool
}

// ssoSettings returns the identity provider's settings.
func (h *Handlers) ssoSettings(ctx context.Context) (store.SSOSettings, error) {
	h.sso.mu.RLock()
	if h.sso.loaded {
		defer h.sso.mu.RUnlock()
		return h.sso.set, nil
	}
	h.sso.mu.RUnlock()
	set, err := h.store.SSO(ctx)
	if err != nil {
		return set, err
	}
	h.sso.mu.Lock()
	h.sso.set, h.sso.loaded = set, true
	h.sso.mu.Unlock()
	return set, nil
}

// ssoForm is the settings form as posted.
type ssoForm struct {
	views.SSOForm
	secret string
	roles  map[string]store.Role
	hours  int
	scopes []string
}

// Validate checks each field and fills the settings' parsed parts.
func (f *ssoForm) Validate() bool {
	if f.Issuer == "" {
		return true // single sign-on off
	}
	if u, err := url.Parse(f.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
		f.Errors.Add("issuer", "Enter the provider's https:// issuer URL, as its /.well-known/openid-configuration says (http only on this machine).")
	}
	if f.ClientID == "" {
		f.Errors.Add("client_id", "Enter the client id the provider gave Berth.")
	}
	if f.secret == "" && !f.SecretSet {
		f.Errors.Add("client_secret", "Enter the client secret the provider gave Berth.")
	}
	if f.GroupsClaim == "" {
		f.Errors.Add("groups_claim", "Name the claim that lists the user's groups (often groups).")
	}
	f.scopes = strings.Fields(f.Scopes)
	f.roles = map[string]store.Role{}
	for i, line := range strings.Split(f.Roles, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		group, role, ok := strings.Cut(line, "=")
		group, role = strings.TrimSpace(group), strings.TrimSpace(role)
		if !ok || group == "" || !store.Role(role).Valid() {
			f.Errors.Add("roles", fmt.Sprintf("Line %d: write group = admin, operator or viewer.", i+1))
			break
		}
		f.roles[group] = store.Role(role)
	}
	if len(f.roles) == 0 && f.Errors["roles"] == "" {
		f.Errors.Add("roles", "Map at least one group to a role: nobody could sign in otherwise.")
	}
	if n, err := strconv.Atoi(f.MaxHours); err != nil || n < 0 || n > 720 {
		f.Errors.Add("max_hours", "Enter a whole number of hours from 0 to 720.")
	} else {
		f.hours = n
	}
	return !f.Errors.Any()
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// ssoFormOf shows the stored settings in the form.
func ssoFormOf(set store.SSOSettings) views.SSOForm {
	f := views.SSOForm{Name: set.Name, Issuer: set.Issuer, ClientID: set.ClientID, Scopes: strings.Join(set.Scopes, " "), GroupsClaim: set.GroupsClaim,
		SecretSet: set.ClientSecret != "", CreateUsers: set.CreateUsers, LocalAdminsOnly: set.LocalAdminsOnly, MaxHours: strconv.Itoa(int(set.MaxSession.Hours()))}
	if !set.Enabled() {
		f.Scopes, f.GroupsClaim, f.CreateUsers = "profile email groups offline_access", "groups", true
	}
	groups := make([]string, 0, len(set.Roles))
	for g := range set.Roles {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		f.Roles += g + " = " + string(set.Roles[g]) + "\n"
	}
	return f
}

func (h *Handlers) renderSSO(c echo.Context, status int, f views.SSOForm) error {
	users, err := h.store.Users(c.Request().Context())
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.SSO {
			f.ProviderUsers++
		}
	}
	p := h.page(c, "Single sign-on", "settings")
	return h.render(c, status, p, views.SSOPage(p, f))
}

// SSOPage shows the identity provider's settings.
func (h *Handlers) SSOPage(c echo.Context) error {
	set, err := h.ssoSettings(c.Request().Context())
	if err != nil {
		return err
	}
	f := ssoFormOf(set)
	f.Notice = h.popNotice(c)
	return h.renderSSO(c, http.StatusOK, f)
}

// SaveSSO stores the identity provider's settings (audited, the secret never shown again) and says whether the provider answers.
func (h *Handlers) SaveSSO(c echo.Context) error {
	ctx := c.Request().Context()
	old, err := h.ssoSettings(ctx)
	if err != nil {
		return err
	}
	f := ssoForm{SSOForm: views.SSOForm{Name: strings.TrimSpace(c.FormValue("name")), Issuer: strings.TrimSpace(c.FormValue("issuer")),
		ClientID: strings.TrimSpace(c.FormValue("client_id")), Scopes: c.FormValue("scopes"), GroupsClaim: strings.TrimSpace(c.FormValue("groups_claim")),
		Roles: c.FormValue("roles"), MaxHours: orText(strings.TrimSpace(c.FormValue("max_hours")), "0"), SecretSet: old.ClientSecret != "",
		CreateUsers: c.FormValue("create_users") == "true", LocalAdminsOnly: c.FormValue("local_admins_only") == "true"}, secret: c.FormValue("client_secret")}
	if !f.Validate() {
		return h.renderSSO(c, http.StatusUnprocessableEntity, f.SSOForm)
	}
	set := store.SSOSettings{Name: orText(f.Name, "the identity provider"), Issuer: f.Issuer, ClientID: f.ClientID, ClientSecret: f.secret, Scopes: f.scopes,
		GroupsClaim: f.GroupsClaim, Roles: f.roles, CreateUsers: f.CreateUsers, LocalAdminsOnly: f.LocalAdminsOnly, MaxSession: time.Duration(f.hours) * time.Hour}
	if f.Issuer == "" {
		set = store.SSOSettings{}
	}
	if err := h.store.SaveSSO(ctx, set); err != nil {
		return err
	}
	h.sso.mu.Lock()
	h.sso.loaded = false
	h.sso.mu.Unlock()
	h.providers.forget()
	detail := "off"
	if set.Enabled() {
		detail = fmt.Sprintf("issuer %s, client %s, groups claim %s, %d group mappings, create users %s, local sign-in admins only %s, longest session %dh",
			set.Issuer, set.ClientID, set.GroupsClaim, len(set.Roles), yesNo(set.CreateUsers), yesNo(set.LocalAdminsOnly), f.hours)
		if f.secret != "" {
			detail += ", client secret replaced"
		}
	}
	h.audit(c, "settings.sso", "settings", "ok", detail)
	notice := "Saved: single sign-on is off."
	if set.Enabled() {
		notice = "Saved. The provider answered; the sign-in page offers it."
		if _, err := h.providers.get(ctx, set.Issuer); err != nil {
			notice = "Saved, but the provider did not answer: " + err.Error() + ". The sign-in page says so until it does."
		}
	}
	return h.redirectNotice(c, "/settings/sso", notice)
}

// ssoSessionOver says whether a provider user's session has lasted longer than the settings allow
// (or single sign-on was turned off since).
func (h *Handlers) ssoSessionOver(c echo.Context, u store.User) bool {
	if !u.SSO {
		return false
	}
	set, err := h.ssoSettings(c.Request().Context())
	if err != nil || !set.Enabled() {
		return true
	}
	started := h.sessions.GetInt64(c.Request().Context(), sessStarted)
	return set.MaxSession > 0 && h.ssoTime().Sub(time.Unix(started, 0)) > set.MaxSession
}

// ssoTime is the time provider sign-ins are judged at (a test may move it).
func (h *Handlers) ssoTime() time.Time {
	return time.Now().Add(time.Duration(h.ssoSkew.Load()))
}
