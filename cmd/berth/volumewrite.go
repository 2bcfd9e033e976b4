package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/berthhq/berth/swarm/volumewrite"
)

// volumeWrite is the helper Berth runs inside a container on a volume's node:
// it waits (with --wait) while the engine writes a staged upload into the volume,
// then, on Berth's word on stdin, moves it into place or throws it away, and
// answers in JSON.
func volumeWrite(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("volume-write", flag.ContinueOnError)
	root := fs.String("root", "/berth-volume", "where the volume is mounted")
	stage := fs.String("finish", "", "the staging folder to finish")
	wait := fs.Bool("wait", false, `read "finish" (or anything else to throw the upload away) from stdin first`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var written []volumewrite.Written
	var err error
	if *wait && !finishAsked(stdin) {
		if err = volumewrite.Discard(*root, *stage); err == nil {
			err = errors.New("the upload did not arrive whole: nothing was written")
		}
	} else {
		written, err = volumewrite.Finish(*root, *stage)
	}
	enc := json.NewEncoder(stdout)
	if err != nil {
		enc.Encode(map[string]string{"error": err.Error()})
		return fmt.Errorf("volume-write: %w", err)
	}
	return enc.Encode(map[string]any{"written": written})
}

// finishAsked reads Berth's word: "finish", or anything else (or nothing) to throw the upload away.
func finishAsked(stdin io.Reader) bool {
	word, _ := bufio.NewReader(stdin).ReadString('\n')
	return strings.TrimSpace(word) == "finish"
}
