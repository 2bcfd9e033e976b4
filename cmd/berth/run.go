package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

const usage = `Usage:
  berth [serve] [--addr :8080] [--data ./data]
  berth user add --username NAME --role admin|operator|viewer --password-stdin
  berth token create --username NAME --name LABEL
  berth healthcheck [--addr :8080]
  berth agent [--addr :7441]   (run by the berth-agent service on every node)

Environment: BERTH_ADDR, BERTH_DATA, BERTH_BACKUP_DIR, BERTH_MASTER_KEY_FILE, BERTH_PUBLIC_URL,
BERTH_TRUSTED_PROXIES, BERTH_AGENT_IMAGE, BERTH_AGENT_PUBLISH, BERTH_AGENT_SOCKET, DOCKER_HOST.`

// run dispatches to a subcommand; `berth` alone serves.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stderr)
	case "user":
		if len(args) == 0 || args[0] != "add" {
			return fmt.Errorf("unknown user command\n%s", usage)
		}
		return userAdd(ctx, args[1:], getenv, stdin, stdout)
	case "token":
		if len(args) == 0 || args[0] != "create" {
			return fmt.Errorf("unknown token command\n%s", usage)
		}
		return tokenCreate(ctx, args[1:], getenv, stdout)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stdout)
	case "agent":
		return runAgent(ctx, args, getenv, stderr)
	case "volume-write":
		return volumeWrite(args, stdin, stdout)
	case "volume-archive":
		return volumeArchive(args, stdout)
	case "volume-restore":
		return volumeRestore(args, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// config is every runtime setting, parsed once from flags and environment.
type config struct {
	Addr           string
	DataDir        string
	MasterKeyFile  string
	PublicURL      string
	TrustedProxies []string
	BackupDir      string
	LogFormat      string // text or json
	ImageChecks    time.Duration
	flagErr        error // a setting given in the environment that is not valid
}

// imageCheckInterval reads how often services' tags are checked for a newer image (at least a minute).
func imageCheckInterval(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("the image check interval (BERTH_IMAGE_CHECK_INTERVAL) is a duration of at least 1m, not %q", v)
	}
	return d, nil
}

// commonFlags registers the settings every subcommand that opens the store shares.
func commonFlags(fs *flag.FlagSet, cfg *config, getenv func(string) string) {
	fs.StringVar(&cfg.Addr, "addr", envOr(getenv, "BERTH_ADDR", ":8080"), "listen address (BERTH_ADDR)")
	fs.StringVar(&cfg.DataDir, "data", envOr(getenv, "BERTH_DATA", "./data"), "data directory, created if missing (BERTH_DATA)")
	fs.StringVar(&cfg.BackupDir, "backups", getenv("BERTH_BACKUP_DIR"), "where snapshots are written (BERTH_BACKUP_DIR; default: backups under the data directory)")
	fs.StringVar(&cfg.LogFormat, "log-format", envOr(getenv, "BERTH_LOG_FORMAT", "text"), "log lines as text or json (BERTH_LOG_FORMAT)")
	cfg.ImageChecks = time.Hour
	if v := getenv("BERTH_IMAGE_CHECK_INTERVAL"); v != "" {
		cfg.ImageChecks, cfg.flagErr = imageCheckInterval(v)
	}
	fs.Func("image-check-interval", "how often services' tags are checked for a newer image, default 1h (BERTH_IMAGE_CHECK_INTERVAL)", func(v string) (err error) {
		cfg.ImageChecks, err = imageCheckInterval(v)
		return err
	})
	cfg.MasterKeyFile = getenv("BERTH_MASTER_KEY_FILE")
	cfg.PublicURL = strings.TrimRight(getenv("BERTH_PUBLIC_URL"), "/")
	for _, p := range strings.Split(getenv("BERTH_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.TrustedProxies = append(cfg.TrustedProxies, p)
		}
	}
}

// newLogger writes log lines as text (key=value) or as one JSON object a line, for log collectors.
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("BERTH_LOG_FORMAT is text or json, not %q", format)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
