package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/stack"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// contentLabel holds a keyed hash of a stack config's or secret's content, so an
// update can tell whether a file changed without reading (or storing) the secret.
const contentLabel = "berth.content-hmac"

// stackChange is what deploying a compose file would do, and the plan to do it.
type stackChange struct {
	in       stack.Input
	plan     stack.Plan
	update   bool
	current  map[string]swarm.Service // the stack's services now, by name
	objects  []plannedObject
	networks []stack.Network // to create
	mappings []string        // to create
	Preview  views.StackPreview
}

// plannedObject is a config or secret the deploy creates (Create) or reuses.
type plannedObject struct {
	stack.Object
	Base   string // the name the file gives it; Name is the version deployed
	Create bool
	Hash   string
	Old    string   // the version it replaces, removed once the rollouts away from it converged
	Users  []string // the services that used Old
}

// planStack reads a compose file and works out, without changing anything, what
// deploying it (or updating the stack with it) does, refusing by field what Berth's
// rules refuse.
func (h *Handlers) planStack(c echo.Context, in stack.Input, update bool) (*stackChange, views.FieldErrors, error) {
	ctx := c.Request().Context()
	action := "stack.create"
	if update {
		action = "stack.update"
	}
	if err := h.guardStack(c, action, strings.TrimSpace(in.Name)); err != nil {
		return nil, nil, err
	}
	plan, err := stack.Parse(ctx, in)
	var invalid *stack.Invalid
	if errors.As(err, &invalid) {
		return nil, views.FieldErrors(invalid.Fields), nil
	}
	if err != nil {
		return nil, nil, err
	}
	errs := views.FieldErrors(plan.Check())
	ch := &stackChange{in: in, plan: plan, update: update, current: map[string]swarm.Service{}}
	running, err := h.engine.Stack(ctx, in.Name)
	switch {
	case err == nil:
		for _, s := range running.Services {
			ch.current[s.Spec.Name] = s
		}
		if !update {
			errs.Add("name", "A stack named "+in.Name+" already runs: open it to update it.")
		}
	case errors.Is(err, swarm.ErrNotFound):
		if update {
			return nil, nil, err
		}
	default:
		return nil, nil, err
	}
	if err := h.planObjects(c, ch, &errs); err != nil {
		return nil, nil, err
	}
	if err := h.planNetworksAndVolumes(c, ch, &errs); err != nil {
		return nil, nil, err
	}
	if err := h.planServices(c, ch, &errs); err != nil {
		return nil, nil, err
	}
	for _, w := range plan.Warnings {
		ch.Preview.Warnings = append(ch.Preview.Warnings, views.StackWarning{Path: w.Path, Message: w.Message})
	}
	return ch, errs, nil
}

var versionSuffix = regexp.MustCompile(`-v(\d+)$`)

// planObjects picks each config's and secret's name: the base name at first, the next
// version when its content changed, the one in use when it did not.
func (h *Handlers) planObjects(c echo.Context, ch *stackChange, errs *views.FieldErrors) error {
	ctx := c.Request().Context()
	inUse := map[string]bool{}
	for _, s := range ch.current {
		for _, r := range append(append([]swarm.FileRef{}, s.Spec.Secrets...), s.Spec.Configs...) {
			inUse[r.Name] = true
		}
	}
	for _, o := range ch.plan.Objects {
		at := string(o.Kind) + "s." + o.Key
		p := plannedObject{Object: o, Base: o.Name}
		if o.External {
			if _, err := h.engine.Object(ctx, o.Kind, o.Name); errors.Is(err, swarm.ErrNotFound) {
				errs.Add(at, fmt.Sprintf("No %s named %s exists: create it first, or drop external: true.", o.Kind, o.Name))
			} else if err != nil {
				return err
			}
		} else {
			cur := currentVersion(o.Name, inUse)
			if o.Data != nil {
				p.Hash = h.store.Keyring().Hash(string(o.Kind) + "\x00" + string(o.Data))
			}
			var curObj swarm.Object
			if cur != "" {
				var err error
				if curObj, err = h.engine.Object(ctx, o.Kind, cur); err != nil && !errors.Is(err, swarm.ErrNotFound) {
					return err
				}
			}
			switch {
			case o.Data == nil && cur == "":
				errs.Add(at+".file", "Give the content of "+strings.TrimPrefix(o.Source, "file ")+".")
			case o.Data == nil || (curObj.Name != "" && curObj.Labels[contentLabel] == p.Hash):
				p.Name = cur // unchanged (or a secret's file not given again): the version in use stays
			case cur != "":
				p.Name, p.Create, p.Old = nextVersion(o.Name, cur), true, cur
				for _, svc := range ch.current {
					for _, r := range append(append([]swarm.FileRef{}, svc.Spec.Secrets...), svc.Spec.Configs...) {
						if r.Name == cur {
							p.Users = append(p.Users, svc.Spec.Name)
						}
					}
				}
			default:
				p.Create = true
			}
		}
		if err := h.engine.CheckObject(ctx, o.Kind, p.Name); errors.Is(err, swarm.ErrRefused) {
			errs.Add(at, err.Error())
		} else if err != nil {
			return err
		}
		ch.objects = append(ch.objects, p)
		change := "unchanged"
		switch {
		case o.External:
			change = "external"
		case p.Create && p.Old != "":
			change = "new version (replaces " + p.Old + ")"
		case p.Create:
			change = "create"
		}
		ch.Preview.Objects = append(ch.Preview.Objects, views.StackItem{Name: p.Name, Kind: string(o.Kind), Change: change})
	}
	return nil
}

