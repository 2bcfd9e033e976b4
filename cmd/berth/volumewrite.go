package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
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
	fifo := fs.String("fifo", "", "read the staged upload's stream from this named pipe and unpack it first")
	answerFile := fs.String("answer", "", "also write the JSON answer to this file (Berth reads it without waiting for the container to end)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var written []volumewrite.Written
	// What a crashed upload left is removed first; this upload's folder is held meanwhile.
	release, err := volumewrite.Hold(*root, *stage)
	if err == nil {
		defer release()
	}
	volumewrite.RemoveStale(*root)
	err = nil
	if *fifo != "" {
		err = unpackFrom(*fifo, *root, *stage)
	}
	if err != nil {
		volumewrite.Discard(*root, *stage)
	} else if *wait && !finishAsked(stdin) {
		if err = volumewrite.Discard(*root, *stage); err == nil {
			err = errors.New("the upload did not arrive whole: nothing was written")
		}
	} else {
		written, err = volumewrite.Finish(*root, *stage)
	}
	answer := map[string]any{"written": written}
	if err != nil {
		answer = map[string]any{"error": err.Error()}
	}
	raw, _ := json.Marshal(answer)
	if *answerFile != "" && os.WriteFile(*answerFile+".tmp", raw, 0o600) == nil {
		os.Rename(*answerFile+".tmp", *answerFile)
	}
	fmt.Fprintln(stdout, string(raw))
	if err != nil {
		return fmt.Errorf("volume-write: %w", err)
	}
	return nil
}

// finishAsked reads Berth's word: "finish", or anything else (or nothing) to throw the upload away.
func finishAsked(stdin io.Reader) bool {
	word, _ := bufio.NewReader(stdin).ReadString('\n')
	return strings.TrimSpace(word) == "finish"
}

// unpackFrom reads the staged upload from Berth's named pipe into the volume.
func unpackFrom(fifo, root, stage string) error {
	f, err := os.Open(fifo)
	if err != nil {
		return fmt.Errorf("the upload pipe: %w", err)
	}
	defer f.Close()
	if err := volumewrite.Unpack(root, stage, f); err != nil {
		io.Copy(io.Discard, f) // let Berth finish writing, so it hears the answer rather than a broken pipe
		return err
	}
	return nil
}
