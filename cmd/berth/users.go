package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strings"

	"github.com/berthhq/berth/store"
)

// cliActor names the operating-system user running a CLI command, for the audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

// userAdd creates a user non-interactively, reading the password from stdin.
func userAdd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	var cfg config
	var username, role string
	var fromStdin bool
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	fs.StringVar(&username, "username", "", "the new user's name")
	fs.StringVar(&role, "role", "", "admin, operator or viewer")
	fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !fromStdin {
		return errors.New("pass --password-stdin and the password on standard input (passwords never go on the command line)")
	}
	if msg := store.ValidateUsername(username); msg != "" {
		return fmt.Errorf("--username: %s", msg)
	}
	if !store.Role(role).Valid() {
		return fmt.Errorf("--role must be admin, operator or viewer, not %q", role)
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if msg := store.ValidatePassword(username, password); msg != "" {
		return fmt.Errorf("password: %s", msg)
	}
	st, err := openStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, username, password, store.Role(role))
	if err != nil {
		return err
	}
	if err := st.Audit(ctx, store.AuditRecord{Actor: cliActor(), Source: "cli", Via: "cli", Action: "user.create", Object: "user:" + u.Username, Detail: "role " + role}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s (%s)\n", u.Username, u.Role)
	return nil
}

// tokenCreate prints a new API token for a user, and nothing else, on stdout.
func tokenCreate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var cfg config
	var username, name string
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	fs.StringVar(&username, "username", "", "the token's owner")
	fs.StringVar(&name, "name", "", "a label saying what uses the token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if msg := store.ValidateTokenName(name); msg != "" {
		return fmt.Errorf("--name: %s", msg)
	}
	st, err := openStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.UserByName(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user named %q", username)
	}
	if err != nil {
		return err
	}
	token, t, err := st.CreateAPIToken(ctx, u.ID, name)
	if err != nil {
		return err
	}
	if err := st.Audit(ctx, store.AuditRecord{Actor: cliActor(), Source: "cli", Via: "cli", Action: "token.create", Object: "token:" + t.Prefix, Detail: "for " + u.Username + ", name " + t.Name}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}
