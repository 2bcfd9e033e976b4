package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthhq/berth/handlers"
	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/alerts"
	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/metrics"
	"github.com/labstack/echo/v4"
)

// serve runs the web server until ctx ends, then shuts down gracefully.
// alertCheckEvery is how often the alert checks look at the live model and deliver what is due.
const alertCheckEvery = 5 * time.Second

// offsiteCheckEvery is how often the off-site copier looks for copies due (a completed snapshot wakes it at once).
const offsiteCheckEvery = 30 * time.Second

// newCollector is the resource collection, reading every node's containers every
// BERTH_RESOURCE_INTERVAL (15 s unless set).
func newCollector(engine *swarm.Engine, st *store.Store, log *slog.Logger, getenv func(string) string) (*metrics.Collector, error) {
	c := &metrics.Collector{Source: engine, Store: st, Log: log, Every: 15 * time.Second,
		Collected: func() { engine.Announce(swarm.Change{Kind: "resources"}) }}
	if v := getenv("BERTH_RESOURCE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Second || d > 10*time.Minute {
			return nil, fmt.Errorf("BERTH_RESOURCE_INTERVAL is a duration from 5s to 10m, not %q", v)
		}
		c.Every = d
	}
	return c, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var cfg config
	var agents agentOptions
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	agentFlags(fs, &agents, getenv)
	if err := errors.Join(fs.Parse(args), cfg.flagErr); err != nil {
		return err
	}
	log, err := newLogger(cfg.LogFormat, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	engine, err := swarm.Connect(getenv, log)
	if err != nil {
		return err
	}
	defer engine.Close()
	if err := setUpAgents(ctx, st, engine, agents, log); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if err := announceSetup(ctx, st, cfg, ln.Addr(), log); err != nil {
		return err
	}
	if cfg.BackupDir == "" {
		cfg.BackupDir = filepath.Join(cfg.DataDir, "backups")
	}
	if data, err := filepath.Abs(cfg.DataDir); err == nil {
		engine.SetUploadPipeDir(filepath.Join(data, "pipes")) // used when the node sees the data directory at the same path
	}
	sessions := handlers.NewSessionManager(st, strings.HasPrefix(cfg.PublicURL, "https://"))
	backups := backup.NewRunner(engine, st, cfg.BackupDir)
	copier := backup.NewOffsite(st, backups, log)
	backups.Completed = copier.Queue
	drills := &backup.Drills{St: st, Local: backups, Offsite: copier, Log: log}
	resources, err := newCollector(engine, st, log, getenv)
	if err != nil {
		return err
	}
	monitor := &alerts.Monitor{Swarm: engine, Store: st, BackupDir: cfg.BackupDir, Link: cfg.PublicURL, Log: log,
		Interval: func(ctx context.Context) time.Duration { return backup.Interval(ctx, st) }, Memory: resources.MemoryFacts}
	h := handlers.New(st, engine, backups, monitor, sessions, log, handlers.Config{
		SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), TrustedProxies: cfg.TrustedProxies, PublicURL: cfg.PublicURL,
		Offsite: copier, Drills: drills, Resources: resources, ImageCheckEvery: cfg.ImageChecks,
	})
	monitor.Domains = h.DomainStates // checked at most once a minute (alerts.DomainsEvery)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	h.Register(e)
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	bg, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	model := swarm.NewModel(engine) // before Watch, which reads it
	go engine.Watch(bg, 3*time.Second)
	go model.Run(bg)
	go engine.VolumeFacts(bg, swarm.VolumeFactsInterval)
	go backup.Schedule(bg, backups, st, log)
	go copier.Run(bg, offsiteCheckEvery)
	go drills.Schedule(bg)
	go resources.Run(bg)
	go upgradeAgents(bg, engine, log)
	go monitor.Run(bg, alertCheckEvery)
	go h.RunBackground(bg)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("berth listening", "addr", ln.Addr().String(), "data", cfg.DataDir)
	if p := engine.HelperProblem(); p != "" {
		log.Error("node-local work is off", "reason", p) // uploads and restores refuse with the same words
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopBackground()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
