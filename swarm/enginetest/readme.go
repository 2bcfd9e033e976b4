package enginetest

import (
	"fmt"
	"os"
	"strings"
)

// READMERunEnv returns the README's run command (the first shell block under "Run it on
// this machine") and the environment it sets before `go run`, so tests build Berth as a
// newcomer would.
func READMERunEnv(readme string) (line string, env []string, err error) {
	data, err := os.ReadFile(readme)
	if err != nil {
		return "", nil, err
	}
	_, rest, ok := strings.Cut(string(data), "## Run it on this machine")
	_, block, ok2 := strings.Cut(rest, "```sh\n")
	if !ok || !ok2 {
		return "", nil, fmt.Errorf("%s has no run command", readme)
	}
	line, _, _ = strings.Cut(block, "\n")
	for _, f := range strings.Fields(line) {
		if f == "go" {
			return line, env, nil
		}
		if !strings.Contains(f, "=") {
			break
		}
		env = append(env, f)
	}
	return line, nil, fmt.Errorf("the README's run command %q is not `[VAR=value ...] go run ...`", line)
}
