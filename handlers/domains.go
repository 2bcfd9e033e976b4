package handlers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// ctxDNSWarnings carries the DNS check's warnings from validation to the answer.
const ctxDNSWarnings = "berth.dns_warnings"

// parseDomainRows reads the editor's rows; rows left empty are dropped.
func parseDomainRows(c echo.Context) []views.DomainRow {
	form, _ := c.FormParams()
	at := func(name string, i int) string {
		if v := form[name]; i < len(v) {
			return strings.TrimSpace(v[i])
		}
		return ""
	}
	var rows []views.DomainRow
	for i := range form["domain_host"] {
		r := views.DomainRow{Host: at("domain_host", i), Port: at("domain_port", i), Path: at("domain_path", i)}
		if r != (views.DomainRow{}) {
			rows = append(rows, r)
		}
	}
	return rows
}

// domainsFromRows converts the rows; a port that is not a number is reported at its field.
func domainsFromRows(rows []views.DomainRow, errs *views.FieldErrors) []swarm.Domain {
	out := make([]swarm.Domain, 0, len(rows))
	for i, r := range rows {
		port, err := strconv.Atoi(r.Port)
		if err != nil {
			errs.Add(fmt.Sprintf("domains[%d].port", i), "Enter the port the container listens on, from 1 to 65535.")
		}
		out = append(out, swarm.Domain{Host: r.Host, Port: port, Path: r.Path})
	}
	return out
}

// rowsFromDomains fills the editor from a spec, with one empty row to add to.
func rowsFromDomains(ds []swarm.Domain) []views.DomainRow {
	rows := make([]views.DomainRow, 0, len(ds)+1)
	for _, d := range ds {
		rows = append(rows, views.DomainRow{Host: d.Host, Port: strconv.Itoa(d.Port), Path: d.Path})
	}
	return append(rows, views.DomainRow{})
}

// checkDNS looks up the mappings' hosts: with the blocking setting a host that does not
// point to the manager's public address is refused; otherwise it becomes a warning.
func (h *Handlers) checkDNS(ctx context.Context, ds []swarm.Domain, errs *views.FieldErrors) ([]string, error) {
	checks, err := h.store.DomainChecks(ctx)
	if err != nil {
		return nil, err
	}
	if checks.PublicAddress == "" {
		return nil, nil // nothing to compare with: the domains page says so
	}
	var warnings []string
	for i, d := range ds {
		host := d.Host
		if strings.HasPrefix(host, "*.") || host == "" {
			continue // a wildcard has no one address to check
		}
		lookup, cancel := context.WithTimeout(ctx, 3*time.Second)
		addrs, err := h.cfg.Resolver.LookupHost(lookup, host)
		cancel()
		msg := ""
		switch {
		case err != nil:
			msg = fmt.Sprintf("%s does not resolve yet: point its DNS record to %s.", host, checks.PublicAddress)
		case !containsAddr(addrs, checks.PublicAddress):
			msg = fmt.Sprintf("%s resolves to %s, not to this manager's public address %s: the certificate cannot be issued and visitors will not reach it.", host, strings.Join(addrs, ", "), checks.PublicAddress)
		default:
			continue
		}
		if checks.Blocking {
			errs.Add(fmt.Sprintf("domains[%d].host", i), msg)
		} else {
			warnings = append(warnings, msg)
		}
	}
	return warnings, nil
}

func containsAddr(addrs []string, want string) bool {
	w := net.ParseIP(want)
	for _, a := range addrs {
		if a == want || (w != nil && w.Equal(net.ParseIP(a))) {
			return true
		}
	}
	return false
}

// domainsForm builds the editor's model.
func (h *Handlers) domainsForm(c echo.Context, service string, rows []views.DomainRow) (views.DomainsForm, error) {
	lb, _, deployed, err := h.engine.LoadBalancer(c.Request().Context())
	if err != nil {
		return views.DomainsForm{}, err
	}
	f := views.DomainsForm{Service: service, Rows: rows, Balancer: deployed}
	switch {
	case deployed && lb.CertMode == "uploaded":
		f.CertNote = "Certificates: the uploaded certificate, which covers " + strings.Join(lb.CertNames, ", ") + "."
	case deployed:
		f.CertNote = "Certificates: issued by Let's Encrypt for each domain once its DNS points to the load balancer."
	}
	return f, nil
}

