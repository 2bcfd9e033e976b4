package swarm

import (
	"debug/elf"
	"sync"
)

// dynamicHelper is the answer when Berth's binary needs a dynamic loader, which helper containers do not have.
const dynamicHelper = "Berth's binary is dynamically linked (built with cgo), so the helper containers that write uploads and back up and restore volumes cannot run it: build or run Berth with CGO_ENABLED=0, as the README's command does."

// helperChecks remembers, per binary, why it cannot run in a helper container.
var helperChecks sync.Map

// HelperProblem says why helper containers on the nodes cannot run Berth's binary ("" when they can).
func (e *Engine) HelperProblem() string {
	path, err := e.helperPath()
	if err != nil {
		return "Berth cannot find its own binary for the node helpers: " + err.Error()
	}
	if p, ok := helperChecks.Load(path); ok {
		return p.(string)
	}
	p := HelperBinaryProblem(path)
	helperChecks.Store(path, p)
	return p
}

// HelperBinaryProblem says why a binary cannot run in a helper container ("" when it can): a
// program header naming an interpreter means it needs a dynamic loader.
func HelperBinaryProblem(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return "" // not an ELF file this check can read: the helper itself will say what fails
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return dynamicHelper
		}
	}
	return ""
}
