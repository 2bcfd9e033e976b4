package backup

import (
	"context"
	"errors"
	"slices"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
)

// StoreVault is the Vault over Berth's database: mappings, secret copies, registry
// credentials, pins and run records (swarm/backup is the one swarm package that reads
// the store, because a snapshot holds Berth's own records too).
type StoreVault struct{ St *store.Store }

func (v StoreVault) Mappings(ctx context.Context) ([]Mapping, error) {
	maps, err := v.St.VolumeMappings(ctx)
	if err != nil {
		return nil, err
	}
	modes, err := v.St.MappingBackupModes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Mapping, 0, len(maps))
	for _, m := range maps {
		out = append(out, Mapping{Name: m.Name, Mode: modes[m.Name]})
	}
	return out, nil
}

func (v StoreVault) SecretValue(ctx context.Context, dockerID string) ([]byte, error) {
	value, err := v.St.EscrowedSecret(ctx, dockerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoCopy
	}
	return value, err
}

func (v StoreVault) Registries(ctx context.Context) ([]Registry, error) {
	creds, err := v.St.RegistryCredentials(ctx, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Registry, 0, len(creds))
	for _, c := range creds {
		pw, err := v.St.RegistryPassword(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, Registry{Owner: c.Owner, URL: c.URL, Username: c.Username, Password: pw})
	}
	return out, nil
}

func (v StoreVault) Pinned(ctx context.Context) (map[string]bool, error) {
	return v.St.PinnedBackups(ctx)
}

func (v StoreVault) SaveRun(ctx context.Context, r Run) error {
	return v.St.SaveBackupRun(ctx, store.BackupRun(r))
}

func (v StoreVault) RestoreSecret(ctx context.Context, dockerID, name string, value []byte) error {
	return v.St.EscrowSecret(ctx, dockerID, name, value, "restore")
}

func (v StoreVault) RestoreRegistry(ctx context.Context, r Registry) error {
	u, err := v.St.UserByName(ctx, r.Owner)
	if err != nil {
		return errors.New("its owner " + r.Owner + " is not a member here")
	}
	_, err = v.St.CreateRegistryCredential(ctx, u.ID, r.URL, r.Username, r.Password)
	return err
}

func (v StoreVault) RestoreMapping(ctx context.Context, name string) error {
	_, err := v.St.CreateVolumeMapping(ctx, name, "restore")
	return err
}

// CredentialFor finds the owner's credential for an image (nil pulls anonymously).
func (v StoreVault) CredentialFor(ctx context.Context, owner, image string) (*swarm.Credential, error) {
	u, err := v.St.UserByName(ctx, owner)
	if err != nil {
		return nil, nil // the owner is gone: pull anonymously
	}
	c, password, ok, err := v.St.MatchingCredential(ctx, u.ID, func(urls []string) int { return swarm.MatchCredential(image, urls) })
	if !ok {
		return nil, err
	}
	return &swarm.Credential{URL: c.URL, Username: c.Username, Password: password}, nil
}

// State reads members, settings and the whole audit log for a snapshot.
func (v StoreVault) State(ctx context.Context) (State, error) {
	users, err := v.St.ExportUsers(ctx)
	if err != nil {
		return State{}, err
	}
	settings, err := v.St.AllSettings(ctx)
	if err != nil {
		return State{}, err
	}
	audit, err := v.St.AuditRecords(ctx, store.AuditFilter{Limit: 1 << 30})
	if err != nil {
		return State{}, err
	}
	slices.Reverse(audit) // oldest first, as an import appends them
	return State{Users: users, Settings: settings, Audit: audit}, nil
}

func (v StoreVault) RestoreUser(ctx context.Context, u store.UserExport) error {
	return v.St.ImportUser(ctx, u)
}

func (v StoreVault) RestoreSetting(ctx context.Context, key, value string) (bool, error) {
	return v.St.ImportSetting(ctx, key, value)
}

func (v StoreVault) ImportAudit(ctx context.Context, recs []store.AuditRecord, from string) (int, error) {
	return v.St.ImportAuditRecords(ctx, recs, from)
}
