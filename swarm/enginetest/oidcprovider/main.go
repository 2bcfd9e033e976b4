// Command oidcprovider is the OpenID provider Berth's single sign-on tests sign in through:
// zitadel/oidc's example provider (its login page, storage, keys and token endpoints), with
// its users and their groups read from a JSON file at every use (so a test changes a user's
// groups or removes a user by rewriting it) and the groups asserted in the ID token and at
// the userinfo endpoint for the "groups" scope. It is its own module, built by the test command.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// fileUser is one user in the users file.
type fileUser struct {
	storage.User
	Groups []string `json:"groups"`
}

// fileUsers reads the users file at every lookup.
type fileUsers struct{ path string }

func (f fileUsers) all() map[string]fileUser {
	out := map[string]fileUser{}
	if data, err := os.ReadFile(f.path); err == nil {
		json.Unmarshal(data, &out)
	}
	return out
}

func (f fileUsers) GetUserByID(id string) *storage.User {
	if u, ok := f.all()[id]; ok {
		return &u.User
	}
	return nil
}

func (f fileUsers) GetUserByUsername(name string) *storage.User {
	for _, u := range f.all() {
		if strings.EqualFold(u.Username, name) {
			return &u.User
		}
	}
	return nil
}

func (f fileUsers) ExampleClientID() string { return "service" }

// groupsStorage is the example storage with the user's groups added for the "groups" scope.
type groupsStorage struct {
	*storage.Storage
	users fileUsers
}

func (s groupsStorage) addGroups(info *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := s.users.all()[subject]
	if !ok {
		return errors.New("the user is not known (any more)")
	}
	for _, sc := range scopes {
		if sc == "groups" {
			info.AppendClaims("groups", u.Groups)
		}
	}
	return nil
}

func (s groupsStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	return s.addGroups(info, req.GetSubject(), scopes)
}

func (s groupsStorage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	return s.addGroups(info, info.Subject, []string{"groups"})
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	redirects := strings.Split(os.Getenv("REDIRECT_URI"), ",")
	// Berth's client, and another the tests get tokens for (an ID token for another audience).
	storage.RegisterClients(storage.WebClient(os.Getenv("CLIENT_ID"), os.Getenv("CLIENT_SECRET"), redirects...),
		storage.WebClient("other-app", "other-secret", redirects...))
	users := fileUsers{path: os.Getenv("USERS_FILE")}
	router := exampleop.SetupServer(os.Getenv("ISSUER"), groupsStorage{Storage: storage.NewStorage(users), users: users}, log, false)
	srv := &http.Server{Addr: os.Getenv("ADDR"), Handler: router}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("oidc provider stopped", "error", err)
		os.Exit(1)
	}
}
