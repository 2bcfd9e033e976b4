package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/berthhq/berth/swarm/backup"
)

// volumeRestore is the helper Berth runs inside a container on the target node: it
// checks a snapshot's archive (mounted read-only) against its checksum, then writes
// it into the mounted volume, and answers in JSON.
func volumeRestore(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("volume-restore", flag.ContinueOnError)
	root := fs.String("root", "/berth-volume", "the mounted volume")
	archive := fs.String("archive", "", "the archive to restore")
	sum := fs.String("sha256", "", "the archive's recorded checksum")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var res struct {
		Bytes int64  `json:"bytes"`
		Error string `json:"error,omitempty"`
	}
	err := backup.VerifyFile(*archive, *sum)
	if err == nil {
		var f *os.File
		if f, err = os.Open(*archive); err == nil {
			res.Bytes, err = backup.ExtractArchive(f, *root)
			f.Close()
		}
	}
	if err != nil {
		res.Error = err.Error()
	}
	json.NewEncoder(stdout).Encode(res)
	if err != nil {
		return fmt.Errorf("volume-restore: %w", err)
	}
	return nil
}
