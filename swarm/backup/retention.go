// Package backup takes snapshots of the Docker environment, keeps them by
// tiered retention, verifies them and restores from them.
package backup

import (
	"fmt"
	"sort"
	"time"
)

// Tiers a kept snapshot can hold, most durable first.
const (
	TierMonthly = "monthly" // the last of each month, kept indefinitely
	TierWeekly  = "weekly"  // the last of each week, for a month
	TierDaily   = "daily"   // the last of each day, for a week
	TierHourly  = "hourly"  // every snapshot, for 24 hours
	TierPinned  = "pinned"  // kept by hand
	TierNewest  = "newest"  // the newest complete snapshot, always kept
)

// Retention windows.
const (
	HourlyFor = 24 * time.Hour
	DailyFor  = 7 * 24 * time.Hour
	WeeklyFor = 31 * 24 * time.Hour
)

// RetentionRule says the rule in force, for evidence exports.
const RetentionRule = "hourly snapshots for 24 hours; the last of each day for 7 days; the last of each ISO week for 31 days; the last of each month indefinitely; pinned snapshots and the newest complete snapshot are never pruned"

// Snap is a complete snapshot as retention sees it.
type Snap struct {
	ID     string
	At     time.Time
	Pinned bool
}

// Retain decides which snapshots to keep at now, by id, with the tier that keeps
// each; every snapshot not in the answer may be deleted.
func Retain(snaps []Snap, now time.Time) map[string]string {
	keep := map[string]string{}
	if len(snaps) == 0 {
		return keep
	}
	sorted := append([]Snap(nil), snaps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].At.After(sorted[j].At) }) // newest first
	mark := func(id, tier string) {
		if rank(tier) > rank(keep[id]) {
			keep[id] = tier
		}
	}
	lastOf := func(key func(time.Time) string, window time.Duration, tier string) {
		seen := map[string]bool{}
		for _, s := range sorted {
			if window > 0 && now.Sub(s.At) >= window {
				continue
			}
			k := key(s.At.UTC())
			if !seen[k] {
				seen[k] = true
				mark(s.ID, tier)
			}
		}
	}
	for _, s := range sorted {
		if now.Sub(s.At) < HourlyFor {
			mark(s.ID, TierHourly)
		}
		if s.Pinned {
			mark(s.ID, TierPinned)
		}
	}
	lastOf(func(t time.Time) string { return t.Format("2006-01-02") }, DailyFor, TierDaily)
	lastOf(func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }, WeeklyFor, TierWeekly)
	lastOf(func(t time.Time) string { return t.Format("2006-01") }, 0, TierMonthly)
	if _, ok := keep[sorted[0].ID]; !ok {
		keep[sorted[0].ID] = TierNewest
	}
	return keep
}

// rank orders tiers: a snapshot shows the most durable one that keeps it.
func rank(tier string) int {
	switch tier {
	case TierMonthly:
		return 6
	case TierWeekly:
		return 5
	case TierDaily:
		return 4
	case TierPinned:
		return 3
	case TierHourly:
		return 2
	case TierNewest:
		return 1
	}
	return 0
}
