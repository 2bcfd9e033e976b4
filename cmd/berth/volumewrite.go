package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/berthhq/berth/swarm/volumewrite"
)

// volumeWrite is the helper Berth runs inside a container on a volume's node,
// after the engine wrote a staged upload into the volume: it moves the upload
// into place (or throws it away) and answers in JSON.
func volumeWrite(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("volume-write", flag.ContinueOnError)
	root := fs.String("root", "/berth-volume", "where the volume is mounted")
	stage := fs.String("finish", "", "the staging folder to finish")
	if err := fs.Parse(args); err != nil {
		return err
	}
	written, err := volumewrite.Finish(*root, *stage)
	enc := json.NewEncoder(stdout)
	if err != nil {
		enc.Encode(map[string]string{"error": err.Error()})
		return fmt.Errorf("volume-write: %w", err)
	}
	return enc.Encode(map[string]any{"written": written})
}
