package backup

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC) // a Sunday

func snap(id string, at time.Time) Snap { return Snap{ID: id, At: at} }

func TestRetainTable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		snaps []Snap
		want  map[string]string
	}{
		{"nothing", nil, map[string]string{}},
		{"one old snapshot is the newest and its month's last",
			[]Snap{snap("a", t0.AddDate(-1, 0, 0))}, map[string]string{"a": TierMonthly}},
		{"hourly within a day, the day's last as daily",
			[]Snap{snap("h1", t0.Add(-1*time.Hour)), snap("h2", t0.Add(-2*time.Hour)), snap("old", t0.Add(-25*time.Hour))},
			map[string]string{"h1": TierMonthly, "h2": TierHourly, "old": TierDaily}},
		{"a day's earlier snapshots go after 24 hours",
			[]Snap{snap("late", t0.Add(-30*time.Hour)), snap("early", t0.Add(-34*time.Hour)), snap("now", t0)},
			map[string]string{"late": TierDaily, "now": TierMonthly}},
		{"dailies older than a week go unless last of their week",
			[]Snap{snap("sat", t0.AddDate(0, 0, -8)), snap("fri", t0.AddDate(0, 0, -9)), snap("now", t0)},
			map[string]string{"sat": TierWeekly, "now": TierMonthly}},
		{"weeklies older than a month go unless last of their month",
			[]Snap{snap("oct31", time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC)), snap("oct20", time.Date(2026, 10, 20, 10, 0, 0, 0, time.UTC)), snap("now", t0)},
			map[string]string{"oct31": TierMonthly, "now": TierMonthly}},
		{"pinned is never pruned",
			[]Snap{{ID: "p", At: time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC), Pinned: true}, snap("p2", time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC)), snap("now", t0)},
			map[string]string{"p": TierPinned, "p2": TierMonthly, "now": TierMonthly}},
	} {
		got := Retain(tc.snaps, t0)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: kept %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRetainProperties checks, for random histories, that what is kept satisfies every tier.
func TestRetainProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for run := 0; run < 300; run++ {
		var snaps []Snap
		n := rng.Intn(400)
		for i := 0; i < n; i++ {
			at := t0.Add(-time.Duration(rng.Int63n(int64(400 * 24 * time.Hour))))
			snaps = append(snaps, Snap{ID: fmt.Sprintf("s%d", i), At: at, Pinned: rng.Intn(50) == 0})
		}
		keep := Retain(snaps, t0)
		if n == 0 {
			continue
		}
		sorted := append([]Snap(nil), snaps...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].At.After(sorted[j].At) })
		if _, ok := keep[sorted[0].ID]; !ok {
			t.Fatalf("run %d: the newest snapshot was pruned", run)
		}
		lastOf := map[string]Snap{}
		for _, s := range sorted {
			if _, kept := keep[s.ID]; s.Pinned && !kept {
				t.Fatalf("run %d: pinned %s pruned", run, s.ID)
			}
			if _, kept := keep[s.ID]; t0.Sub(s.At) < HourlyFor && !kept {
				t.Fatalf("run %d: %s within 24 hours pruned", run, s.ID)
			}
			y, w := s.At.ISOWeek()
			for _, k := range []string{"d" + s.At.Format("2006-01-02"), fmt.Sprintf("w%d-%d", y, w), "m" + s.At.Format("2006-01")} {
				if _, ok := lastOf[k]; !ok {
					lastOf[k] = s
				}
			}
		}
		for k, s := range lastOf {
			age := t0.Sub(s.At)
			must := k[0] == 'm' || (k[0] == 'w' && age < WeeklyFor) || (k[0] == 'd' && age < DailyFor)
			if _, kept := keep[s.ID]; must && !kept {
				t.Fatalf("run %d: %s, the last of %s, was pruned", run, s.ID, k)
			}
		}
		// Nothing else is kept: every kept snapshot has a reason.
		for id, tier := range keep {
			if tier == "" {
				t.Fatalf("run %d: %s kept without a tier", run, id)
			}
		}
	}
}

// TestAMonthOfHourlySnapshots runs retention after every hourly snapshot for 40 days with a fake clock.
func TestAMonthOfHourlySnapshots(t *testing.T) {
	start := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	var live []Snap
	var now time.Time
	for h := 0; h < 40*24; h++ {
		now = start.Add(time.Duration(h) * time.Hour)
		live = append(live, snap(now.Format("0102-15"), now))
		keep := Retain(live, now)
		var next []Snap
		for _, s := range live {
			if _, ok := keep[s.ID]; ok {
				next = append(next, s)
			}
		}
		live = next
	}
	// now is 2026-11-28 23:00: 24 hourlies (one of them the day's last), 6 more dailies,
	// the last of each week within 31 days, and the last of October.
	have := map[string]bool{}
	for _, s := range live {
		have[s.ID] = true
	}
	for h := 0; h < 24; h++ {
		if id := now.Add(-time.Duration(h) * time.Hour).Format("0102-15"); !have[id] {
			t.Errorf("hourly %s missing", id)
		}
	}
	for d := 1; d <= 6; d++ {
		if id := time.Date(2026, 11, 28-d, 23, 0, 0, 0, time.UTC).Format("0102-15"); !have[id] {
			t.Errorf("daily %s missing", id)
		}
	}
	for _, id := range []string{"1031-23", "1101-23", "1108-23", "1115-23"} { // October's last; the Sundays ending ISO weeks
		if !have[id] {
			t.Errorf("%s missing", id)
		}
	}
	if len(live) != 24+6+4 {
		var ids []string
		for _, s := range live {
			ids = append(ids, s.ID)
		}
		t.Errorf("kept %d snapshots, want 34: %v", len(live), ids)
	}
}
