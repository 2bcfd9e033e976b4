package handlers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCastRecorderKeepsSplitCharactersWhole(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	r := newCastRecorder(100, 30, "/bin/sh", start)
	r.output([]byte("caf\xc3"), start.Add(500*time.Millisecond))
	r.output([]byte("\xa9 \xe2\x9c"), start.Add(time.Second))
	r.output([]byte("\x93\r\n"), start.Add(1500*time.Millisecond))
	r.resize(120, 40, start.Add(2*time.Second))
	cast, truncated := r.cast()
	lines := strings.Split(strings.TrimSpace(string(cast)), "\n")
	var header map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &header); err != nil || header["version"].(float64) != 2 || header["width"].(float64) != 100 {
		t.Fatalf("header %s", lines[0])
	}
	var text string
	for _, l := range lines[1:] {
		var ev []any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("event %s: %v", l, err)
		}
		if ev[1] == "o" {
			text += ev[2].(string)
		}
	}
	if text != "café ✓\r\n" || truncated {
		t.Errorf("recorded %q (truncated %v)", text, truncated)
	}
	if !strings.HasSuffix(lines[len(lines)-1], `[2,"r","120x40"]`) {
		t.Errorf("resize event %s", lines[len(lines)-1])
	}
}
