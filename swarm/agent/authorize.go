package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

// HelperLabel marks the helper containers Berth runs on a node; the agent lets a
// grant touch no other container than these and, for a terminal, its one container.
const HelperLabel = "berth.helper"

// helperCommands are the subcommands of Berth's binary a helper may run.
var helperCommands = []string{"volume-write", "volume-archive", "volume-restore"}

// ContainerFacts is what the rules need to know about a container.
type ContainerFacts struct {
	ID      string
	Helper  bool     // labelled as a Berth helper
	Volumes []string // the named volumes it mounts
	Other   bool     // it mounts anything else (a bind, a tmpfs...)
	Task    bool     // it is a swarm task's container
	Escapes []string // what gives it the node (ContainerEscapes)
}

// Lookup answers the rules' questions from the node's engine.
type Lookup interface {
	Container(ctx context.Context, ref string) (ContainerFacts, error)
	ExecContainer(ctx context.Context, execID string) (string, error)
	ImageID(ctx context.Context, ref string) (string, error)
}

// Request is one engine call as the agent received it.
type Request struct {
	Method string
	Path   string // without the API version prefix
	Body   []byte // read only for calls whose body the rules check
	Query  url.Values
}

// versionPrefix is the optional /v1.41 at the start of an engine API path.
var versionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

// APIPath strips the version prefix from an engine API path.
func APIPath(p string) string {
	if loc := versionPrefix.FindStringIndex(p); loc != nil {
		return p[loc[1]-1:]
	}
	return p
}

// NeedsBody says whether the rules read this call's body.
func NeedsBody(method, path string) bool {
	return method == http.MethodPost && (path == "/containers/create" || path == "/volumes/create" || strings.HasSuffix(path, "/exec"))
}

// Refusal is a call the grant does not allow, with the reason.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return "not allowed: " + r.Reason }

func refuse(format string, a ...any) error { return &Refusal{Reason: fmt.Sprintf(format, a...)} }

// Authorize decides whether a grant allows one engine call; selfImage is the
// agent's own image id, the only image helpers may be created from.
func Authorize(ctx context.Context, g Grant, selfImage string, r Request, look Lookup) error {
	if path.Clean(r.Path) != r.Path {
		return refuse("the path %q is not in its plain form", r.Path)
	}
	seg := strings.Split(strings.Trim(r.Path, "/"), "/")
	call := r.Method + " " + seg[0]
	switch r.Method + " " + r.Path {
	case "GET /_ping", "HEAD /_ping", "GET /version", "GET /info":
		return nil
	}
	switch g.Action {
	case ActTerminal:
		return authorizeTerminal(ctx, g, r, seg, look)
	case ActVolumes:
		switch r.Method + " " + r.Path {
		case "GET /volumes", "GET /system/df", "GET /containers/json":
			return nil
		}
	case ActStats:
		return authorizeStats(ctx, r, seg, look)
	case ActImages:
		return authorizeImages(ctx, selfImage, r, seg, look)
	case ActUpload, ActBackup, ActRestore:
		return authorizeVolumeWork(ctx, g, selfImage, r, seg, look)
	default:
		return refuse("unknown action %q", g.Action)
	}
	return refuse("%s is not part of %s", call, g.Action)
}

// authorizeStats allows listing containers and reading a swarm task container's resource use, nothing else.
func authorizeStats(ctx context.Context, r Request, seg []string, look Lookup) error {
	switch {
	case r.Method == http.MethodGet && r.Path == "/containers/json":
		return nil
	case r.Method == http.MethodGet && len(seg) == 3 && seg[0] == "containers" && seg[2] == "stats":
		c, err := look.Container(ctx, seg[1])
		if err != nil || !c.Task {
			return refuse("resource use is read only of swarm task containers")
		}
		return nil
	}
	return refuse("%s %s is not part of reading resource use", r.Method, r.Path)
}

// authorizeImages allows reading the node's images and disk use and removing an image
// without force (so the engine refuses one any container uses), never the agent's own.
func authorizeImages(ctx context.Context, selfImage string, r Request, seg []string, look Lookup) error {
	switch {
	case r.Method == http.MethodGet && (r.Path == "/system/df" || r.Path == "/images/json" || r.Path == "/containers/json"):
		return nil
	case r.Method == http.MethodGet && len(seg) >= 3 && seg[0] == "images" && seg[len(seg)-1] == "json":
		return nil // an image's details: which digests it was pulled as
	case r.Method == http.MethodDelete && len(seg) >= 2 && seg[0] == "images":
		if f := r.Query.Get("force"); f != "" && f != "0" && f != "false" {
			return refuse("images are removed only when no container uses them, never forced")
		}
		id, err := look.ImageID(ctx, strings.Join(seg[1:], "/"))
		if err != nil {
			return refuse("the image is not on this node")
		}
		if id == selfImage {
			return refuse("the agent's own image stays")
		}
		return nil
	}
	return refuse("%s %s is not part of listing and removing unused images", r.Method, r.Path)
}

