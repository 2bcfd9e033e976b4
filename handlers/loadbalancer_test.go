package handlers

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/alerts"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/chromedp/chromedp"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// testCA is a certificate authority the load balancer tests trust, with a certificate for *.zone it issued.
type testCA struct {
	pool      *x509.CertPool
	cert, key []byte // the leaf (RSA, so RSA suites can be offered) in PEM
}

func newTestCA(t *testing.T, names ...string) testCA {
	t.Helper()
	caKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Berth Test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 24 * time.Hour)} // ten days left: the expiry alert's case
	der, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	return testCA{pool: pool, cert: chain, key: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})}
}

// visitor makes HTTPS and HTTP requests to the load balancer's node, whatever the URL's host.
func visitor(addr string, tlsConf *tls.Config) *http.Client {
	dial := func(ctx context.Context, network, a string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(a)
		return (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, network, net.JoinHostPort(addr, port))
	}
	return &http.Client{
		Timeout:       5 * time.Second,
		Transport:     &http.Transport{DialContext: dial, TLSClientConfig: tlsConf, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// eventually retries check until it returns "" or the time is up, then fails with its last word.
func eventually(t *testing.T, d time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// get answers the status and body of a request, or the error as the body.
func get(c *http.Client, u string) (int, string, http.Header) {
	res, err := c.Get(u)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

// handshake reports whether a TLS client with these limits completes a handshake with the load balancer.
func handshake(addr, host string, min, max uint16, suites []uint16) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", net.JoinHostPort(addr, "443"),
		&tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: min, MaxVersion: max, CipherSuites: suites})
	if err != nil {
		return err
	}
	return conn.Close()
}

func TestLoadBalancerRoutesDomainsOverHTTPSOnly(t *testing.T) {
	s := newSwarmServer(t)
	ctx := context.Background()
	if err := s.Engine.Initialize(ctx, s.cluster.Manager().Addr); err != nil {
		t.Fatal(err)
	}
	manager := s.cluster.Manager()
	if err := enginetest.BuildTraefik(ctx, manager); err != nil {
		t.Fatal(err)
	}
	admin := s.addUser("lbadmin", store.RoleAdmin)
	adminToken, _, _ := s.Store.CreateAPIToken(ctx, admin.ID, "lb")
	zone := uniq("z") + ".test"
	ca := newTestCA(t, "*."+zone)
	s.handler.cfg.CertRoots = ca.pool
	// The test's DNS: this machine resolves no test domain, so these answers stand in for it.
	s.handler.cfg.Resolver = fixedResolver{"b." + zone: {"203.0.113.10"}, "w." + zone: {"198.51.100.7"}}

	socket := strings.TrimPrefix(manager.Host(), "unix://")
	addr := manager.Addr
	client := visitor(addr, &tls.Config{RootCAs: ca.pool})
	cbc := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}

	step(t, "bad settings and missing images deploy nothing", func(t *testing.T) {
		// Bad settings are refused at their field and deploy nothing.
		for _, tc := range []struct {
			what  string
			body  map[string]any
			field string
		}{
			{"an ACME email that is not an address", map[string]any{"cert_mode": "acme", "acme_email": "not-an-email"}, "acme_email"},
			{"a key that does not match", map[string]any{"cert_mode": "uploaded", "cert": string(ca.cert), "key": string(newTestCA(t, "x."+zone).key)}, "cert"},
			{"a missing key", map[string]any{"cert_mode": "uploaded", "cert": string(ca.cert)}, "key"},
		} {
			r := s.api(t, adminToken, http.MethodPost, "/api/v1/loadbalancer", tc.body)
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"`+tc.field+`"`) {
				t.Errorf("%s: %d %s", tc.what, r.Status, r.Body)
			}
		}
		if _, _, err := s.docker.ServiceInspectWithRaw(ctx, swarm.LoadBalancerName, dswarm.ServiceInspectOptions{}); err == nil {
			t.Fatal("a refused request deployed the load balancer")
		}
		if r := s.api(t, s.token, http.MethodPost, "/api/v1/loadbalancer", map[string]any{}); r.Status != http.StatusForbidden {
			t.Errorf("an operator deployed the load balancer: %d", r.Status)
		}

		// The form offers the socket Berth itself uses, and an image the node has not and cannot pull is refused before any task fails.
		lbPage := s.client()
		lbPage.login("lbadmin", testPassword, "")
		if p := lbPage.get("/loadbalancer"); !strings.Contains(p.Body, `value="`+socket+`"`) {
			t.Errorf("the form does not offer Berth's own engine socket %s", socket)
		}
		missing := map[string]any{"image": "berth-test/no-such-traefik:1", "node": manager.Hostname, "cert_mode": "acme", "acme_email": "ops@example.com",
			"tls_policy": "strict", "port_mode": "host", "engine_socket": socket}
		if r := s.api(t, adminToken, http.MethodPost, "/api/v1/loadbalancer", missing); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "is not on "+manager.Hostname+" and could not be pulled") {
			t.Errorf("a missing image: %d %s", r.Status, r.Body)
		}
		if _, _, err := s.docker.ServiceInspectWithRaw(ctx, swarm.LoadBalancerName, dswarm.ServiceInspectOptions{}); err == nil {
			t.Fatal("a missing image deployed the load balancer")
		}
	})

	deploy := map[string]any{"image": enginetest.TraefikImage, "node": manager.Hostname, "cert_mode": "uploaded", "cert": string(ca.cert), "key": string(ca.key),
		"tls_policy": "strict", "hsts": true, "port_mode": "host", "engine_socket": socket}
	if r := s.api(t, adminToken, http.MethodPost, "/api/v1/loadbalancer", deploy); r.Status != http.StatusOK {
		t.Fatalf("deploy the load balancer: %d %s", r.Status, r.Body)
	}
	t.Cleanup(func() { s.api(t, adminToken, http.MethodDelete, "/api/v1/loadbalancer", nil) })
	if err := s.Alerts.CheckOnce(ctx); err != nil { // the uploaded certificate has ten days left
		t.Fatal(err)
	}
	if open := must(s.Store.Alerts(ctx, store.AlertFilter{State: "open", Kind: alerts.KindCertificate})).value(t); len(open) != 1 || !strings.Contains(open[0].Title, "expires in 10 days") {
		t.Errorf("the certificate alert for an upload with ten days left: %+v", open)
	}
	t.Cleanup(func() { // registered last, runs first: what Traefik said, when the test failed
		if !t.Failed() {
			return
		}
		if svc, err := s.Engine.Service(ctx, swarm.LoadBalancerName); err == nil {
			for _, task := range svc.Tasks {
				t.Logf("load balancer task on %s: %s %s %s", task.Node, task.State, task.Message, task.Error)
			}
		}
		s.Engine.ServiceLogs(ctx, swarm.LoadBalancerName, "60", false, func(l swarm.LogLine) error { t.Log("traefik:", l.Text); return nil })
	})

	// Two web services, each answering with its own name. They run on the manager with
	// Traefik: in this harness the encrypted overlay carries no traffic between the
	// engines' network namespaces (see the note), which production engines do.
	web := func(name string) {
		spec := swarm.ServiceSpec{Name: name, Image: enginetest.BusyboxImage, EndpointMode: "dnsrr", Constraints: []string{"node.role==manager"},
			Command: []string{"sh", "-c", "mkdir -p /www && echo hello from " + name + " > /www/index.html && exec httpd -f -p 8080 -h /www"}}
		if r := s.api(t, s.token, http.MethodPost, "/api/v1/services", spec); r.Status != http.StatusCreated {
			t.Fatalf("deploy %s: %d %s", name, r.Status, r.Body)
		}
		t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), name) })
	}
	a, b := uniq("web-a"), uniq("web-b")
	web(a)
	web(b)
	hostA, hostB := "a."+zone, "b."+zone

	step(t, "domains through the editor and the API", func(t *testing.T) {
		// web-a gets its domain through the editor page, web-b through the API.
		s.op.get("/services/" + a + "/domains")
		if r := s.op.post("/services/"+a+"/domains", url.Values{"domain_host": {hostA}, "domain_port": {"8080"}, "domain_path": {""}}); r.Status != http.StatusSeeOther {
			t.Fatalf("editor save: %d %s", r.Status, r.Body)
		}
		if r := s.op.get("/services/" + a); !strings.Contains(r.Body, "Saved 1 domain mappings") || !strings.Contains(r.Body, `href="https://`+hostA+`"`) {
			t.Errorf("service page after saving domains: %s", r.Body)
		}
		if recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Action: "service.domains"}); len(recs) != 1 || recs[0].Detail != "domains: "+hostA+" -> port 8080" {
			t.Errorf("the domain change's audit record: %+v", recs)
		}
		if r := s.api(t, s.token, http.MethodPatch, "/api/v1/services/"+b, map[string]any{"domains": []map[string]any{{"host": hostB, "port": 8080}}}); r.Status != http.StatusOK {
			t.Fatalf("API domains: %d %s", r.Status, r.Body)
		}
	})

	step(t, "HTTPS only", func(t *testing.T) {
		// Only HTTPS is served, with HSTS; plain HTTP is redirected.
		eventually(t, 90*time.Second, "HTTPS to "+hostA, func() string {
			code, body, hdr := get(client, "https://"+hostA+"/")
			if code != http.StatusOK || !strings.Contains(body, "hello from "+a) {
				return fmt.Sprintf("%d %q", code, body)
			}
			if !strings.Contains(hdr.Get("Strict-Transport-Security"), "max-age=31536000") {
				return "no HSTS header: " + fmt.Sprint(hdr)
			}
			return ""
		})
		eventually(t, 30*time.Second, "HTTPS to "+hostB, func() string {
			if code, body, _ := get(client, "https://"+hostB+"/"); code != http.StatusOK || !strings.Contains(body, "hello from "+b) {
				return fmt.Sprintf("%d %q", code, body)
			}
			return ""
		})
		code, _, hdr := get(client, "http://"+hostA+"/page?x=1")
		if (code != http.StatusMovedPermanently && code != http.StatusPermanentRedirect) || hdr.Get("Location") != "https://"+hostA+"/page?x=1" {
			t.Errorf("plain HTTP: %d Location %q, want a permanent redirect to HTTPS", code, hdr.Get("Location"))
		}
	})

	step(t, "the strict TLS policy", func(t *testing.T) {
		// The strict policy refuses TLS 1.0/1.1 and CBC suites; compatible accepts them.
		if err := handshake(addr, hostA, tls.VersionTLS10, tls.VersionTLS11, cbc); err == nil {
			t.Error("strict: a TLS 1.1 client was accepted")
		}
		if err := handshake(addr, hostA, tls.VersionTLS12, tls.VersionTLS12, cbc); err == nil {
			t.Error("strict: a CBC cipher suite was accepted")
		}
		if err := handshake(addr, hostA, tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}); err != nil {
			t.Errorf("strict: an ECDHE AES-GCM client was refused: %v", err)
		}
	})

	step(t, "refused mappings change nothing", func(t *testing.T) {
		// A conflicting mapping and an invalid host change nothing on the engine.
		before := s.inspectService(t, b)
		if r := s.api(t, s.token, http.MethodPatch, "/api/v1/services/"+b, map[string]any{"domains": []map[string]any{{"host": hostA, "port": 8080}}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "already mapped to the service "+a) {
			t.Errorf("conflict: %d %s", r.Status, r.Body)
		}
		s.op.get("/services/" + b + "/domains")
		r := s.op.post("/services/"+b+"/domains", url.Values{"domain_host": {"HTTPS://B." + strings.ToUpper(zone)}, "domain_port": {"8080"}, "domain_path": {"api"}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "without HTTPS://") || !strings.Contains(r.Body, "starts with &#39;/&#39;") {
			t.Errorf("invalid host in the editor: %d %s", r.Status, r.Body)
		}
		if r := s.api(t, s.token, http.MethodPatch, "/api/v1/services/"+b, map[string]any{"domains": []map[string]any{{"host": "x.elsewhere.test", "port": 8080}}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "does not cover") {
			t.Errorf("a host the certificate does not cover: %d %s", r.Status, r.Body)
		}
		after := s.inspectService(t, b)
		if after.Version.Index != before.Version.Index {
			t.Errorf("refused mappings changed the service: version %d -> %d", before.Version.Index, after.Version.Index)
		}
	})

	step(t, "the DNS check", func(t *testing.T) {
		// The DNS check: a host pointing elsewhere is a warning, and refused once the admin makes the check blocking.
		if err := s.Store.SetSetting(ctx, store.SettingPublicAddress, "203.0.113.10"); err != nil {
			t.Fatal(err)
		}
		s.op.get("/services/" + b + "/domains")
		if r := s.op.post("/services/"+b+"/domains", url.Values{"domain_host": {hostB, "w." + zone}, "domain_port": {"8080", "8080"}, "domain_path": {"", ""}}); r.Status != http.StatusSeeOther {
			t.Fatalf("a mapping with a DNS warning: %d %s", r.Status, r.Body)
		}
		if r := s.op.get("/services/" + b); !strings.Contains(r.Body, "w."+zone+" resolves to 198.51.100.7, not to this manager&#39;s public address 203.0.113.10") {
			t.Errorf("no DNS warning after saving: %s", r.Body)
		}
		if err := s.Store.SetSetting(ctx, store.SettingDNSBlocking, "true"); err != nil {
			t.Fatal(err)
		}
		before := s.inspectService(t, b)
		if r := s.api(t, s.token, http.MethodPatch, "/api/v1/services/"+b, map[string]any{"domains": []map[string]any{{"host": hostB, "port": 8080}, {"host": "v." + zone, "port": 8080}}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "v."+zone+" does not resolve yet") || strings.Contains(r.Body, "b."+zone+" ") {
			t.Errorf("a blocking DNS check: %d %s", r.Status, r.Body)
		}
		if after := s.inspectService(t, b); after.Version.Index != before.Version.Index {
			t.Error("a mapping the DNS check refused changed the service")
		}
		if err := s.Store.SetSetting(ctx, store.SettingDNSBlocking, "false"); err != nil {
			t.Fatal(err)
		}
		s.Store.SetSetting(ctx, store.SettingPublicAddress, "")
		if r := s.api(t, s.token, http.MethodPatch, "/api/v1/services/"+b, map[string]any{"domains": []map[string]any{{"host": hostB, "port": 8080}}}); r.Status != http.StatusOK {
			t.Fatalf("back to one domain: %d %s", r.Status, r.Body)
		}
	})

	step(t, "active domains", func(t *testing.T) {
		// The active domains page and API show both, with the certificate's issuer.
		if r := s.op.get("/domains"); !strings.Contains(r.Body, hostA) || !strings.Contains(r.Body, hostB) || !strings.Contains(r.Body, "issued by Berth Test CA") {
			t.Errorf("domains page: %s", r.Body)
		}
		var listed []struct {
			Host    string `json:"host"`
			Service string `json:"service"`
			CertOK  bool   `json:"certificate_ok"`
		}
		s.api(t, s.token, http.MethodGet, "/api/v1/domains", nil).decode(t, &listed)
		found := 0
		for _, d := range listed {
			if (d.Host == hostA && d.Service == a || d.Host == hostB && d.Service == b) && d.CertOK {
				found++
			}
		}
		if found != 2 {
			t.Errorf("GET /api/v1/domains: %+v", listed)
		}
	})

	step(t, "removing a mapping", func(t *testing.T) {
		// Removing a mapping stops routing it; the other keeps working.
		if r := s.api(t, s.token, http.MethodPatch, "/api/v1/services/"+b, map[string]any{"domains": []any{}}); r.Status != http.StatusOK {
			t.Fatalf("remove mapping: %d %s", r.Status, r.Body)
		}
		eventually(t, 30*time.Second, "routing after removing "+hostB, func() string {
			if code, body, _ := get(client, "https://"+hostB+"/"); code != http.StatusNotFound {
				return fmt.Sprintf("still answers %d %q", code, body)
			}
			return ""
		})
		if code, body, _ := get(client, "https://"+hostA+"/"); code != http.StatusOK {
			t.Errorf("%s stopped too: %d %q", hostA, code, body)
		}
	})

	step(t, "in a browser", func(t *testing.T) {
		// In a browser: the admin sees the load balancer's task and the active domains, and maps a domain with the editor.
		b2 := newBrowser(t)
		hostB2 := "b2." + zone
		b2.signIn(t, s.URL, "lbadmin")
		b2.do(t, "open the load balancer page",
			chromedp.Navigate(s.URL+"/loadbalancer"),
			chromedp.WaitVisible(chromedp.CSS("#lb-state")),
		)
		b2.poll(t, "the load balancer's running task", `document.querySelector("#lb-state").innerText.includes("running")`, 10*time.Second)
		b2.do(t, "open the active domains", chromedp.Navigate(s.URL+"/domains"), chromedp.WaitVisible(chromedp.CSS("#domains")))
		b2.poll(t, hostA+" with its certificate", `document.querySelector("#domains").innerText.includes("`+hostA+`") && document.querySelector("#domains").innerText.includes("Berth Test CA")`, 10*time.Second)
		b2.do(t, "map a domain with the editor",
			chromedp.Navigate(s.URL+"/services/"+b+"/domains"),
			chromedp.WaitVisible(chromedp.CSS("#domains-form")),
			chromedp.SendKeys(chromedp.CSS(`input[id="domains[0].host"]`), hostB2),
			chromedp.SendKeys(chromedp.CSS(`input[id="domains[0].port"]`), "8080"),
			chromedp.Click(chromedp.CSS("#save-domains")),
			chromedp.WaitVisible(chromedp.CSS("#service-notice")),
		)
		b2.screenshot(t, "service-domains")
		b2.requireCleanConsole(t)
		eventually(t, 30*time.Second, "HTTPS to "+hostB2+" mapped in the browser", func() string {
			if code, body, _ := get(client, "https://"+hostB2+"/"); code != http.StatusOK || !strings.Contains(body, "hello from "+b) {
				return fmt.Sprintf("%d %q", code, body)
			}
			return ""
		})
	})

	step(t, "the compatible TLS policy", func(t *testing.T) {
		// Switching to the compatible policy makes the load balancer accept TLS 1.1 and CBC.
		deploy["tls_policy"] = "compatible"
		delete(deploy, "cert")
		delete(deploy, "key")
		if r := s.api(t, adminToken, http.MethodPost, "/api/v1/loadbalancer", deploy); r.Status != http.StatusOK {
			t.Fatalf("switch policy: %d %s", r.Status, r.Body)
		}
		eventually(t, 90*time.Second, "TLS 1.1 under the compatible policy", func() string {
			if err := handshake(addr, hostA, tls.VersionTLS10, tls.VersionTLS11, cbc); err != nil {
				return err.Error()
			}
			return ""
		})
		recs, _ := s.Store.AuditRecords(ctx, store.AuditFilter{Action: "loadbalancer.update"})
		if len(recs) != 1 || !strings.Contains(recs[0].Detail, "TLS compatible") {
			t.Errorf("audit of the policy change: %+v", recs)
		}
	})
}

// fixedResolver answers the test's host names; any other does not resolve.
type fixedResolver map[string][]string

func (f fixedResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if addrs, ok := f[host]; ok {
		return addrs, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}
