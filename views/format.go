package views

import (
	"fmt"
	"strconv"
)

func int64String(n int64) string { return strconv.FormatInt(n, 10) }

func recoveryLeftText(n int) string {
	if n == 1 {
		return "1 recovery code left."
	}
	return fmt.Sprintf("%d recovery codes left.", n)
}

func outcomeClass(outcome string) string {
	if outcome == "ok" {
		return "state-ok"
	}
	return "state-bad"
}

// plural picks the singular form for exactly one.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func stepClass(state string) string {
	switch state {
	case "completed":
		return "state-ok"
	case "failed":
		return "state-bad"
	}
	return "state-warn"
}

func healthClass(h string) string {
	switch h {
	case "ok":
		return "state-ok"
	case "down":
		return "state-bad"
	}
	return "state-warn"
}

func rolloutClass(s string) string {
	switch s {
	case "completed":
		return "state-ok"
	case "paused", "rollback_paused", "rollback_completed":
		return "state-bad"
	}
	return "state-warn"
}

func taskClass(s string) string {
	switch s {
	case "running", "complete":
		return "state-ok"
	case "failed", "rejected", "orphaned":
		return "state-bad"
	}
	return "muted"
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
