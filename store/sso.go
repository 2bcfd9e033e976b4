package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// settingSSO holds the identity provider's settings (the client secret sealed inside).
const settingSSO = "sso"

// SSOSettings is how team members sign in through the company's identity provider (OpenID Connect).
type SSOSettings struct {
	Name            string          `json:"name"` // on the sign-in button: "Sign in with <Name>"
	Issuer          string          `json:"issuer"`
	ClientID        string          `json:"client_id"`
	ClientSecret    string          `json:"-"`            // sealed at rest, never shown
	Scopes          []string        `json:"scopes"`       // asked besides openid
	GroupsClaim     string          `json:"groups_claim"` // the claim that lists the user's groups
	Roles           map[string]Role `json:"roles"`        // group → role; the highest of a user's groups counts
	CreateUsers     bool            `json:"create_users"` // a user the provider knows and Berth does not is created, else refused
	LocalAdminsOnly bool            `json:"local_admins_only"`
	MaxSession      time.Duration   `json:"max_session"` // a provider user's session ends after this (0: the idle timeout only)
}

// Enabled says whether sign-in through the provider is set up.
func (s SSOSettings) Enabled() bool { return s.Issuer != "" && s.ClientID != "" }

// RoleFor is the highest role the groups map to ("" when none does).
func (s SSOSettings) RoleFor(groups []string) Role {
	var best Role
	for _, g := range groups {
		if r, ok := s.Roles[g]; ok && r.Rank() > best.Rank() {
			best = r
		}
	}
	return best
}

type ssoStored struct {
	SSOSettings
	Secret string `json:"secret"` // sealed, base64
}

// SSO returns the identity provider's settings (zero when none is set up).
func (s *Store) SSO(ctx context.Context) (SSOSettings, error) {
	raw, err := s.Setting(ctx, settingSSO, "")
	if err != nil || raw == "" {
		return SSOSettings{}, err
	}
	var st ssoStored
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return SSOSettings{}, fmt.Errorf("read the identity provider's settings: %w", err)
	}
	// A secret sealed under another master key (settings restored from another Berth's snapshot)
	// reads as none: the settings page then asks for it again.
	if sealed, err := base64.StdEncoding.DecodeString(st.Secret); err == nil && len(sealed) > 0 {
		if secret, err := s.keys.Open(sealed, settingSSO); err == nil {
			st.ClientSecret = string(secret)
		}
	}
	return st.SSOSettings, nil
}

// SaveSSO stores the identity provider's settings; an empty secret keeps the one stored.
func (s *Store) SaveSSO(ctx context.Context, set SSOSettings) error {
	if set.ClientSecret == "" {
		old, err := s.SSO(ctx)
		if err != nil {
			return err
		}
		set.ClientSecret = old.ClientSecret
	}
	st := ssoStored{SSOSettings: set}
	if set.ClientSecret != "" {
		st.Secret = base64.StdEncoding.EncodeToString(s.keys.Seal([]byte(set.ClientSecret), settingSSO))
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.SetSetting(ctx, settingSSO, string(raw))
}

// UserBySSOSubject returns the team member the provider knows by subject (issuer#sub).
func (s *Store) UserBySSOSubject(ctx context.Context, subject string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE sso_subject = ?`, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("provider user %s: %w", subject, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("provider user %s: %w", subject, err)
	}
	return u, nil
}

// CreateSSOUser adds a team member who signs in through the provider (no password of Berth's).
func (s *Store) CreateSSOUser(ctx context.Context, username, subject string, role Role) (User, error) {
	if msg := ValidateUsername(username); msg != "" {
		return User{}, errors.New(msg)
	}
	now := formatTime(s.now())
	res, err := s.db.ExecContext(ctx, `INSERT INTO users (username, password_hash, role, sso_subject, created_at, updated_at) VALUES (?, '', ?, ?, ?, ?)`,
		username, role, subject, now, now)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return User{}, ErrUsernameTaken
		}
		return User{}, fmt.Errorf("create provider user %s: %w", username, err)
	}
	id, _ := res.LastInsertId()
	return s.User(ctx, id)
}

// SetSSORefresh keeps a provider user's refresh token from their last sign-in, sealed ("" forgets it).
func (s *Store) SetSSORefresh(ctx context.Context, id int64, token string) error {
	var sealed any
	if token != "" {
		sealed = s.keys.Seal([]byte(token), fmt.Sprintf("sso-refresh:%d", id))
	}
	_, err := s.db.ExecContext(ctx, `UPDATE users SET sso_refresh = ? WHERE id = ?`, sealed, id)
	if err != nil {
		return fmt.Errorf("keep user %d's refresh token: %w", id, err)
	}
	return nil
}

// SSORefresh returns a provider user's refresh token ("" when none is kept).
func (s *Store) SSORefresh(ctx context.Context, id int64) (string, error) {
	var sealed []byte
	if err := s.db.QueryRowContext(ctx, `SELECT sso_refresh FROM users WHERE id = ?`, id).Scan(&sealed); err != nil {
		return "", fmt.Errorf("user %d's refresh token: %w", id, err)
	}
	if len(sealed) == 0 {
		return "", nil
	}
	token, err := s.keys.Open(sealed, fmt.Sprintf("sso-refresh:%d", id))
	return string(token), err
}