// currentVersion is the version of a stack object its services use now: base or base-vN.
func currentVersion(base string, inUse map[string]bool) string {
	best, bestN := "", 0
	for name := range inUse {
		n := 0
		switch {
		case name == base:
			n = 1
		case strings.HasPrefix(name, base+"-v"):
			m := versionSuffix.FindStringSubmatch(name)
			if m == nil || name != base+m[0] {
				continue
			}
			n, _ = strconv.Atoi(m[1])
		default:
			continue
		}
		if n > bestN {
			best, bestN = name, n
		}
	}
	return best
}

// nextVersion names the version after cur: base-v2 after base, base-v3 after base-v2.
func nextVersion(base, cur string) string {
	n := 1
	if m := versionSuffix.FindStringSubmatch(cur); m != nil && cur == base+m[0] {
		n, _ = strconv.Atoi(m[1])
	}
	return fmt.Sprintf("%s-v%d", base, n+1)
}

func (h *Handlers) planNetworksAndVolumes(c echo.Context, ch *stackChange, errs *views.FieldErrors) error {
	ctx := c.Request().Context()
	for _, n := range ch.plan.Networks {
		exists, err := h.engine.NetworkExists(ctx, n.Name)
		if err != nil {
			return err
		}
		switch {
		case n.External && !exists:
			errs.Add("networks."+n.Key, "No network named "+n.Name+" exists: create it first, or drop external: true.")
		case n.External:
		case swarm.ReservedNetwork(n.Name) != "":
			errs.Add("networks."+n.Key+".name", "The network "+n.Name+" is out of reach: "+swarm.ReservedNetwork(n.Name)+".")
		case !exists:
			ch.networks = append(ch.networks, n)
			ch.Preview.Networks = append(ch.Preview.Networks, views.StackItem{Name: n.Name, Kind: "network", Change: "create"})
		}
	}
	for _, v := range ch.plan.Volumes {
		_, err := h.store.VolumeMapping(ctx, v.Name)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := h.engine.CheckVolume(ctx, v.Name); errors.Is(err, swarm.ErrRefused) {
			errs.Add("volumes."+v.Key, err.Error())
			continue
		} else if err != nil {
			return err
		}
		switch {
		case v.External && !exists:
			errs.Add("volumes."+v.Key, "No volume mapping named "+v.Name+" exists: create it on the Volumes page, or drop external: true.")
		case !exists:
			ch.mappings = append(ch.mappings, v.Name)
			ch.Preview.Mappings = append(ch.Preview.Mappings, views.StackItem{Name: v.Name, Kind: "volume mapping", Change: "create"})
		}
	}
	return nil
}

// planServices renames the services' object references to the versions chosen, asks
// the boundary about every service, and says per service what changes.
func (h *Handlers) planServices(c echo.Context, ch *stackChange, errs *views.FieldErrors) error {
	ctx := c.Request().Context()
	names := map[swarm.Kind]map[string]string{swarm.KindConfig: {}, swarm.KindSecret: {}}
	for _, o := range ch.objects {
		names[o.Kind][o.Base] = o.Name
	}
	planned := map[string]bool{}
	for i := range ch.plan.Services {
		s := &ch.plan.Services[i]
		for j := range s.Spec.Secrets {
			s.Spec.Secrets[j].Name = orText(names[swarm.KindSecret][s.Spec.Secrets[j].Name], s.Spec.Secrets[j].Name)
		}
		for j := range s.Spec.Configs {
			s.Spec.Configs[j].Name = orText(names[swarm.KindConfig][s.Spec.Configs[j].Name], s.Spec.Configs[j].Name)
		}
		planned[s.Spec.Name] = true
		refused, err := h.engine.CheckSpec(ctx, s.Spec)
		if err != nil {
			return err
		}
		for field, msg := range refused {
			errs.Add(s.Path(field), msg)
		}
		item := views.StackItem{Name: s.Spec.Name, Kind: "service", Change: "create"}
		if cur, ok := ch.current[s.Spec.Name]; ok {
			if err := h.engine.CheckService(ctx, cur.Spec.Name, isAdmin(c)); errors.Is(err, swarm.ErrRefused) {
				errs.Add("services."+s.Key, err.Error())
			} else if err != nil {
				return err
			}
			item.Change, item.Fields = "unchanged", changedFields(cur.Spec, s.Spec.Normalized())
			if len(item.Fields) > 0 {
				item.Change = "update"
			}
		}
		ch.Preview.Services = append(ch.Preview.Services, item)
	}
	for _, name := range sortedKeys(ch.current) {
		if !planned[name] {
			if err := h.engine.CheckService(ctx, name, isAdmin(c)); errors.Is(err, swarm.ErrRefused) {
				errs.Add("services", err.Error())
			} else if err != nil {
				return err
			}
			ch.Preview.Services = append(ch.Preview.Services, views.StackItem{Name: name, Kind: "service", Change: "remove"})
		}
	}
	return nil
}

// changedFields names the spec's top-level fields that differ, as the API spells them,
// leaving out what Berth and docker stack deploy set themselves.
func changedFields(cur, next swarm.ServiceSpec) []string {
	a, b := stackSpecFields(cur), stackSpecFields(next)
	var out []string
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	for k, v := range b {
		if string(a[k]) != string(v) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func stackSpecFields(s swarm.ServiceSpec) map[string]json.RawMessage {
	labels := map[string]string{}
	for k, v := range s.Labels {
		if k != swarm.StackLabel && k != swarm.StackImageLabel {
			labels[k] = v
		}
	}
	s.Labels = labels
	if len(s.Labels) == 0 {
		s.Labels = nil
	}
	if len(s.Networks) == 0 {
		s.Networks = nil
	}
	b, _ := json.Marshal(s)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
