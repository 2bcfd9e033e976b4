// Package stack turns a compose file into the swarm objects of a Berth stack,
// named and labelled as `docker stack deploy` names them, with every key Berth
// does not apply listed as a warning.
package stack

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/berthhq/berth/swarm"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// NamespaceLabel is the label docker stack deploy (and Berth) put on a stack's objects.
const NamespaceLabel = "com.docker.stack.namespace"

// ImageLabel is the label docker stack deploy puts on a service: the image the file names.
const ImageLabel = "com.docker.stack.image"

// DomainsKey is the service extension that maps domains through the load balancer.
const DomainsKey = "x-berth-domains"

// Input is what a user gives to deploy or update a stack.
type Input struct {
	Name    string            // the stack's name, the prefix of its objects' names
	Compose string            // the compose file's text
	Env     string            // optional .env text for interpolation
	Files   map[string]string // contents of the files that file: keys name, by the name as written
}

// Plan is the swarm objects a compose file asks for, in Berth's terms.
type Plan struct {
	Name     string
	Services []Service
	Networks []Network
	Volumes  []Volume
	Objects  []Object
	Warnings []Problem
}

// Service is one service of the stack.
type Service struct {
	Key  string // the compose file's name for it ("web")
	Spec swarm.ServiceSpec
	// items maps the spec's list items to the compose file's ("mounts[0]" to "volumes[1]").
	items map[string]string
}

// Network is a network the stack's services join.
type Network struct {
	Key, Name  string
	External   bool
	Attachable bool
	Labels     map[string]string
}

// Volume is a named volume, kept as a Berth volume mapping.
type Volume struct {
	Key, Name string
	External  bool
}

// Object is a config or secret of the stack.
type Object struct {
	Kind      swarm.Kind
	Key, Name string
	External  bool
	Source    string // where the content comes from: "file pw.txt", "environment PW", "content"
	Data      []byte // nil when external, or a secret's file that was not given (kept as it is on an update)
	Labels    map[string]string
}

// Problem is a refusal or warning about one place of the file.
type Problem struct{ Path, Message string }

// Invalid is a file Berth refuses, with what is wrong where ("services.web.volumes[0]").
type Invalid struct{ Fields map[string]string }

func (e *Invalid) Error() string {
	var parts []string
	for _, k := range sortedKeys(e.Fields) {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return "the compose file is not valid: " + strings.Join(parts, "; ")
}

// Parse reads a compose file with the compose specification's own loader: interpolated
// from the .env text only (never Berth's own environment), reading no file from disk.
func Parse(ctx context.Context, in Input) (Plan, error) {
	if why := swarm.ValidateName(in.Name); why != "" {
		return Plan{}, &Invalid{Fields: map[string]string{"name": why}}
	}
	if strings.TrimSpace(in.Compose) == "" {
		return Plan{}, &Invalid{Fields: map[string]string{"compose": "Paste a compose file."}}
	}
	env, err := dotenv.UnmarshalWithLookup(in.Env, func(string) (string, bool) { return "", false })
	if err != nil {
		return Plan{}, &Invalid{Fields: map[string]string{"env": "The .env text does not parse: " + err.Error()}}
	}
	var unsupported []loader.UnsupportedAttribute
	details := types.ConfigDetails{WorkingDir: "/nonexistent", ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml", Content: []byte(in.Compose)}}, Environment: env}
	project, err := loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName(in.Name, true)
		o.SkipInclude, o.SkipExtends, o.SkipResolveEnvironment, o.SkipResolveLabels = true, true, true, true
		o.ResolvePaths = false
		o.ResourceLoaders = []loader.ResourceLoader{noFiles{}}
	}, loader.WithSupportedAttributes(supportedPaths, func(found []loader.UnsupportedAttribute) { unsupported = found }))
	if err != nil {
		return Plan{}, &Invalid{Fields: map[string]string{"compose": loadError(err)}}
	}
	p := Plan{Name: in.Name}
	for _, u := range unsupported {
		p.Warnings = append(p.Warnings, Problem{Path: string(u.Path), Message: unsupportedWarning(string(u.Path))})
	}
	c := converter{plan: &p, project: project, env: env, files: in.Files, errs: map[string]string{}}
	c.convert()
	if len(c.errs) > 0 {
		return p, &Invalid{Fields: c.errs}
	}
	return p, nil
}

// noFiles refuses every file compose-go would read (include, extends, env_file).
type noFiles struct{}

func (noFiles) Accept(string) bool { return true }
func (noFiles) Load(_ context.Context, p string) (string, error) {
	return "", fmt.Errorf("Berth reads no files from its own disk (%s)", p)
}
func (noFiles) Dir(p string) string { return p }

// loadError is the loader's refusal in one line.
func loadError(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"validating compose.yaml: ", "compose.yaml: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	if errors.Is(err, context.Canceled) {
		return "The request ended before the file was read."
	}
	return "The compose file is not valid: " + msg
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
