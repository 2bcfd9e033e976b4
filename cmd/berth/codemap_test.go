package main

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/berthhq/berth/"

// codeMapLine is one package of the README's code map: "- `pkg`: ... Imports: `a`, `b`." or "Imports: nothing of Berth's."
var codeMapLine = regexp.MustCompile("^- `([a-z/]+)`: .* Imports: (.*)\\.$")

func TestTheREADMEsCodeMapMatchesTheImports(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(data), "## Code map")
	section, _, _ = strings.Cut(section, "\n## ")
	said := map[string][]string{}
	for _, line := range strings.Split(section, "\n") {
		m := codeMapLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var imports []string
		if m[2] != "nothing of Berth's" {
			for _, p := range strings.Split(m[2], ", ") {
				imports = append(imports, strings.Trim(p, "`"))
			}
		}
		said[m[1]] = imports
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "../../...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if pkg == strings.TrimSuffix(module, "/") {
			continue // the module root holds only templ.go's tool directive
		}
		var imports []string
		for _, f := range fields[1:] {
			if strings.HasPrefix(f, module) {
				imports = append(imports, strings.TrimPrefix(f, module))
			}
		}
		want, ok := said[pkg]
		if !ok {
			t.Errorf("package %s is not in the README's code map", pkg)
			continue
		}
		slices.Sort(imports)
		slices.Sort(want)
		if !slices.Equal(imports, want) {
			t.Errorf("%s imports %v; the code map says %v", pkg, imports, want)
		}
		delete(said, pkg)
	}
	for pkg := range said {
		t.Errorf("the code map lists %s, which is no package", pkg)
	}
	// The directions the architecture promises, whatever the map says.
	for pkg, forbidden := range map[string][]string{"views": {"swarm", "store"}, "store": {"swarm", "handlers", "views"}, "swarm": {"handlers", "views", "store"}} {
		deps, err := exec.Command("go", "list", "-deps", "../../"+pkg).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range strings.Fields(string(deps)) {
			for _, f := range forbidden {
				if d == module+f || strings.HasPrefix(d, module+f+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
