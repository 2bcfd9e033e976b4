package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
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
	// The directions the architecture promises, whatever the map says: views and
	// store (and their subpackages) know nothing of the engine or HTTP, no swarm
	// package knows HTTP or the pages, and only swarm/backup (snapshots hold Berth's
	// records), swarm/alerts (alerts and their deliveries are Berth's records) and
	// swarm/metrics (the resource history is kept in the database) read the store.
	forbidden := func(pkg string) []string {
		switch top, _, _ := strings.Cut(pkg, "/"); {
		case top == "views":
			return []string{"swarm", "store", "handlers"}
		case top == "store":
			return []string{"swarm", "handlers", "views"}
		case top == "swarm" && pkg != "swarm/backup" && pkg != "swarm/alerts" && pkg != "swarm/metrics":
			return []string{"handlers", "views", "store"}
		case top == "swarm":
			return []string{"handlers", "views"}
		}
		return nil
	}
	deps, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "../../views/...", "../../store/...", "../../swarm/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(deps)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		for _, d := range fields[1:] {
			for _, f := range forbidden(pkg) {
				if d == module+f || strings.HasPrefix(d, module+f+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}

// longBecause is how a file over the length limit says why it is long, in its doc comment.
const longBecause = "This file is long because"

// TestFilesAndFunctionsStayShort holds the code to its size rules: no file over 400 lines
// (outside tests and templ's output) unless its doc comment says why, and no function
// over 100 lines except the route table.
func TestFilesAndFunctionsStayShort(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "_templ.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path, "../../")
		if lines := fset.Position(f.End()).Line; lines > 400 && !strings.Contains(f.Doc.Text(), longBecause) {
			t.Errorf("%s has %d lines: split it, or say in its doc comment why not (%q)", name, lines, longBecause)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Name.Name == "Routes" && name == "handlers/routes.go" {
				continue
			}
			if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > 100 {
				t.Errorf("%s: %s has %d lines, more than 100", name, fn.Name.Name, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
