package swarm

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
)

// LogLine is one line of a service's log.
type LogLine struct {
	Time   time.Time
	TaskID string
	NodeID string
	Stderr bool
	Text   string
}

// ServiceLogs reads a service's logs (tail "all" or a line count), calling fn per line,
// and keeps following new lines while follow is set and ctx lasts.
func (e *Engine) ServiceLogs(ctx context.Context, name, tail string, follow bool, fn func(LogLine) error) error {
	rc, err := e.cli.ServiceLogs(ctx, name, container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Details: true, Tail: tail, Follow: follow})
	if err != nil {
		return e.wrap(err)
	}
	defer rc.Close()
	r := bufio.NewReader(rc)
	var header [8]byte
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		frame := make([]byte, binary.BigEndian.Uint32(header[4:]))
		if _, err := io.ReadFull(r, frame); err != nil {
			return err
		}
		for _, raw := range strings.Split(strings.TrimRight(string(frame), "\n"), "\n") {
			if err := fn(parseLogLine(raw, header[0] == 2)); err != nil {
				return err
			}
		}
	}
}

// parseLogLine reads "<timestamp> <details> <text>" as the engine writes service log lines.
func parseLogLine(raw string, stderr bool) LogLine {
	l := LogLine{Stderr: stderr}
	ts, rest, _ := strings.Cut(raw, " ")
	l.Time, _ = time.Parse(time.RFC3339Nano, ts)
	details, text, _ := strings.Cut(rest, " ")
	for _, kv := range strings.Split(details, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "com.docker.swarm.task.id":
			l.TaskID = v
		case "com.docker.swarm.node.id":
			l.NodeID = v
		}
	}
	if l.TaskID == "" && l.NodeID == "" { // no details: the rest is the text
		text = rest
	}
	l.Text = text
	return l
}

// Subscribe follows the live model's changes; without a model the channel never delivers.
func (e *Engine) Subscribe() (<-chan Change, func()) {
	if e.model == nil {
		return make(chan Change), func() {}
	}
	return e.model.Subscribe()
}

// Announce tells the live model's subscribers of a change the model does not see itself
// (Kind "resources": a resource collection has finished).
func (e *Engine) Announce(c Change) {
	if e.model != nil {
		e.model.notify(c)
	}
}

// ModelState says whether pages show the live state, and since when they do not.
func (e *Engine) ModelState() (ready bool, syncedAt time.Time, lastError string) {
	if e.model == nil {
		return false, time.Time{}, "the live model is not running"
	}
	return e.model.Ready()
}
