package views

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
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

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// envError finds the message for an environment row: by key (from the spec's
// validation) or by position (duplicates found while reading the form).
func envError(errs FieldErrors, i int, key string) string {
	if msg := errs["env."+key]; msg != "" {
		return msg
	}
	return errs["env["+strconv.Itoa(i)+"]"]
}

// firstError returns the first message whose field starts with prefix.
func firstError(errs FieldErrors, prefix string) string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return errs[keys[0]]
}

// hasAdvancedErrors opens the advanced section when one of its fields is wrong.
func (f DeployForm) hasAdvancedErrors() bool {
	for k := range f.Errors {
		for _, p := range []string{"constraints", "preferences", "resources", "restart_policy", "update_policy", "rollback_policy", "healthcheck", "logging"} {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
	}
	return false
}

func mappingNames(rows []MappingRow) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Name)
	}
	return out
}

// Bytes shows a size in binary units.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func joinNames(names []string) string { return strings.Join(names, ", ") }

// orDash shows a figure not known yet as a dash.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Cores says a CPU figure as a user reads it: "0.25 cores", "1.00 core".
func Cores(c float64) string {
	if c > 0.995 && c < 1.005 {
		return "1.00 core"
	}
	return strconv.FormatFloat(c, 'f', 2, 64) + " cores"
}

// urlQueryEscape escapes a value for a URL's query.
func urlQueryEscape(s string) string { return url.QueryEscape(s) }
