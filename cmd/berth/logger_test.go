package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLogLinesAreTextOrJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger("json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("listening", "addr", ":8080")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["msg"] != "listening" || line["addr"] != ":8080" || line["level"] != "INFO" {
		t.Errorf("a JSON log line: %v %q", err, buf.String())
	}
	buf.Reset()
	log, _ = newLogger("text", &buf)
	log.Info("listening", "addr", ":8080")
	if !strings.Contains(buf.String(), `msg=listening addr=:8080`) {
		t.Errorf("a text log line: %q", buf.String())
	}
	if _, err := newLogger("xml", &buf); err == nil || !strings.Contains(err.Error(), "BERTH_LOG_FORMAT") {
		t.Errorf("an unknown format: %v", err)
	}
}
