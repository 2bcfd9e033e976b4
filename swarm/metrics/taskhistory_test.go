package metrics

import (
	"testing"
	"time"
)

func TestTaskHistoryKeepsTheLastHourPerService(t *testing.T) {
	var h taskHistory
	start := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for i := range 300 { // 75 minutes at 15 s
		at := start.Add(time.Duration(i) * 15 * time.Second)
		h.add(Current{At: at, Tasks: map[string]TaskUse{
			"t1": {Task: "t1", Service: "web", Node: "n1", Use: Use{CPU: float64(i)}},
			"t2": {Task: "t2", Service: "db", Node: "n2"},
		}}, 15*time.Second, time.Hour)
	}
	end := start.Add(299 * 15 * time.Second)
	web := h.of("web", time.Time{})
	if len(web) != 241 || web[0].T != end.Add(-time.Hour) || web[240].CPU != 299 {
		t.Fatalf("web keeps %d points from %v", len(web), web[0].T)
	}
	if got := h.of("web", end.Add(-time.Minute)); len(got) != 5 {
		t.Errorf("the last minute: %d points", len(got))
	}
	h.add(Current{At: end.Add(2 * time.Hour), Tasks: map[string]TaskUse{}}, 15*time.Second, time.Hour)
	if len(h.by) != 0 {
		t.Errorf("services without tasks for an hour are forgotten: %v", len(h.by))
	}
}
