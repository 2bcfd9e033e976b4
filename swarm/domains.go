package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// Domain maps a host name (and optionally a path prefix) to a port of a service's containers.
type Domain struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	Path string `json:"path,omitempty"`
}

// DomainsLabel holds a service's domain mappings as JSON; Traefik's labels are derived from it.
const DomainsLabel = "berth.domains"

// entrypointHTTPS is the load balancer's HTTPS entry point.
const entrypointHTTPS = "websecure"

var (
	hostLabel  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	pathPrefix = regexp.MustCompile(`^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$`)
)

// Key is what two mappings must not share: host and path prefix.
func (d Domain) Key() string {
	p := d.Path
	if p == "" {
		p = "/"
	}
	return d.Host + p
}

// URL is where the mapping is reached.
func (d Domain) URL() string {
	return "https://" + d.Host + strings.TrimSuffix(d.Path, "/")
}

// Wildcard reports whether the host is a wildcard (*.example.com).
func (d Domain) Wildcard() bool { return strings.HasPrefix(d.Host, "*.") }

// NormalizeHost checks a typed host name and returns it in the form Traefik
// matches (international names as punycode), or says what is wrong with it.
func NormalizeHost(raw string) (string, error) {
	h := strings.TrimSpace(raw)
	switch {
	case h == "":
		return "", fmt.Errorf("Enter a domain name, such as app.example.com.")
	case strings.Contains(h, "://"):
		return "", fmt.Errorf("Enter the domain only, without %s: HTTPS is always used.", h[:strings.Index(h, "://")+3])
	case strings.ContainsAny(h, "/?#"):
		return "", fmt.Errorf("Enter the domain only; put a path prefix in the path field.")
	case strings.Contains(h, ":"):
		return "", fmt.Errorf("Enter the domain without a port: the load balancer listens on 443; give the container's port in the port field.")
	case strings.HasSuffix(h, "."):
		return "", fmt.Errorf("Leave out the trailing dot: %s.", strings.TrimSuffix(h, "."))
	case strings.ContainsAny(h, " \t`\"'"):
		return "", fmt.Errorf("A domain name has no spaces or quotes.")
	case h != strings.ToLower(h):
		return "", fmt.Errorf("Use lower case: %s.", strings.ToLower(h))
	}
	wild := strings.HasPrefix(h, "*.")
	rest := strings.TrimPrefix(h, "*.")
	if strings.Contains(rest, "*") {
		return "", fmt.Errorf("Only a leading *. is allowed, as in *.example.com.")
	}
	ascii, err := idna.Lookup.ToASCII(rest)
	if err != nil {
		return "", fmt.Errorf("%s is not a valid domain name (%v).", h, err)
	}
	if len(ascii) > 253 {
		return "", fmt.Errorf("A domain name has at most 253 characters.")
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("Use a full domain name, such as %s.example.com.", ascii)
	}
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			return "", fmt.Errorf("%q is not a valid part of a domain name: use letters, digits and '-', at most 63 each, not starting or ending with '-'.", l)
		}
	}
	if wild {
		return "*." + ascii, nil
	}
	return ascii, nil
}

// validateDomains checks each mapping's fields and that none repeats within the service.
func validateDomains(ds []Domain, add func(field, msg string)) []Domain {
	out := make([]Domain, len(ds))
	seen := map[string]int{}
	for i, d := range ds {
		f := func(name string) string { return fmt.Sprintf("domains[%d].%s", i, name) }
		host, err := NormalizeHost(d.Host)
		if err != nil {
			add(f("host"), err.Error())
		}
		d.Host = host
		if d.Port < 1 || d.Port > 65535 {
			add(f("port"), "Enter the port the container listens on, from 1 to 65535.")
		}
		switch {
		case d.Path == "" || d.Path == "/":
			d.Path = ""
		case !strings.HasPrefix(d.Path, "/"):
			add(f("path"), fmt.Sprintf("A path prefix starts with '/': /%s.", d.Path))
		case strings.Contains(d.Path, "..") || !pathPrefix.MatchString(d.Path):
			add(f("path"), "Use a plain path such as /api: letters, digits and - . _ ~ /, no '..', spaces or quotes.")
		}
		if j, dup := seen[d.Key()]; dup && host != "" {
			add(f("host"), fmt.Sprintf("%s is mapped twice in this service (also in row %d).", d.Key(), j+1))
		}
		seen[d.Key()] = i
		out[i] = d
	}
	return out
}

