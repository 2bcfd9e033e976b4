package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheck asks the local server's /healthz and fails unless its database answers;
// it is the image's HEALTHCHECK, which has no shell or curl.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer res.Body.Close()
	var h struct{ Status, Database, Docker string }
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil || res.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: status %d", res.StatusCode)
	}
	fmt.Fprintf(stdout, "status=%s database=%s docker=%s\n", h.Status, h.Database, h.Docker)
	if h.Database != "ok" {
		return fmt.Errorf("unhealthy: database %s", h.Database)
	}
	return nil
}
