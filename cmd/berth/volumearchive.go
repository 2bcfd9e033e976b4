package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/berthhq/berth/swarm/backup"
)

// volumeArchive is the helper Berth runs inside a container on a volume's node to
// back the volume up straight into the backup directory (mounted at --out's folder):
// it writes a compressed archive of --root to --out and answers in JSON. --probe names
// a file Berth put there, proving the mount is Berth's backup directory.
func volumeArchive(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("volume-archive", flag.ContinueOnError)
	root := fs.String("root", "/berth-volume", "the mounted volume")
	out := fs.String("out", "", "the archive file to write")
	probe := fs.String("probe", "", "a file that must exist in the backup directory")
	uid := fs.Int("uid", 0, "the owner to give the archive (Berth's user, so it can read it back)")
	gid := fs.Int("gid", 0, "the archive's group")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res, err := writeArchiveFile(*root, *out, *probe, *uid, *gid)
	if err != nil {
		res.Error = err.Error()
	}
	json.NewEncoder(stdout).Encode(res)
	if err != nil {
		return fmt.Errorf("volume-archive: %w", err)
	}
	return nil
}

func writeArchiveFile(root, out, probe string, uid, gid int) (backup.ArchiveResult, error) {
	if _, err := os.Stat(probe); err != nil {
		return backup.ArchiveResult{}, errors.New(backup.ErrNotBackupDir)
	}
	f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return backup.ArchiveResult{}, err
	}
	res, err := backup.WriteArchive(root, f)
	if err == nil {
		err = f.Chown(uid, gid)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return res, err
}
