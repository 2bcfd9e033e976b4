package main

import (
	"context"
	"log/slog"
	"net"
	"strconv"

	"github.com/berthhq/berth/store"
)

// announceSetup prints a one-time setup URL when Berth has no user yet; only
// that URL can create the first admin.
func announceSetup(ctx context.Context, st *store.Store, cfg config, addr net.Addr, log *slog.Logger) error {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	token, err := st.NewSetupToken(ctx)
	if err != nil {
		return err
	}
	base := cfg.PublicURL
	if base == "" {
		port := "8080"
		if tcp, ok := addr.(*net.TCPAddr); ok {
			port = strconv.Itoa(tcp.Port)
		}
		base = "http://localhost:" + port
	}
	log.Warn("no users yet: open this one-time link to create the first admin (valid 24h, or run `berth user add`)",
		"setup_url", base+"/setup?token="+token)
	return nil
}
