package swarm

import (
	"context"
	"net/netip"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// NetworkInfo is a swarm-scoped network as the Networks page shows it.
type NetworkInfo struct {
	ID, Name, Driver      string
	Encrypted, Attachable bool
	Internal, Ingress     bool
	Subnets               []string
	Labels                map[string]string
	Services              []string // the services attached to it, by name
	Reserved              string   // why it is off-limits ("" for the environment's own)
}

// NetworkSpec is an overlay network an operator asks for.
type NetworkSpec struct {
	Name       string `json:"name"`
	Encrypted  *bool  `json:"encrypted,omitempty"` // on unless set false
	Attachable bool   `json:"attachable"`
	Subnet     string `json:"subnet,omitempty"` // CIDR; the engine picks one when empty
}

// Networks lists the swarm-scoped networks, with the services attached to each, from the live model.
func (e *Engine) Networks(ctx context.Context) ([]NetworkInfo, error) {
	var raw []network.Summary
	if m := e.liveModel(); m != nil {
		m.mu.RLock()
		for _, n := range m.netInfo {
			raw = append(raw, n)
		}
		m.mu.RUnlock()
	} else {
		list, err := e.cli.NetworkList(ctx, network.ListOptions{})
		if err != nil {
			return nil, e.wrap(err)
		}
		raw = list
	}
	services, err := e.Services(ctx)
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, s := range services {
		for _, n := range s.Spec.Networks {
			users[n] = append(users[n], s.Spec.Name)
		}
	}
	var out []NetworkInfo
	for _, n := range raw {
		if n.Scope != "swarm" {
			continue
		}
		info := NetworkInfo{ID: n.ID, Name: n.Name, Driver: n.Driver, Attachable: n.Attachable, Internal: n.Internal, Ingress: n.Ingress,
			Labels: n.Labels, Services: users[n.Name], Reserved: ReservedNetwork(n.Name)}
		_, info.Encrypted = n.Options["encrypted"]
		for _, c := range n.IPAM.Config {
			info.Subnets = append(info.Subnets, c.Subnet)
		}
		if n.Ingress {
			info.Reserved = "it is Docker's own network"
		}
		sort.Strings(info.Services)
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CheckNetworkSpec says what is wrong with each field of a new network, given the networks there are.
func CheckNetworkSpec(s NetworkSpec, existing []NetworkInfo) map[string]string {
	errs := map[string]string{}
	if msg := ValidateName(s.Name); msg != "" {
		errs["name"] = msg
	} else if why := ReservedNetwork(s.Name); why != "" {
		errs["name"] = "The name " + s.Name + " is taken: " + why + "."
	}
	for _, n := range existing {
		if n.Name == s.Name && errs["name"] == "" {
			errs["name"] = "A network named " + s.Name + " exists already."
		}
	}
	if s.Subnet == "" {
		return errs
	}
	want, err := netip.ParsePrefix(strings.TrimSpace(s.Subnet))
	if err != nil || want.Masked() != want || want.Bits() > 29 {
		errs["subnet"] = "Enter a network address in CIDR form with room for tasks, such as 10.20.0.0/24."
		return errs
	}
	for _, n := range existing {
		for _, sub := range n.Subnets {
			if have, err := netip.ParsePrefix(sub); err == nil && have.Overlaps(want) {
				errs["subnet"] = "It overlaps " + sub + " of the network " + n.Name + "."
				return errs
			}
		}
	}
	return errs
}

// CreateNetwork creates an overlay network (encrypted unless asked otherwise), after the checks above.
func (e *Engine) CreateNetwork(ctx context.Context, s NetworkSpec) (NetworkInfo, error) {
	existing, err := e.Networks(ctx)
	if err != nil {
		return NetworkInfo{}, err
	}
	if errs := CheckNetworkSpec(s, existing); len(errs) > 0 {
		return NetworkInfo{}, &SpecError{Fields: errs}
	}
	opts := network.CreateOptions{Driver: "overlay", Scope: "swarm", Attachable: s.Attachable, Labels: map[string]string{ManagedLabel: "true"}}
	if s.Encrypted == nil || *s.Encrypted {
		opts.Options = map[string]string{"encrypted": ""}
	}
	if s.Subnet != "" {
		opts.IPAM = &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: strings.TrimSpace(s.Subnet)}}}
	}
	res, err := e.cli.NetworkCreate(ctx, s.Name, opts)
	if err != nil {
		if cerrdefs.IsConflict(err) || strings.Contains(err.Error(), "already exists") {
			return NetworkInfo{}, &SpecError{Fields: map[string]string{"name": "A network named " + s.Name + " exists already."}}
		}
		return NetworkInfo{}, e.wrap(err)
	}
	if m := e.liveModel(); m != nil {
		m.refreshNetworks(ctx)
	}
	_, encrypted := opts.Options["encrypted"]
	n := NetworkInfo{ID: res.ID, Name: s.Name, Driver: "overlay", Encrypted: encrypted, Attachable: s.Attachable, Labels: opts.Labels}
	if s.Subnet != "" {
		n.Subnets = []string{strings.TrimSpace(s.Subnet)}
	}
	return n, nil
}

// RemoveNetwork removes a network no service uses; Berth's and Docker's own are refused.
func (e *Engine) RemoveNetwork(ctx context.Context, name string) error {
	list, err := e.Networks(ctx)
	if err != nil {
		return err
	}
	for _, n := range list {
		if n.Name != name {
			continue
		}
		if n.Reserved != "" {
			return &Refusal{Kind: "network", Name: name, Reason: n.Reserved}
		}
		if len(n.Services) > 0 {
			return &InUseError{Kind: "network", Name: name, Services: n.Services}
		}
		if err := e.removeNetworkOnceLeft(ctx, n.ID); err != nil {
			return err
		}
		if m := e.liveModel(); m != nil {
			m.refreshNetworks(ctx)
		}
		return nil
	}
	if why := ReservedNetwork(name); why != "" {
		return &Refusal{Kind: "network", Name: name, Reason: why}
	}
	return &engineError{msg: "No network named " + name + ".", kind: ErrNotFound}
}

// removeNetworkOnceLeft removes a network, waiting (up to 30 s) while the tasks of services
// just removed still hold it.
func (e *Engine) removeNetworkOnceLeft(ctx context.Context, id string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := e.cli.NetworkRemove(ctx, id)
		if err == nil || cerrdefs.IsNotFound(err) {
			return nil
		}
		if !strings.Contains(err.Error(), "active endpoints") || time.Now().After(deadline) {
			return e.wrap(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
