package views

import (
	"testing"
	"time"
)

func TestRolloutStatesReadAsWords(t *testing.T) {
	for _, tc := range []struct{ state, msg, text, class string }{
		{"updating", "update in progress", "Rolling out the new spec…", "muted"},
		{"completed", "update completed", "Rolled out.", "state-ok"},
		{"rollback_completed", "rollback completed", "Rolled back to the previous spec.", "state-ok"},
		{"rollback_completed", "update rolled back due to failure or early termination of task x", "The rollout failed and was rolled back: update rolled back due to failure or early termination of task x", "state-bad"},
		{"paused", "update paused due to failure or early termination of task y", "The rollout is paused: update paused due to failure or early termination of task y", "state-bad"},
	} {
		if r := RolloutOf(tc.state, tc.msg); r.Text != tc.text || r.Class != tc.class {
			t.Errorf("%s %q: %+v", tc.state, tc.msg, r)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{5 * time.Second: "5 s ago", 3 * time.Minute: "3 min ago", 5 * time.Hour: "5 h ago", 72 * time.Hour: "3 days ago"} {
		if got := Ago(now.Add(-d), now); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}
