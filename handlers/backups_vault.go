package handlers

import (
	"context"
	"errors"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/backup"
)

// backupVault gives backups what Berth's database holds: mappings, secret copies,
// registry credentials, pins and run records.
type backupVault struct{ st *store.Store }

func (v backupVault) Mappings(ctx context.Context) ([]backup.Mapping, error) {
	maps, err := v.st.VolumeMappings(ctx)
	if err != nil {
		return nil, err
	}
	modes, err := v.st.MappingBackupModes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]backup.Mapping, 0, len(maps))
	for _, m := range maps {
		out = append(out, backup.Mapping{Name: m.Name, Mode: modes[m.Name]})
	}
	return out, nil
}

func (v backupVault) SecretValue(ctx context.Context, dockerID string) ([]byte, error) {
	value, err := v.st.EscrowedSecret(ctx, dockerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, backup.ErrNoCopy
	}
	return value, err
}

func (v backupVault) Registries(ctx context.Context) ([]backup.Registry, error) {
	creds, err := v.st.RegistryCredentials(ctx, 0)
	if err != nil {
		return nil, err
	}
	out := make([]backup.Registry, 0, len(creds))
	for _, c := range creds {
		pw, err := v.st.RegistryPassword(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, backup.Registry{Owner: c.Owner, URL: c.URL, Username: c.Username, Password: pw})
	}
	return out, nil
}

func (v backupVault) Pinned(ctx context.Context) (map[string]bool, error) {
	return v.st.PinnedBackups(ctx)
}

func (v backupVault) SaveRun(ctx context.Context, r backup.Run) error {
	return v.st.SaveBackupRun(ctx, store.BackupRun(r))
}

func (v backupVault) RestoreSecret(ctx context.Context, dockerID, name string, value []byte) error {
	return v.st.EscrowSecret(ctx, dockerID, name, value, "restore")
}

func (v backupVault) RestoreRegistry(ctx context.Context, r backup.Registry) error {
	u, err := v.st.UserByName(ctx, r.Owner)
	if err != nil {
		return errors.New("its owner " + r.Owner + " is not a member here")
	}
	_, err = v.st.CreateRegistryCredential(ctx, u.ID, r.URL, r.Username, r.Password)
	return err
}

func (v backupVault) RestoreMapping(ctx context.Context, name string) error {
	_, err := v.st.CreateVolumeMapping(ctx, name, "restore")
	return err
}

// CredentialFor finds the owner's credential for an image (nil pulls anonymously).
func (v backupVault) CredentialFor(ctx context.Context, owner, image string) (*swarm.Credential, error) {
	u, err := v.st.UserByName(ctx, owner)
	if err != nil {
		return nil, nil // the owner is gone: pull anonymously
	}
	return userCredential(ctx, v.st, u.ID, image)
}
