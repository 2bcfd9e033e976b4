package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/berthhq/berth/swarm/volumewrite"
)

// volumeWrite is the helper Berth runs inside a container on a volume's node: it
// reads an upload on stdin and writes it into the volume, answering in JSON.
func volumeWrite(args []string, stdin io.Reader, stdout io.Writer) error {
	var req volumewrite.Request
	fs := flag.NewFlagSet("volume-write", flag.ContinueOnError)
	fs.StringVar(&req.Root, "root", "/berth-volume", "where the volume is mounted")
	fs.StringVar(&req.Dest, "dest", "/", "folder inside the volume")
	fs.StringVar(&req.Kind, "kind", volumewrite.KindFile, "file, tar, tgz or zip")
	fs.StringVar(&req.Name, "name", "", "the file's name (kind file)")
	fs.Int64Var(&req.Size, "size", 0, "the file's exact size (kind file)")
	fs.BoolVar(&req.Overwrite, "overwrite", false, "replace what exists")
	if err := fs.Parse(args); err != nil {
		return err
	}
	written, err := volumewrite.Write(req, stdin)
	enc := json.NewEncoder(stdout)
	if err != nil {
		enc.Encode(map[string]string{"error": err.Error()})
		return fmt.Errorf("volume-write: %w", err)
	}
	return enc.Encode(map[string]any{"written": written})
}
