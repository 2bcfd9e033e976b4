package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
)

// The README's run command must give a binary the node helpers can run, on a machine with a C compiler too.
func TestTheREADMEsRunCommandBuildsABinaryHelpersCanRun(t *testing.T) {
	line, env, err := enginetest.READMERunEnv("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	build := func(extra ...string) string {
		bin := filepath.Join(t.TempDir(), "berth")
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Env = append(append(os.Environ(), env...), extra...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build as %q: %v\n%s", line, err, out)
		}
		return bin
	}
	if p := swarm.HelperBinaryProblem(build()); p != "" {
		t.Errorf("the README's run command (%s) builds a binary helpers cannot run: %s", line, p)
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C compiler: a cgo build cannot be made to check the refusal")
	}
	if p := swarm.HelperBinaryProblem(build("CGO_ENABLED=1")); !strings.Contains(p, "CGO_ENABLED=0") {
		t.Errorf("a cgo build is not recognised as one helpers cannot run: %q", p)
	}
}
