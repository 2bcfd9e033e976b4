package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/views"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"
)

// Session keys of a sign-in through the provider while it is under way.
const (
	sessSSOState    = "sso_state"
	sessSSONonce    = "sso_nonce"
	sessSSOVerifier = "sso_verifier"
	sessSSONext     = "sso_next"
	sessStarted     = "started" // unix seconds of the sign-in
)

// providerCache keeps the provider's discovery (ten minutes; a failure is tried again after 15 s).
type providerCache struct {
	mu     sync.Mutex
	issuer string
	p      *oidc.Provider
	err    error
	at     time.Time
}

func (pc *providerCache) get(ctx context.Context, issuer string) (*oidc.Provider, error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.issuer == issuer && ((pc.p != nil && time.Since(pc.at) < 10*time.Minute) || (pc.err != nil && time.Since(pc.at) < 15*time.Second)) {
		return pc.p, pc.err
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, issuer)
	if err != nil {
		err = fmt.Errorf("the identity provider at %s cannot be reached (%v)", issuer, err)
	}
	pc.issuer, pc.p, pc.err, pc.at = issuer, p, err, time.Now()
	return p, err
}

func (pc *providerCache) forget() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.issuer, pc.p, pc.err = "", nil, nil
}

// ssoClient is the provider with Berth's client configuration.
func (h *Handlers) ssoClient(ctx context.Context, c echo.Context) (store.SSOSettings, *oidc.Provider, *oauth2.Config, error) {
	set, err := h.ssoSettings(ctx)
	if err != nil || !set.Enabled() {
		return set, nil, nil, err
	}
	p, err := h.providers.get(ctx, set.Issuer)
	if err != nil {
		return set, nil, nil, err
	}
	cfg := &oauth2.Config{ClientID: set.ClientID, ClientSecret: set.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: h.publicBase(c) + "/auth/sso/callback", Scopes: append([]string{oidc.ScopeOpenID}, set.Scopes...)}
	return set, p, cfg, nil
}