func (h *Handlers) renderDomains(c echo.Context, status int, f views.DomainsForm) error {
	p := h.page(c, "Domains of "+f.Service, "services")
	return h.render(c, status, p, views.DomainsEditPage(p, f))
}

// DomainsEditPage shows a service's domain editor.
func (h *Handlers) DomainsEditPage(c echo.Context) error {
	s, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	if err := h.engine.CheckService(c.Request().Context(), s.Spec.Name, isAdmin(c)); err != nil {
		return err
	}
	f, err := h.domainsForm(c, s.Spec.Name, rowsFromDomains(s.Spec.Domains))
	if err != nil {
		return err
	}
	return h.renderDomains(c, http.StatusOK, f)
}

// SaveDomains replaces a service's mappings; nothing changes unless all of them pass.
func (h *Handlers) SaveDomains(c echo.Context) error {
	s, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	rows := parseDomainRows(c)
	if c.FormValue("add") == "domain" {
		f, err := h.domainsForm(c, s.Spec.Name, append(rows, views.DomainRow{}))
		if err != nil {
			return err
		}
		return h.renderDomains(c, http.StatusOK, f)
	}
	var errs views.FieldErrors
	spec := s.Spec
	spec.Domains = domainsFromRows(rows, &errs)
	if !errs.Any() {
		c.Set(ctxDeployChange, "domains")
		_, errs, err = h.deploy(c, spec.Name, spec)
		if errors.Is(err, swarm.ErrRefused) {
			return err
		}
		if err != nil {
			errs.Add("form", "The engine refused: "+err.Error())
		}
	}
	if errs.Any() {
		f, err := h.domainsForm(c, s.Spec.Name, rows)
		if err != nil {
			return err
		}
		f.Errors = errs
		f.DNSWarning, _ = c.Get(ctxDNSWarnings).([]string)
		return h.renderDomains(c, http.StatusUnprocessableEntity, f)
	}
	notice := fmt.Sprintf("Saved %d domain mappings of %s.", len(spec.Domains), spec.Name)
	if ws, _ := c.Get(ctxDNSWarnings).([]string); len(ws) > 0 {
		notice += " Check DNS: " + strings.Join(ws, " ")
	}
	return h.redirectNotice(c, "/services/"+spec.Name, notice)
}

// DomainsPage lists every mapping with its DNS and certificate state.
func (h *Handlers) DomainsPage(c echo.Context) error {
	states, addr, err := h.domainStates(c.Request().Context())
	if err != nil {
		return err
	}
	var rows []views.DomainState
	for _, d := range states {
		r := views.DomainState{Service: d.Service, URL: d.URL(), Key: d.Key(), Port: d.Port, DNSOK: d.PointsHere, CertOK: d.CertTrusted, Attention: d.NeedsAttention()}
		r.DNS = "points here (" + strings.Join(d.Addresses, ", ") + ")"
		if !d.PointsHere {
			r.DNS = d.DNSError
		}
		r.Cert = fmt.Sprintf("valid until %s, issued by %s", views.FormatTime(d.CertNotAfter), d.CertIssuer)
		if d.CertProblem != "" {
			r.Cert = d.CertProblem
			if d.CertIssuer != "" {
				r.Cert += fmt.Sprintf(" (presented: issued by %s, valid until %s)", d.CertIssuer, views.FormatTime(d.CertNotAfter))
			}
		}
		rows = append(rows, r)
	}
	p := h.page(c, "Domains", "domains")
	return h.render(c, http.StatusOK, p, views.DomainsPage(p, rows, addr))
}

// domainStates checks every mapping against DNS and the load balancer, and keeps
// which need attention for the services list.
func (h *Handlers) domainStates(ctx context.Context) ([]swarm.DomainState, string, error) {
	services, err := h.engine.Services(ctx)
	if err != nil {
		return nil, "", err
	}
	checks, err := h.store.DomainChecks(ctx)
	if err != nil {
		return nil, "", err
	}
	lbAddr, err := h.balancerAddress(ctx)
	if err != nil {
		return nil, "", err
	}
	states := swarm.DomainStates(ctx, services, h.cfg.Resolver, checks.PublicAddress, lbAddr, h.cfg.CertRoots)
	h.domains.store(states)
	return states, checks.PublicAddress, nil
}