// authorizeTerminal allows inspecting the granted container and running execs in it.
func authorizeTerminal(ctx context.Context, g Grant, r Request, seg []string, look Lookup) error {
	switch {
	case len(seg) == 3 && seg[0] == "containers" && (r.Method+" "+seg[2] == "GET json" || r.Method+" "+seg[2] == "HEAD archive" || r.Method+" "+seg[2] == "POST exec"):
		c, err := look.Container(ctx, seg[1])
		if err != nil || c.ID != g.Container {
			return refuse("the grant is for another container")
		}
		if seg[2] == "exec" {
			if !c.Task || len(c.Escapes) > 0 {
				return refuse("a terminal opens only in a swarm task's container that has no way to the node")
			}
			var ex container.ExecOptions
			if err := json.Unmarshal(r.Body, &ex); err != nil || ex.Privileged {
				return refuse("a terminal may not be privileged")
			}
			if !TerminalCommand(ex.Cmd) {
				return refuse("a terminal runs only %s", strings.Join(TerminalShells, ", "))
			}
			for _, e := range ex.Env {
				if k, _, _ := strings.Cut(e, "="); k != "TERM" && k != TerminalEnv {
					return refuse("a terminal sets only TERM and %s", TerminalEnv)
				}
			}
		}
		return nil
	case len(seg) == 3 && seg[0] == "exec" && (r.Method+" "+seg[2] == "POST start" || r.Method+" "+seg[2] == "POST resize" || r.Method+" "+seg[2] == "GET json"):
		id, err := look.ExecContainer(ctx, seg[1])
		if err != nil || id != g.Container {
			return refuse("the exec runs in another container")
		}
		return nil
	}
	return refuse("%s %s is not part of a terminal", r.Method, r.Path)
}

// authorizeVolumeWork allows creating and driving helper containers that mount only the granted volume.
func authorizeVolumeWork(ctx context.Context, g Grant, selfImage string, r Request, seg []string, look Lookup) error {
	switch {
	case r.Method+" "+r.Path == "GET /containers/json": // which containers hold the volume, when removing it is refused
		return nil
	case len(seg) == 2 && seg[0] == "volumes" && seg[1] == g.Volume && (r.Method == http.MethodGet || r.Method == http.MethodDelete && g.Action == ActRestore):
		return nil
	case r.Method+" "+r.Path == "POST /volumes/create" && g.Action == ActRestore:
		return checkVolumeSpec(g, r.Body)
	case r.Method+" "+r.Path == "POST /containers/create":
		return checkHelperSpec(ctx, g, selfImage, r.Body, look)
	case len(seg) >= 2 && seg[0] == "containers":
		op := r.Method
		if len(seg) == 3 {
			op += " " + seg[2]
		} else if len(seg) != 2 || r.Method != http.MethodDelete {
			break
		}
		allowed := []string{"DELETE", "GET json", "POST start", "POST attach", "POST wait", "GET logs", "HEAD archive", "GET archive"}
		if g.Action != ActBackup {
			allowed = append(allowed, "PUT archive")
		}
		if !slices.Contains(allowed, op) {
			break
		}
		c, err := look.Container(ctx, seg[1])
		if err != nil || !c.Helper || c.Other || len(c.Volumes) != 1 || c.Volumes[0] != g.Volume {
			return refuse("the container is not a helper for volume %s", g.Volume)
		}
		return nil
	}
	return refuse("%s %s is not part of %s", r.Method, r.Path, g.Action)
}

