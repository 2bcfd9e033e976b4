package swarm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestNormalizeHostAcceptsDomainsAndExplainsMistakes(t *testing.T) {
	for _, tc := range []struct {
		in, want, msg string
	}{
		{"app.example.com", "app.example.com", ""},
		{"  app.example.com ", "app.example.com", ""},
		{"bücher.example", "xn--bcher-kva.example", ""},
		{"*.example.com", "*.example.com", ""},
		{"https://app.example.com", "", "without https://"},
		{"app.example.com/login", "", "path prefix in the path field"},
		{"app.example.com:8443", "", "without a port"},
		{"App.Example.com", "", "Use lower case: app.example.com"},
		{"app.example.com.", "", "Leave out the trailing dot"},
		{"localhost", "", "full domain name"},
		{"-app.example.com", "", "not a valid"},
		{"app..example.com", "", ""},
		{"a.*.example.com", "", "Only a leading *."},
		{"app`.example.com", "", "no spaces or quotes"},
		{"", "", "Enter a domain name"},
		{strings.Repeat("a", 64) + ".example.com", "", "at most 63"},
	} {
		got, err := NormalizeHost(tc.in)
		switch {
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.want == "" && err == nil:
			t.Errorf("%q: accepted as %q, want a refusal", tc.in, got)
		case tc.want == "" && !strings.Contains(err.Error(), tc.msg):
			t.Errorf("%q: message %q lacks %q", tc.in, err, tc.msg)
		}
	}
}

func TestDomainFieldsAreCheckedEachAtItsField(t *testing.T) {
	errs := map[string]string{}
	add := func(f, m string) {
		if _, ok := errs[f]; !ok {
			errs[f] = m
		}
	}
	got := validateDomains([]Domain{
		{Host: "ok.example.com", Port: 8080, Path: "/"},
		{Host: "ok.example.com", Port: 0},
		{Host: "b.example.com", Port: 70000, Path: "api"},
		{Host: "c.example.com", Port: 80, Path: "/a b"},
		{Host: "ok.example.com", Port: 8080},
	}, add)
	for field, want := range map[string]string{
		"domains[1].port": "from 1 to 65535",
		"domains[2].port": "from 1 to 65535",
		"domains[2].path": "starts with '/': /api",
		"domains[3].path": "plain path",
		"domains[4].host": "mapped twice",
	} {
		if !strings.Contains(errs[field], want) {
			t.Errorf("%s: %q, want it to say %q", field, errs[field], want)
		}
	}
	if _, ok := errs["domains[0].host"]; ok || got[0].Path != "" {
		t.Errorf("a valid row was refused or / kept as a prefix: %v %+v", errs, got[0])
	}
}

func TestDomainLabelsRouteEachMappingAndReadBack(t *testing.T) {
	ds := []Domain{{Host: "app.example.com", Port: 8080}, {Host: "app.example.com", Port: 9090, Path: "/api"}, {Host: "*.example.org", Port: 8080}}
	l := domainLabels("web", ds)
	for k, want := range map[string]string{
		"traefik.enable":                                                "true",
		"traefik.swarm.network":                                         DefaultNetwork,
		"traefik.http.routers.berth-web-0.rule":                         "Host(`app.example.com`)",
		"traefik.http.routers.berth-web-1.rule":                         "Host(`app.example.com`) && PathPrefix(`/api`)",
		"traefik.http.routers.berth-web-2.rule":                         "HostRegexp(`^[a-z0-9-]+\\.example\\.org$`)",
		"traefik.http.routers.berth-web-1.service":                      "berth-web-9090",
		"traefik.http.routers.berth-web-0.entrypoints":                  "websecure",
		"traefik.http.services.berth-web-9090.loadbalancer.server.port": "9090",
	} {
		if l[k] != want {
			t.Errorf("%s = %q, want %q", k, l[k], want)
		}
	}
	back := domainsFrom(l)
	if len(back) != 3 || back[1] != ds[1] {
		t.Errorf("read back %+v, want %+v", back, ds)
	}
	for k := range l {
		if !isDomainLabel("web", k) {
			t.Errorf("label %s is not recognised as derived, so it would show as a user label", k)
		}
	}
	if isDomainLabel("web", "traefik.http.routers.other.rule") {
		t.Error("another router's label was taken as Berth's")
	}
}

