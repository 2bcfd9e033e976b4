// Command testenv is Berth's one test command: it installs what the suite needs,
// starts disposable Docker engines in their own network namespaces, runs the
// checks and the tests against them, and tears everything down, even on failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berthhq/berth/swarm/enginetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
}

// run parses the flags and runs the whole suite; arguments after the flags go to `go test`.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("testenv", flag.ContinueOnError)
	nodes := fs.Int("nodes", 3, "engines in the shared test swarm (one manager, the rest workers)")
	checks := fs.Bool("checks", true, "run gofmt, go vet and the templ drift check before the tests")
	shell := fs.Bool("shell", false, "start the engines, print their environment and wait for Ctrl-C instead of testing")
	race := fs.Bool("race", true, "run the tests with the race detector (turn it off for benchmarks)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("must run as root: it creates network namespaces and starts dockerd")
	}
	if err := ensurePackages(ctx); err != nil {
		return err
	}
	if *checks {
		if err := staticChecks(ctx); err != nil {
			return err
		}
	}
	tools, err := ensureTools(ctx)
	if err != nil {
		return err
	}
	// Engines left by an earlier run that was killed are torn down first, and
	// whatever tests leave behind (a killed test's own engines) at the end.
	enginetest.DestroyLeftovers()
	defer enginetest.DestroyLeftovers()
	if os.Getenv("CI") == "true" && !hostEngineRuns() {
		// CI's machine has no engine of its own: check here that the suite runs beside one.
		start := time.Now()
		if err := enginetest.CheckBesideAHostEngine(ctx); err != nil {
			return fmt.Errorf("beside a host engine: %w", err)
		}
		fmt.Printf("testenv: beside a host engine's firewall (FORWARD DROP, DOCKER-USER) a swarm came up and the host's rules were left as found (%s)\n", time.Since(start).Round(time.Millisecond))
	}
	start := time.Now()
	cluster, err := enginetest.StartCluster(ctx, *nodes)
	if err != nil {
		return fmt.Errorf("start test swarm: %w", err)
	}
	defer cluster.Destroy()
	fmt.Printf("testenv: %d-node swarm up in %s (manager %s)\n", *nodes, time.Since(start).Round(time.Millisecond), cluster.Manager().Host())

	dir, err := os.MkdirTemp("", "berth-testenv-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	desc := filepath.Join(dir, "cluster.json")
	if err := cluster.Save(desc); err != nil {
		return err
	}
	if *shell {
		fmt.Printf("export %s=%s %s\n# DOCKER_HOST=%s\n# Ctrl-C tears the engines down.\n", enginetest.EnvCluster, desc, strings.Join(tools, " "), cluster.Manager().Host())
		<-ctx.Done()
		return nil
	}
	testArgs := []string{"test", "-count=1", "-timeout=60m"}
	if *race {
		testArgs = append(testArgs, "-race")
	}
	if rest := fs.Args(); len(rest) > 0 {
		testArgs = append(testArgs, rest...)
	} else {
		testArgs = append(testArgs, "./...")
	}
	cmd := exec.CommandContext(ctx, "go", testArgs...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(append(os.Environ(), enginetest.EnvCluster+"="+desc), tools...)
	fmt.Println("testenv: go", strings.Join(testArgs, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go test: %w", err)
	}
	return nil
}

// hostEngineRuns reports whether a Docker engine other than the test command's own runs on this machine.
func hostEngineRuns() bool {
	return exec.Command("pgrep", "-x", "dockerd").Run() == nil
}
