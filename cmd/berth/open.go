package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/store/seal"
)

// openStore creates the data directory, loads (or on first start creates) the
// master key and opens the database.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (*store.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	keyFile, create := cfg.MasterKeyFile, false
	if keyFile == "" {
		keyFile, create = filepath.Join(cfg.DataDir, "master.key"), true
	}
	key, created, err := seal.LoadKeyFile(keyFile, create)
	if err != nil {
		return nil, err
	}
	keys, err := seal.New(key)
	if err != nil {
		return nil, err
	}
	if created && log != nil {
		log.Warn("generated a new master key; back it up: without it sealed secrets cannot be read", "file", keyFile, "key_id", keys.ID())
	}
	return store.Open(ctx, filepath.Join(cfg.DataDir, "berth.db"), keys)
}
