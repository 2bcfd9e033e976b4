package views

import (
	"fmt"
	"strings"
	"time"
)

// Rollout is a service's last rollout in words, with the class that colours it.
type Rollout struct {
	Text  string
	Class string // state-ok, state-bad, or muted for work in progress
}

// RolloutOf turns the engine's update state and message into what a user reads.
func RolloutOf(state, message string) Rollout {
	failed := strings.Contains(message, "failure") || strings.Contains(message, "due to")
	switch state {
	case "":
		return Rollout{}
	case "updating":
		return Rollout{"Rolling out the new spec…", "muted"}
	case "completed":
		return Rollout{"Rolled out.", "state-ok"}
	case "paused":
		return Rollout{"The rollout is paused: " + message, "state-bad"}
	case "rollback_started":
		return Rollout{"Rolling back to the previous spec…", "muted"}
	case "rollback_paused":
		return Rollout{"The roll back is paused: " + message, "state-bad"}
	case "rollback_completed":
		if failed {
			return Rollout{"The rollout failed and was rolled back: " + message, "state-bad"}
		}
		return Rollout{"Rolled back to the previous spec.", "state-ok"}
	}
	return Rollout{state + ": " + message, "muted"}
}

// Ago writes how long ago a time was, in the largest unit that fits ("3 min ago").
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// taskWords says a task state as a user reads it.
func taskWords(s string) string {
	switch s {
	case "shutdown":
		return "stopped"
	case "complete":
		return "finished"
	case "rejected":
		return "refused by the node"
	}
	return s
}

// UploadLimitText is the upload limit as the refusal of a larger upload says it.
func UploadLimitText(limit int64) string {
	return fmt.Sprintf("Uploads are at most %d GB here (an admin setting)", limit>>30)
}