func TestConflictsNameTheOtherService(t *testing.T) {
	others := []Service{{Spec: ServiceSpec{Name: "shop", Domains: []Domain{{Host: "a.example.com", Port: 80}}}},
		{Spec: ServiceSpec{Name: "web", Domains: []Domain{{Host: "b.example.com", Port: 80}}}}}
	got := domainConflicts("web", []Domain{{Host: "b.example.com", Port: 80}, {Host: "a.example.com", Port: 81}, {Host: "a.example.com", Port: 81, Path: "/x"}}, others)
	if len(got) != 1 || !strings.Contains(got["domains[1].host"], "service shop") {
		t.Errorf("conflicts %v: want only row 1, naming shop (its own mapping and another path are fine)", got)
	}
}

func TestLoadBalancerSettingsRefuseBadInput(t *testing.T) {
	good, goodKey := testCert(t, []string{"*.example.com"}, time.Now().Add(48*time.Hour))
	_, otherKey := testCert(t, []string{"x.example.com"}, time.Now().Add(48*time.Hour))
	expired, expiredKey := testCert(t, []string{"x.example.com"}, time.Now().Add(-time.Hour))
	for _, tc := range []struct {
		what  string
		edit  func(*LoadBalancer)
		cert  *CertUpload
		field string
		msg   string
	}{
		{"an email that is not an address", func(l *LoadBalancer) { l.ACMEEmail = "ops at example" }, nil, "acme_email", "email address"},
		{"a key that does not match", func(l *LoadBalancer) { l.CertMode = "uploaded" }, &CertUpload{Cert: good, Key: otherKey}, "cert", "does not match"},
		{"an expired certificate", func(l *LoadBalancer) { l.CertMode = "uploaded" }, &CertUpload{Cert: expired, Key: expiredKey}, "cert", "expired"},
		{"not PEM", func(l *LoadBalancer) { l.CertMode = "uploaded" }, &CertUpload{Cert: []byte("hello"), Key: goodKey}, "cert", "not PEM"},
		{"no certificate", func(l *LoadBalancer) { l.CertMode = "uploaded" }, nil, "cert", "Upload a certificate"},
		{"an unknown policy", func(l *LoadBalancer) { l.TLSPolicy = "lax" }, nil, "tls_policy", "strict or compatible"},
		{"a relative socket", func(l *LoadBalancer) { l.EngineSocket = "docker.sock" }, nil, "engine_socket", "absolute path"},
	} {
		lb := DefaultLoadBalancer()
		lb.Node, lb.ACMEEmail = "manager1", "ops@example.com"
		tc.edit(&lb)
		errs := lb.Validate(tc.cert)
		if !strings.Contains(errs[tc.field], tc.msg) {
			t.Errorf("%s: %v, want %s to say %q", tc.what, errs, tc.field, tc.msg)
		}
	}
	lb := DefaultLoadBalancer()
	lb.Node, lb.CertMode = "manager1", "uploaded"
	if errs := lb.Validate(&CertUpload{Cert: good, Key: goodKey}); len(errs) > 0 {
		t.Fatalf("a good certificate was refused: %v", errs)
	}
	if !lb.Covers("app.example.com") || lb.Covers("a.b.example.com") || lb.Covers("example.org") || !lb.Covers("*.example.com") {
		t.Errorf("wildcard coverage wrong for %v", lb.CertNames)
	}
}

func TestTLSPolicyWritesTraefikOptions(t *testing.T) {
	lb := DefaultLoadBalancer()
	strict := lb.dynamicConfig()
	lb.TLSPolicy = TLSCompatible
	compat := lb.dynamicConfig()
	if !strings.Contains(strict, "minVersion: VersionTLS12") || !strings.Contains(strict, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256") || strings.Contains(strict, "CBC") {
		t.Errorf("strict policy:\n%s", strict)
	}
	if !strings.Contains(compat, "minVersion: VersionTLS10") || strings.Contains(compat, "cipherSuites") {
		t.Errorf("compatible policy:\n%s", compat)
	}
}

// testCert makes a self-signed certificate and key (PEM) for names.
func testCert(t *testing.T, names []string, notAfter time.Time) ([]byte, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
