package handlers

import (
	"context"
	"testing"
	"time"
)

func TestAnIdleSessionEndsAndActivityIsNotedOnceAMinute(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		seen       int64
		idle, note bool
	}{
		{0, false, true},
		{now.Add(-10 * time.Second).Unix(), false, false},
		{now.Add(-61 * time.Second).Unix(), false, true},
		{now.Add(-119 * time.Minute).Unix(), false, true},
		{now.Add(-121 * time.Minute).Unix(), true, false},
	} {
		if idle, note := idleVerdict(tc.seen, now); idle != tc.idle || note != tc.note {
			t.Errorf("seen %s ago: idle %v note %v, want %v %v", now.Sub(time.Unix(tc.seen, 0)), idle, note, tc.idle, tc.note)
		}
	}
}

// TestReadingPagesWritesNoSession checks in the SQLite file that a signed-in user's
// page views leave their session row as it was: many open tabs cost no writes.
func TestReadingPagesWritesNoSession(t *testing.T) {
	ts := newServer(t, unreachableEngine)
	c := ts.signedIn("reader", "viewer")
	c.get("/account")
	row := func() (data []byte, expiry float64) {
		if err := ts.Store.DB().QueryRowContext(context.Background(), `SELECT data, expiry FROM sessions`).Scan(&data, &expiry); err != nil {
			t.Fatal(err)
		}
		return data, expiry
	}
	data, expiry := row()
	for _, path := range []string{"/account", "/audit", "/engine/banner", "/account", "/registries"} {
		if p := c.get(path); p.Status != 200 {
			t.Fatalf("%s: %d", path, p.Status)
		}
	}
	if d, e := row(); string(d) != string(data) || e != expiry {
		t.Error("reading pages rewrote the session row")
	}
}
