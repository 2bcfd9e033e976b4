package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// recordingLimit caps one recording; the rest of a longer session is not kept (and the recording says so).
const recordingLimit = 16 << 20

// castRecorder writes a terminal session as asciicast v2: a header line, then one
// JSON array per event, [seconds, "o" or "r", text].
type castRecorder struct {
	mu        sync.Mutex
	start     time.Time
	buf       bytes.Buffer
	partial   []byte // the start of a UTF-8 character split across two reads
	truncated bool
}

func newCastRecorder(cols, rows uint, shell string, start time.Time) *castRecorder {
	r := &castRecorder{start: start}
	if cols == 0 || rows == 0 {
		cols, rows = 80, 24
	}
	header, _ := json.Marshal(map[string]any{"version": 2, "width": cols, "height": rows, "timestamp": start.Unix(),
		"env": map[string]string{"TERM": "xterm-256color", "SHELL": shell}})
	r.buf.Write(header)
	r.buf.WriteByte('\n')
	return r
}

// event appends one event line unless the recording is full.
func (r *castRecorder) event(at time.Time, kind, text string) {
	line, _ := json.Marshal([]any{float64(at.Sub(r.start).Microseconds()) / 1e6, kind, text})
	if r.buf.Len()+len(line)+1 > recordingLimit {
		r.truncated = true
		return
	}
	r.buf.Write(line)
	r.buf.WriteByte('\n')
}

// output records terminal output, keeping multi-byte characters whole across reads.
func (r *castRecorder) output(p []byte, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data := append(r.partial, p...)
	cut := len(data)
	for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax; i-- {
		if utf8.RuneStart(data[i]) {
			if !utf8.FullRune(data[i:]) {
				cut = i
			}
			break
		}
	}
	r.partial = append([]byte(nil), data[cut:]...)
	if cut > 0 {
		r.event(at, "o", strings.ToValidUTF8(string(data[:cut]), "\uFFFD"))
	}
}

// resize records a new terminal size.
func (r *castRecorder) resize(cols, rows uint, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.event(at, "r", fmt.Sprintf("%dx%d", cols, rows))
}

// cast returns the recording so far and whether it was cut short.
func (r *castRecorder) cast() ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.buf.Bytes()...), r.truncated
}