// routerName is the Traefik router of a service's i-th mapping.
func routerName(service string, i int) string { return fmt.Sprintf("berth-%s-%d", service, i) }

// backendName is the Traefik service for a service's port.
func backendName(service string, port int) string { return fmt.Sprintf("berth-%s-%d", service, port) }

// domainLabels are the labels that route a service's mappings through the load balancer.
func domainLabels(service string, ds []Domain) map[string]string {
	if len(ds) == 0 {
		return nil
	}
	raw, _ := json.Marshal(ds)
	l := map[string]string{
		DomainsLabel:            string(raw),
		"traefik.enable":        "true",
		"traefik.swarm.network": DefaultNetwork,
	}
	for i, d := range ds {
		r := "traefik.http.routers." + routerName(service, i)
		rule := "Host(`" + d.Host + "`)"
		if d.Wildcard() {
			rule = "HostRegexp(`^[a-z0-9-]+\\." + regexp.QuoteMeta(strings.TrimPrefix(d.Host, "*.")) + "$`)"
		}
		if d.Path != "" {
			rule += " && PathPrefix(`" + d.Path + "`)"
		}
		l[r+".rule"] = rule
		l[r+".entrypoints"] = entrypointHTTPS
		l[r+".tls"] = "true"
		l[r+".service"] = backendName(service, d.Port)
		l["traefik.http.services."+backendName(service, d.Port)+".loadbalancer.server.port"] = strconv.Itoa(d.Port)
	}
	return l
}

// isDomainLabel reports whether Berth derives the label from a service's mappings.
func isDomainLabel(service, key string) bool {
	switch key {
	case DomainsLabel, "traefik.enable", "traefik.swarm.network":
		return true
	}
	return strings.HasPrefix(key, "traefik.http.routers.berth-"+service+"-") ||
		strings.HasPrefix(key, "traefik.http.services.berth-"+service+"-")
}

// domainsFrom reads a service's mappings back from its labels.
func domainsFrom(labels map[string]string) []Domain {
	var ds []Domain
	if raw := labels[DomainsLabel]; raw != "" {
		json.Unmarshal([]byte(raw), &ds)
	}
	return ds
}

// domainConflicts finds mappings another service already has, by field.
func domainConflicts(service string, ds []Domain, others []Service) map[string]string {
	taken := map[string]string{}
	for _, o := range others {
		if o.Spec.Name != service {
			for _, d := range o.Spec.Domains {
				taken[d.Key()] = o.Spec.Name
			}
		}
	}
	out := map[string]string{}
	for i, d := range ds {
		if other, ok := taken[d.Key()]; ok {
			out[fmt.Sprintf("domains[%d].host", i)] = fmt.Sprintf("%s is already mapped to the service %s: remove it there first.", d.Key(), other)
		}
	}
	return out
}

// checkDomains adds field errors for mappings another service has, and for hosts
// the load balancer's certificate cannot serve.
func (e *Engine) checkDomains(ctx context.Context, s ServiceSpec, fields map[string]string) error {
	others, err := e.Services(ctx)
	if err != nil {
		return err
	}
	for k, v := range domainConflicts(s.Name, s.Domains, others) {
		fields[k] = v
	}
	lb, _, deployed, err := e.LoadBalancer(ctx)
	if err != nil {
		return err
	}
	uploaded := deployed && lb.CertMode == "uploaded"
	for i, d := range s.Domains {
		field := fmt.Sprintf("domains[%d].host", i)
		if _, taken := fields[field]; taken {
			continue
		}
		switch {
		case d.Wildcard() && !uploaded:
			fields[field] = "A wildcard domain needs an uploaded wildcard certificate on the load balancer (Let's Encrypt's TLS challenge cannot issue one)."
		case uploaded && !lb.Covers(d.Host):
			fields[field] = fmt.Sprintf("The load balancer's certificate does not cover %s (it covers %s): upload one that does, or use Let's Encrypt.", d.Host, strings.Join(lb.CertNames, ", "))
		}
	}
	return nil
}
