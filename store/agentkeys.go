package store

import (
	"context"
	"encoding/base64"
	"fmt"
)

// settingAgentKeys holds the agents' keys, sealed with the master key.
const settingAgentKeys = "agent_keys"

// AgentKeys returns the agents' keys, generating and keeping them sealed the first time.
func (s *Store) AgentKeys(ctx context.Context, generate func() ([]byte, error)) ([]byte, error) {
	raw, err := s.Setting(ctx, settingAgentKeys, "")
	if err != nil {
		return nil, err
	}
	if raw != "" {
		sealed, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, fmt.Errorf("agent keys: %w", err)
		}
		keys, err := s.keys.Open(sealed, settingAgentKeys)
		if err != nil {
			return nil, fmt.Errorf("agent keys: %w", err)
		}
		return keys, nil
	}
	keys, err := generate()
	if err != nil {
		return nil, err
	}
	sealed := base64.StdEncoding.EncodeToString(s.keys.Seal(keys, settingAgentKeys))
	res, err := s.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING`, settingAgentKeys, sealed)
	if err != nil {
		return nil, fmt.Errorf("write agent keys: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 { // another process kept its keys first: use those
		return s.AgentKeys(ctx, generate)
	}
	return keys, nil
}

// ReplaceAgentKeys keeps new agent keys (sealed) in place of the old ones.
func (s *Store) ReplaceAgentKeys(ctx context.Context, keys []byte) error {
	return s.SetSetting(ctx, settingAgentKeys, base64.StdEncoding.EncodeToString(s.keys.Seal(keys, settingAgentKeys)))
}