// publicBase is the address users reach Berth at (the configured public URL, else the request's).
func (h *Handlers) publicBase(c echo.Context) string {
	if h.cfg.PublicURL != "" {
		return strings.TrimRight(h.cfg.PublicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

// SSOStart sends the browser to the provider's sign-in with a fresh state, nonce and PKCE verifier kept in the session.
func (h *Handlers) SSOStart(c echo.Context) error {
	ctx := c.Request().Context()
	set, _, cfg, err := h.ssoClient(ctx, c)
	if err != nil {
		return h.ssoRefuse(c, http.StatusServiceUnavailable, "", err.Error()+" Sign in with a local account meanwhile.")
	}
	if !set.Enabled() {
		return echo.NewHTTPError(http.StatusNotFound, "Single sign-on is not set up.")
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	h.sessions.Put(ctx, sessSSOState, state)
	h.sessions.Put(ctx, sessSSONonce, nonce)
	h.sessions.Put(ctx, sessSSOVerifier, verifier)
	h.sessions.Put(ctx, sessSSONext, safeNext(c.QueryParam("next")))
	return c.Redirect(http.StatusSeeOther, cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// ssoRefuse shows the sign-in page with why the provider's sign-in failed; who is audited when known.
func (h *Handlers) ssoRefuse(c echo.Context, status int, who, msg string) error {
	if who != "" || status != http.StatusServiceUnavailable {
		h.auditAs(c, orText(who, "unknown"), "", "auth.sso", "sso", "denied: "+msg, "")
	}
	f := views.LoginForm{Error: msg}
	h.loginSSO(c.Request().Context(), &f)
	p := h.page(c, "Sign in", "")
	return h.render(c, status, p, views.Login(p, f))
}

// ssoIdentity is who the provider says signed in.
type ssoIdentity struct {
	Subject, Username string
	Groups            []string
	Refresh           string
}

// SSOCallback finishes a sign-in through the provider: the state, the code (with the PKCE
// verifier), the ID token's signature, issuer, audience, expiry and nonce are all checked.
func (h *Handlers) SSOCallback(c echo.Context) error {
	ctx := c.Request().Context()
	state, nonce, verifier, next := h.sessions.PopString(ctx, sessSSOState), h.sessions.PopString(ctx, sessSSONonce),
		h.sessions.PopString(ctx, sessSSOVerifier), h.sessions.PopString(ctx, sessSSONext)
	if state == "" || c.QueryParam("state") != state {
		return h.ssoRefuse(c, http.StatusBadRequest, "", "This sign-in was not started here, or was already used or expired: start again.")
	}
	if e := c.QueryParam("error"); e != "" {
		return h.ssoRefuse(c, http.StatusUnauthorized, "", "The identity provider did not sign you in: "+orText(c.QueryParam("error_description"), e)+".")
	}
	set, p, cfg, err := h.ssoClient(ctx, c)
	if err == nil && !set.Enabled() {
		err = errors.New("it was turned off")
	}
	if err != nil {
		return h.ssoRefuse(c, http.StatusServiceUnavailable, "", "Single sign-on is not available: "+err.Error()+".")
	}
	tok, err := cfg.Exchange(ctx, c.QueryParam("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return h.ssoRefuse(c, http.StatusUnauthorized, "", "The identity provider refused the sign-in code (it was used already or expired): start again.")
	}
	id, err := h.ssoVerify(ctx, set, p, tok, nonce)
	if err != nil {
		return h.ssoRefuse(c, http.StatusUnauthorized, "", "The identity provider's answer did not check out: "+err.Error()+".")
	}
	u, err := h.ssoUser(ctx, c, set, id)
	if err != nil {
		var refused *ssoRefusal
		if errors.As(err, &refused) {
			return h.ssoRefuse(c, http.StatusForbidden, id.Username, refused.msg)
		}
		return err
	}
	if err := h.startSession(c, u); err != nil {
		return err
	}
	h.audit(c, "auth.login", "user:"+u.Username, "ok", "through "+set.Name+", groups "+strings.Join(id.Groups, ", "))
	return c.Redirect(http.StatusSeeOther, orText(next, "/"))
}

// ssoVerify checks the ID token in a token answer (signature, issuer, audience, expiry; the nonce when one was sent) and reads who it names.
func (h *Handlers) ssoVerify(ctx context.Context, set store.SSOSettings, p *oidc.Provider, tok *oauth2.Token, nonce string) (ssoIdentity, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return ssoIdentity{}, errors.New("it sent no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: set.ClientID, Now: h.ssoTime}).Verify(ctx, raw)
	if err != nil {
		return ssoIdentity{}, err
	}
	if nonce != "" && idt.Nonce != nonce {
		return ssoIdentity{}, errors.New("the ID token was issued for another sign-in (nonce)")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return ssoIdentity{}, err
	}
	if info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil && info.Subject == idt.Subject {
		more := map[string]any{}
		if info.Claims(&more) == nil {
			for k, v := range more {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	id := ssoIdentity{Subject: set.Issuer + "#" + idt.Subject, Username: ssoUsername(claims, idt.Subject), Refresh: tok.RefreshToken}
	switch g := claims[set.GroupsClaim].(type) {
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	case string:
		id.Groups = strings.Fields(strings.ReplaceAll(g, ",", " "))
	}
	return id, nil
}

var notUsername = regexp.MustCompile(`[^a-z0-9._-]+`)

// ssoUsername makes a Berth username from the provider's names for the user.
func ssoUsername(claims map[string]any, subject string) string {
	for _, key := range []string{"preferred_username", "email"} {
		v, _ := claims[key].(string)
		v, _, _ = strings.Cut(strings.ToLower(v), "@")
		v = strings.Trim(notUsername.ReplaceAllString(v, "-"), "-._")
		if len(v) > 32 {
			v = v[:32]
		}
		if store.ValidateUsername(v) == "" {
			return v
		}
	}
	sum := sha256.Sum256([]byte(subject))
	return "sso-" + hex.EncodeToString(sum[:4])
}

// ssoRefusal is a sign-in the settings do not allow, with the message the user reads.
type ssoRefusal struct{ msg string }

func (r *ssoRefusal) Error() string { return r.msg }

// ssoUser finds or creates the provider's user and sets their role from their groups (a change is audited).
func (h *Handlers) ssoUser(ctx context.Context, c echo.Context, set store.SSOSettings, id ssoIdentity) (store.User, error) {
	role := set.RoleFor(id.Groups)
	if role == "" {
		return store.User{}, &ssoRefusal{fmt.Sprintf("Your account at %s is in no group that gives a role in Berth (your groups: %s). Ask an admin.", set.Name, orText(strings.Join(id.Groups, ", "), "none"))}
	}
	u, err := h.store.UserBySSOSubject(ctx, id.Subject)
	if errors.Is(err, store.ErrNotFound) {
		if !set.CreateUsers {
			return store.User{}, &ssoRefusal{"You have no Berth account yet: ask an admin to let " + set.Name + " users in."}
		}
		u, err = h.store.CreateSSOUser(ctx, id.Username, id.Subject, role)
		if errors.Is(err, store.ErrUsernameTaken) {
			return store.User{}, &ssoRefusal{"Another Berth account is already called " + id.Username + ": ask an admin to rename or remove it."}
		}
		if err == nil {
			h.auditAs(c, "sso", "", "user.create", "user:"+u.Username, "ok", "signed in through "+set.Name+" as "+string(role))
		}
	} else if err == nil && u.Role != role {
		if err = h.store.SetRole(ctx, u.ID, role); err == nil {
			h.auditAs(c, "sso", "", "user.role", "user:"+u.Username, "ok", fmt.Sprintf("%s -> %s, from the groups at %s", u.Role, role, set.Name))
			u.Role = role
		}
	}
	if err != nil {
		return store.User{}, err
	}
	if u.Disabled {
		return store.User{}, &ssoRefusal{"This account is disabled. Ask an admin to enable it."}
	}
	if id.Refresh != "" {
		if err := h.store.SetSSORefresh(ctx, u.ID, id.Refresh); err != nil {
			return store.User{}, err
		}
	}
	return u, nil
}

// loginSSO adds the provider's button to the sign-in form, or why it cannot be used now.
func (h *Handlers) loginSSO(ctx context.Context, f *views.LoginForm) {
	set, err := h.ssoSettings(ctx)
	if err != nil || !set.Enabled() {
		return
	}
	f.SSOName = set.Name
	if _, err := h.providers.get(ctx, set.Issuer); err != nil {
		f.SSOError = "Sign-in with " + set.Name + " is not available: " + err.Error() + ". Local accounts still sign in here."
	}
}
