// Package alerts watches the swarm, the backups and the load balancer for problems,
// opens one alert per problem (damped, repeated, resolved) and delivers each by
// email and webhook with retries.
package alerts

import (
	"sort"
	"time"
)

// Condition is a problem seen at one check: what, on which object, in words.
type Condition struct {
	Kind   string // node_down, service_degraded, ...
	Object string // node:worker1, service:web
	Title  string
	Detail string
}

func (c Condition) key() string { return c.Kind + "\x00" + c.Object }

// Known is an alert the store holds open.
type Known struct {
	ID           int64
	Kind, Object string
	LastSentAt   time.Time
	Acked        bool
}

func (k Known) key() string { return k.Kind + "\x00" + k.Object }

// Rules are the timing of alerts.
type Rules struct {
	Hold         map[string]time.Duration // how long a condition holds before its alert opens (kinds not named open at once)
	ResolveAfter time.Duration            // how long a condition is gone before its alert resolves
	Repeat       time.Duration            // how often an open, unacknowledged alert is sent again (0: never)
}

// Action is what the tracker decided for one alert.
type Action struct {
	Do        string // open, repeat, resolve
	Condition Condition
	ID        int64 // repeat and resolve
}

// Tracker remembers, between checks, since when each condition has held and since
// when each open alert's condition has been gone, so a flapping condition opens one
// alert, not one per flap.
type Tracker struct {
	seen map[string]time.Time
	gone map[string]time.Time
}

// NewTracker starts with nothing seen.
func NewTracker() *Tracker {
	return &Tracker{seen: map[string]time.Time{}, gone: map[string]time.Time{}}
}

// Step compares the conditions seen now with the open alerts and says what to do.
func (t *Tracker) Step(now time.Time, seen []Condition, open []Known, r Rules) []Action {
	var out []Action
	current := map[string]Condition{}
	for _, c := range seen {
		current[c.key()] = c
		if _, ok := t.seen[c.key()]; !ok {
			t.seen[c.key()] = now
		}
	}
	for k := range t.seen {
		if _, ok := current[k]; !ok {
			delete(t.seen, k)
		}
	}
	isOpen := map[string]bool{}
	for _, a := range open {
		isOpen[a.key()] = true
		if _, still := current[a.key()]; still {
			delete(t.gone, a.key())
			if r.Repeat > 0 && !a.Acked && now.Sub(a.LastSentAt) >= r.Repeat {
				out = append(out, Action{Do: "repeat", ID: a.ID, Condition: current[a.key()]})
			}
			continue
		}
		since, ok := t.gone[a.key()]
		if !ok {
			t.gone[a.key()], since = now, now
		}
		if now.Sub(since) >= r.ResolveAfter {
			delete(t.gone, a.key())
			out = append(out, Action{Do: "resolve", ID: a.ID, Condition: Condition{Kind: a.Kind, Object: a.Object}})
		}
	}
	for k := range t.gone {
		if !isOpen[k] {
			delete(t.gone, k)
		}
	}
	keys := make([]string, 0, len(current))
	for k := range current {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := current[k]
		if !isOpen[k] && now.Sub(t.seen[k]) >= r.Hold[c.Kind] {
			out = append(out, Action{Do: "open", Condition: c})
		}
	}
	return out
}
