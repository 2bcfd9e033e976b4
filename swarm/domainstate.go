package swarm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

// DomainState is a mapping with what DNS and the load balancer say about it.
type DomainState struct {
	Domain
	Service string
	// DNS: the addresses the host resolves to, and whether one is the manager's public address.
	Addresses  []string
	DNSError   string
	PointsHere bool
	// Certificate the load balancer presents for the host.
	CertIssuer   string
	CertNotAfter time.Time
	CertTrusted  bool   // valid for the host and issued by a known authority
	CertProblem  string // why it is not, in plain words
}

// NeedsAttention reports whether the mapping's DNS or certificate needs a look.
func (d DomainState) NeedsAttention() bool { return d.CertProblem != "" || !d.PointsHere }

// Resolver looks host names up (net.DefaultResolver in production).
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// DomainStates checks every service's mappings: DNS against publicAddr, and the
// certificate the load balancer at lbAddr (host:port) presents for each host.
func DomainStates(ctx context.Context, services []Service, r Resolver, publicAddr, lbAddr string, roots *x509.CertPool) []DomainState {
	var out []DomainState
	for _, s := range services {
		for _, d := range s.Spec.Domains {
			out = append(out, DomainState{Domain: d, Service: s.Spec.Name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func(d *DomainState) {
			defer wg.Done()
			d.checkDNS(ctx, r, publicAddr)
			d.checkCertificate(ctx, lbAddr, roots)
		}(&out[i])
	}
	wg.Wait()
	return out
}

// probeHost is the name looked up and asked for: a wildcard is checked through one name under it.
func (d DomainState) probeHost() string {
	if d.Wildcard() {
		return "berth-check" + strings.TrimPrefix(d.Host, "*")
	}
	return d.Host
}

func (d *DomainState) checkDNS(ctx context.Context, r Resolver, publicAddr string) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := r.LookupHost(ctx, d.probeHost())
	if err != nil {
		d.DNSError = "does not resolve"
		return
	}
	d.Addresses = addrs
	for _, a := range addrs {
		d.PointsHere = d.PointsHere || (publicAddr != "" && a == publicAddr)
	}
	if !d.PointsHere {
		if publicAddr == "" {
			d.DNSError = "the manager's public address is not set (Settings)"
		} else {
			d.DNSError = "points to " + strings.Join(addrs, ", ") + ", not " + publicAddr
		}
	}
}

func (d *DomainState) checkCertificate(ctx context.Context, lbAddr string, roots *x509.CertPool) {
	if lbAddr == "" {
		d.CertProblem = "no load balancer is deployed"
		return
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 3 * time.Second},
		Config: &tls.Config{ServerName: d.probeHost(), InsecureSkipVerify: true}} // verified below, to say what is wrong
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	conn, err := dialer.DialContext(ctx, "tcp", lbAddr)
	if err != nil {
		d.CertProblem = "the load balancer did not answer on HTTPS: " + err.Error()
		return
	}
	defer conn.Close()
	chain := conn.(*tls.Conn).ConnectionState().PeerCertificates
	leaf := chain[0]
	d.CertIssuer, d.CertNotAfter = leaf.Issuer.CommonName, leaf.NotAfter
	if d.CertIssuer == "" && len(leaf.Issuer.Organization) > 0 {
		d.CertIssuer = leaf.Issuer.Organization[0]
	}
	if strings.Contains(leaf.Subject.CommonName, "TRAEFIK DEFAULT CERT") {
		d.CertProblem = "no certificate yet: the load balancer serves its placeholder (see its logs for the certificate authority's answer)"
		return
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: d.probeHost(), Roots: roots, Intermediates: inter}); err != nil {
		d.CertProblem = fmt.Sprintf("not trusted: %v", err)
		return
	}
	d.CertTrusted = true
}
