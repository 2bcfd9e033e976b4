package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a team member may do; each role includes the ones below it.
type Role string

// The roles, from most to least powerful.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleViewer   Role = "viewer"
)

// Roles lists the roles from least to most powerful.
var Roles = []Role{RoleViewer, RoleOperator, RoleAdmin}

// Rank orders roles; zero is an unknown role (or nobody).
func (r Role) Rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.Rank() > 0 }

// User is a team member.
type User struct {
	ID           int64
	Username     string
	Role         Role
	Disabled     bool
	SessionEpoch int64
	TOTPEnabled  bool
	SSO          bool // signs in through the identity provider (no password of Berth's)
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ErrUsernameTaken means another user already has that name.
var ErrUsernameTaken = errors.New("username is already taken")

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// ValidateUsername returns a message saying what is wrong with a username, or "".
func ValidateUsername(name string) string {
	switch {
	case name == "":
		return "Enter a username."
	case len(name) > 32:
		return "Use at most 32 characters."
	case !usernamePattern.MatchString(name):
		return "Use lower-case letters, digits, '.', '_' or '-', starting with a letter or digit."
	}
	return ""
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// ValidatePassword returns a message saying what a password needs, or "".
func ValidatePassword(username, password string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return fmt.Sprintf("Use at least %d characters (a few unrelated words work well).", MinPasswordLength)
	case len(password) > 256:
		return "Use at most 256 characters."
	case username != "" && strings.Contains(strings.ToLower(password), strings.ToLower(username)):
		return "The password must not contain the username."
	case strings.Count(password, password[:1]) == len(password):
		return "The password must not be one character repeated."
	}
	return ""
}

const userColumns = `id, username, role, disabled, session_epoch, totp_secret IS NOT NULL, sso_subject IS NOT NULL, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, updated string
	err := row.Scan(&u.ID, &u.Username, &u.Role, &u.Disabled, &u.SessionEpoch, &u.TOTPEnabled, &u.SSO, &created, &updated)
	u.CreatedAt, u.UpdatedAt = parseTime(created), parseTime(updated)
	return u, err
}

// CreateUser adds a team member with a hashed password.
func (s *Store) CreateUser(ctx context.Context, username, password string, role Role) (User, error) {
	if msg := ValidateUsername(username); msg != "" {
		return User{}, errors.New(msg)
	}
	if !role.Valid() {
		return User{}, fmt.Errorf("unknown role %q", role)
	}
	if msg := ValidatePassword(username, password); msg != "" {
		return User{}, errors.New(msg)
	}
	hash, err := hashPassword(ctx, password)
	if err != nil {
		return User{}, err
	}
	now := formatTime(s.now())
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO users (username, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		username, hash, role, now, now)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return User{}, ErrUsernameTaken
		}
		return User{}, fmt.Errorf("create user %s: %w", username, err)
	}
	id, _ := res.LastInsertId()
	return s.User(ctx, id)
}

// User returns the user with the given id.
func (s *Store) User(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("load user %d: %w", id, err)
	}
	return u, nil
}

// UserByName returns the user with the given username (any case).
func (s *Store) UserByName(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", username, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("load user %q: %w", username, err)
	}
	return u, nil
}

// Users lists every team member by username.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// ErrBadCredentials covers an unknown user and a wrong password alike.
var ErrBadCredentials = errors.New("wrong username or password")

// CheckPassword returns the user when the password matches, ErrBadCredentials otherwise.
func (s *Store) CheckPassword(ctx context.Context, username, password string) (User, error) {
	var id int64
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE username = ? AND sso_subject IS NULL`, username).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) { // unknown, or a provider's user: neither has a password here
		// Spend the same time as a real check so response times do not reveal usernames.
		if _, err := verifyPassword(ctx, dummyHash(), password); err != nil {
			return User{}, err
		}
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("check password: %w", err)
	}
	if ok, err := verifyPassword(ctx, hash, password); err != nil {
		return User{}, err
	} else if !ok {
		return User{}, ErrBadCredentials
	}
	return s.User(ctx, id)
}

// SetPassword replaces a user's password and ends their other sessions.
func (s *Store) SetPassword(ctx context.Context, id int64, password string) error {
	u, err := s.User(ctx, id)
	if err != nil {
		return err
	}
	if u.SSO {
		return errors.New(u.Username + " signs in through the identity provider and has no password here.")
	}
	if msg := ValidatePassword(u.Username, password); msg != "" {
		return errors.New(msg)
	}
	hash, err := hashPassword(ctx, password)
	if err != nil {
		return err
	}
	return s.updateUser(ctx, id, `password_hash = ?, session_epoch = session_epoch + 1`, hash)
}

// SetRole changes a user's role.
func (s *Store) SetRole(ctx context.Context, id int64, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("unknown role %q", role)
	}
	return s.updateUser(ctx, id, `role = ?`, role)
}

// SetDisabled disables (ending their sessions) or re-enables a user.
func (s *Store) SetDisabled(ctx context.Context, id int64, disabled bool) error {
	return s.updateUser(ctx, id, `disabled = ?, session_epoch = session_epoch + 1`, disabled)
}

// EndSessions signs the user out everywhere.
func (s *Store) EndSessions(ctx context.Context, id int64) error {
	return s.updateUser(ctx, id, `session_epoch = session_epoch + 1`)
}

func (s *Store) updateUser(ctx context.Context, id int64, set string, args ...any) error {
	args = append(args, formatTime(s.now()), id)
	res, err := s.db.ExecContext(ctx, `UPDATE users SET `+set+`, updated_at = ? WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("update user %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	return nil
}
