package swarm

import (
	"fmt"
	"regexp"
	"strconv"
)

// objectName is Docker's rule for secret, config and volume names.
var objectName = regexp.MustCompile(`^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$`)

// MaxNameLength is the longest secret or config name Docker accepts.
const MaxNameLength = 64

// Engine limits on object content.
const (
	MaxSecretSize = 500 * 1024
	MaxConfigSize = 1000 * 1024
)

// ValidateName returns a message saying what is wrong with a secret, config or mapping name, or "".
func ValidateName(name string) string {
	switch {
	case name == "":
		return "Enter a name."
	case len(name) > MaxNameLength:
		return fmt.Sprintf("Use at most %d characters (this one has %d).", MaxNameLength, len(name))
	case !objectName.MatchString(name):
		return "Use letters, digits, '-', '_' and '.', starting and ending with a letter or digit."
	}
	return ""
}

// ValidateContent returns a message saying what is wrong with a secret's or config's content, or "".
func ValidateContent(kind Kind, data []byte) string {
	limit := MaxConfigSize
	if kind == KindSecret {
		limit = MaxSecretSize
	}
	switch {
	case len(data) == 0:
		return "The content is empty."
	case len(data) > limit:
		return fmt.Sprintf("The engine accepts at most %d KB for a %s; this is %d KB.", limit/1024, kind, (len(data)+1023)/1024)
	}
	return ""
}

var versionSuffix = regexp.MustCompile(`^(.*)-v([0-9]+)$`)

// NextVersionName is the name a new version of an object takes: app_conf becomes
// app_conf-v2, app_conf-v2 becomes app_conf-v3.
func NextVersionName(name string) string {
	base, n := name, 1
	if m := versionSuffix.FindStringSubmatch(name); m != nil {
		base = m[1]
		n, _ = strconv.Atoi(m[2])
	}
	suffix := "-v" + strconv.Itoa(n+1)
	if len(base)+len(suffix) > MaxNameLength {
		base = base[:MaxNameLength-len(suffix)]
		for len(base) > 0 && !isAlnum(base[len(base)-1]) {
			base = base[:len(base)-1]
		}
	}
	return base + suffix
}

func isAlnum(b byte) bool {
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
}