// DomainStates checks every mapped domain's DNS and presented certificate, as the
// Domains page does, for the alert checks.
func (h *Handlers) DomainStates(ctx context.Context) ([]swarm.DomainState, error) {
	states, _, err := h.domainStates(ctx)
	return states, err
}

// domainCache remembers which mappings needed attention at the last check, so the
// services list can mark them without probing DNS and TLS on every update.
type domainCache struct {
	mu         sync.Mutex
	at         time.Time
	attention  map[string]string // by mapping key: what is wrong
	refreshing bool
}

// domainCacheAge is how long a check stands before the list asks for a new one.
const domainCacheAge = time.Minute

func (d *domainCache) store(states []swarm.DomainState) {
	m := map[string]string{}
	for _, s := range states {
		if s.NeedsAttention() {
			m[s.Key()] = strings.TrimSpace(s.DNSError + "; " + s.CertProblem)
		}
	}
	d.mu.Lock()
	d.at, d.attention, d.refreshing = time.Now(), m, false
	d.mu.Unlock()
}

// lookup says what needs attention for a mapping, and whether the cache should be refreshed.
func (d *domainCache) lookup(key string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	stale := time.Since(d.at) > domainCacheAge && !d.refreshing
	if stale {
		d.refreshing = true
	}
	return d.attention[key], stale
}

// domainTags are a service's mappings for the list, refreshing the cached checks in the background when old.
func (h *Handlers) domainTags(ds []swarm.Domain) []views.DomainTag {
	var tags []views.DomainTag
	refresh := false
	for _, d := range ds {
		why, stale := h.domains.lookup(d.Key())
		refresh = refresh || stale
		tags = append(tags, views.DomainTag{Key: d.Key(), URL: d.URL(), Attention: why})
	}
	if refresh {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, _, err := h.domainStates(ctx); err != nil {
				h.domains.store(nil)
			}
		}()
	}
	return tags
}

// balancerAddress is where the load balancer answers HTTPS ("" when none runs): its node's address.
func (h *Handlers) balancerAddress(ctx context.Context) (string, error) {
	lb, _, deployed, err := h.engine.LoadBalancer(ctx)
	if err != nil || !deployed {
		return "", err
	}
	nodes, err := h.engine.Nodes(ctx)
	if err != nil {
		return "", err
	}
	for _, n := range nodes {
		if n.Hostname == lb.Node {
			return net.JoinHostPort(n.Addr, "443"), nil
		}
	}
	return "", nil
}

// apiDomain is a mapping with its state as the API answers it.
type apiDomain struct {
	swarm.Domain
	Service    string   `json:"service"`
	URL        string   `json:"url"`
	Addresses  []string `json:"addresses"`
	DNSOK      bool     `json:"dns_ok"`
	DNSError   string   `json:"dns_error,omitempty"`
	CertOK     bool     `json:"certificate_ok"`
	CertIssuer string   `json:"certificate_issuer,omitempty"`
	CertUntil  string   `json:"certificate_valid_until,omitempty"`
	CertError  string   `json:"certificate_error,omitempty"`
}

// APIDomains lists every mapping with its DNS and certificate state.
func (h *Handlers) APIDomains(c echo.Context) error {
	states, _, err := h.domainStates(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]apiDomain, 0, len(states))
	for _, d := range states {
		a := apiDomain{Domain: d.Domain, Service: d.Service, URL: d.URL(), Addresses: d.Addresses, DNSOK: d.PointsHere, DNSError: d.DNSError,
			CertOK: d.CertTrusted, CertIssuer: d.CertIssuer, CertError: d.CertProblem}
		if !d.CertNotAfter.IsZero() {
			a.CertUntil = apiTime(d.CertNotAfter)
		}
		out = append(out, a)
	}
	return c.JSON(http.StatusOK, out)
}
