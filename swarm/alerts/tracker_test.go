package alerts

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A scripted run of the tracker with a fake clock: each step says what is seen, and the
// actions the tracker takes are applied to the open alerts as the store would.
func TestTrackerOpensOncePerProblemRepeatsResolvesAndDampsFlapping(t *testing.T) {
	rules := Rules{Hold: map[string]time.Duration{"service_degraded": 2 * time.Minute}, ResolveAfter: 30 * time.Second, Repeat: time.Hour}
	node := Condition{Kind: "node_down", Object: "node:w1", Title: "Node w1 is down"}
	svc := Condition{Kind: "service_degraded", Object: "service:web", Title: "web runs 0 of 2"}
	for _, tc := range []struct {
		name  string
		steps []struct {
			at   time.Duration
			seen []Condition
			ack  bool
		}
		want string
	}{
		{"a node down opens at once, once, and resolves once it is back for 30 s", steps(
			0, []Condition{node}, 15, []Condition{node}, 30, []Condition{node}, 45, nil, 60, nil, 75, nil),
			"0s open node_down; 75s resolve node_down"},
		{"a degraded service opens only after holding for 2 minutes", steps(
			0, []Condition{svc}, 60, []Condition{svc}, 120, []Condition{svc}, 135, []Condition{svc}),
			"120s open service_degraded"},
		{"a condition that flaps faster than its hold never opens", steps(
			0, []Condition{svc}, 60, nil, 90, []Condition{svc}, 150, nil, 180, []Condition{svc}, 240, nil),
			""},
		{"an open alert whose condition flaps briefly stays one alert", steps(
			0, []Condition{node}, 15, nil, 30, []Condition{node}, 45, nil, 60, []Condition{node}),
			"0s open node_down"},
		{"an open alert repeats every hour until acknowledged", steps(
			0, []Condition{node}, 3600, []Condition{node}, 7200, []Condition{node}, 7201, []Condition{node}, -1, nil, 10800, []Condition{node}),
			"0s open node_down; 3600s repeat node_down; 7200s repeat node_down"},
		{"an acknowledged alert still resolves", steps(
			0, []Condition{node}, -1, nil, 60, nil, 90, nil),
			"0s open node_down; 90s resolve node_down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker()
			var open []Known
			var log []string
			start := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
			for _, st := range tc.steps {
				if st.ack {
					for i := range open {
						open[i].Acked = true
					}
					continue
				}
				now := start.Add(st.at)
				for _, a := range tr.Step(now, st.seen, open, rules) {
					log = append(log, fmt.Sprintf("%ds %s %s", int(st.at.Seconds()), a.Do, a.Condition.Kind))
					switch a.Do {
					case "open":
						open = append(open, Known{ID: int64(len(log)), Kind: a.Condition.Kind, Object: a.Condition.Object, LastSentAt: now})
					case "repeat":
						for i := range open {
							if open[i].ID == a.ID {
								open[i].LastSentAt = now
							}
						}
					case "resolve":
						for i := range open {
							if open[i].ID == a.ID {
								open = append(open[:i], open[i+1:]...)
								break
							}
						}
					}
				}
			}
			if got := strings.Join(log, "; "); got != tc.want {
				t.Errorf("actions %q\nwant    %q", got, tc.want)
			}
		})
	}
}

// steps builds a script from pairs of (seconds, conditions); -1 seconds acknowledges every open alert.
func steps(pairs ...any) []struct {
	at   time.Duration
	seen []Condition
	ack  bool
} {
	var out []struct {
		at   time.Duration
		seen []Condition
		ack  bool
	}
	for i := 0; i < len(pairs); i += 2 {
		sec := pairs[i].(int)
		seen, _ := pairs[i+1].([]Condition)
		out = append(out, struct {
			at   time.Duration
			seen []Condition
			ack  bool
		}{at: time.Duration(sec) * time.Second, seen: seen, ack: sec < 0})
	}
	return out
}