// checkVolumeSpec allows creating the granted volume only as Berth makes it: the local
// driver, Berth's label, no driver options (which could bind any host folder).
func checkVolumeSpec(g Grant, body []byte) error {
	var spec volume.CreateOptions
	if err := json.Unmarshal(body, &spec); err != nil {
		return refuse("the volume spec cannot be read")
	}
	if spec.Name != g.Volume || (spec.Driver != "" && spec.Driver != "local") {
		return refuse("only the granted volume %s, with the local driver, may be created", g.Volume)
	}
	for k := range spec.Labels {
		if k != "berth.managed" {
			return refuse("a restored volume carries no label %s", k)
		}
	}
	spec.Name, spec.Driver, spec.Labels = "", "", nil
	if f := firstSet(reflect.ValueOf(spec), "Volume"); f != "" {
		return refuse("a restored volume may not set %s", f)
	}
	return nil
}

// helperEntrypoint is the agent image's own binary, the only program a helper runs.
var helperEntrypoint = []string{"/berth"}

// helperLabels are the only labels a helper carries.
var helperLabels = []string{"berth.managed", HelperLabel}

// checkHelperSpec allows a container only in the helper's fixed shape: the agent's
// own image and binary running one of Berth's helper commands, no network, the
// granted volume as its one mount. Every other field of the spec must be empty,
// so a field the engine adds later is refused until it is allowed here.
func checkHelperSpec(ctx context.Context, g Grant, selfImage string, body []byte, look Lookup) error {
	var spec struct {
		container.Config
		HostConfig       *container.HostConfig
		NetworkingConfig *network.NetworkingConfig
	}
	if err := json.Unmarshal(body, &spec); err != nil {
		return refuse("the container spec cannot be read")
	}
	cfg := spec.Config
	if id, err := look.ImageID(ctx, cfg.Image); err != nil || id != selfImage {
		return refuse("helpers run only the agent's own image")
	}
	if cfg.Labels[HelperLabel] == "" {
		return refuse("only helper containers may be created")
	}
	for k := range cfg.Labels {
		if !slices.Contains(helperLabels, k) {
			return refuse("a helper carries no label %s", k)
		}
	}
	if len(cfg.Cmd) > 0 && !slices.Contains(helperCommands, cfg.Cmd[0]) { // none: a helper that is only copied into and out of
		return refuse("a helper runs only %s", strings.Join(helperCommands, ", "))
	}
	if len(cfg.Entrypoint) > 0 && !slices.Equal(cfg.Entrypoint, helperEntrypoint) {
		return refuse("a helper runs only the agent's own binary")
	}
	if !cfg.NetworkDisabled {
		return refuse("a helper has no network")
	}
	if cfg.User != "" && cfg.User != "0" {
		return refuse("a helper runs as root in its own container or as the image's user")
	}
	// What may be set is taken out; what remains must be empty.
	cfg.Image, cfg.Labels, cfg.Cmd, cfg.Entrypoint, cfg.NetworkDisabled, cfg.User = "", nil, nil, nil, false, ""
	cfg.OpenStdin, cfg.StdinOnce, cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr = false, false, false, false, false
	if f := firstSet(reflect.ValueOf(cfg), "Config"); f != "" {
		return refuse("a helper may not set %s", f)
	}
	if f := firstSet(reflect.ValueOf(spec.NetworkingConfig), "NetworkingConfig"); f != "" {
		return refuse("a helper may not set %s", f)
	}
	hc := spec.HostConfig
	if hc == nil || len(hc.Mounts) != 1 {
		return refuse("a helper mounts exactly the granted volume")
	}
	m := hc.Mounts[0]
	if m.Type != mount.TypeVolume || m.Source != g.Volume || (g.Action == ActBackup && !m.ReadOnly) {
		return refuse("a helper mounts exactly the granted volume (read-only for a backup)")
	}
	m.Type, m.Source, m.Target, m.ReadOnly = "", "", "", false
	if f := firstSet(reflect.ValueOf(m), "Mounts[0]"); f != "" {
		return refuse("a helper's mount may not set %s", f)
	}
	rest := *hc
	rest.Mounts = nil
	if f := firstSet(reflect.ValueOf(rest), "HostConfig"); f != "" {
		return refuse("a helper gets no host access, devices, privileges or namespaces of the host: it may not set %s", f)
	}
	return nil
}

// firstSet names the first field under v that is not empty (zero, or a slice or map
// with nothing in it), "" when all are.
func firstSet(v reflect.Value, name string) string {
	switch v.Kind() {
	case reflect.Invalid:
		return ""
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return firstSet(v.Elem(), name)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			if f := firstSet(v.Field(i), name+"."+v.Type().Field(i).Name); f != "" {
				return f
			}
		}
		return ""
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return ""
		}
		return name
	}
	if v.IsZero() {
		return ""
	}
	return name
}
