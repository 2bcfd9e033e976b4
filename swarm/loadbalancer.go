package swarm

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// LoadBalancerName is the service name of Berth's Traefik load balancer.
const LoadBalancerName = "loadbalancer"

// DefaultLoadBalancerImage is the Traefik image deployed unless an admin picks another.
const DefaultLoadBalancerImage = "traefik:v3.6"

// lbLabel holds the load balancer's settings (as JSON) on its service spec.
const lbLabel = "berth.loadbalancer"

// In-container paths of what Berth mounts into Traefik.
const (
	lbDynamicPath = "/etc/traefik/berth.yml"
	lbCertPath    = "/run/secrets/berth-lb-cert"
	lbKeyPath     = "/run/secrets/berth-lb-key"
	lbSocketPath  = "/var/run/docker.sock"
	lbACMEVolume  = "acme"
)

// TLS policies an admin chooses between.
const (
	TLSStrict     = "strict"     // TLS 1.2 and later, ECDHE with AES-GCM or ChaCha20 only
	TLSCompatible = "compatible" // TLS 1.0 and later, Go's default suites
)

// LoadBalancer is the load balancer's settings, in Berth's terms.
type LoadBalancer struct {
	Image        string    `json:"image"`
	Node         string    `json:"node"`           // hostname of the manager node it runs on
	CertMode     string    `json:"cert_mode"`      // "acme" or "uploaded"
	ACMEEmail    string    `json:"acme_email"`     // acme mode
	ACMEStaging  bool      `json:"acme_staging"`   // use the CA's staging endpoint
	CertSecret   string    `json:"cert_secret"`    // uploaded mode: the secrets holding certificate and key
	KeySecret    string    `json:"key_secret"`     //
	CertNames    []string  `json:"cert_names"`     // uploaded mode: the names the certificate covers
	CertNotAfter time.Time `json:"cert_not_after"` //
	TLSPolicy    string    `json:"tls_policy"`
	HSTS         bool      `json:"hsts"`
	PortMode     string    `json:"port_mode"`     // "host" (keeps client addresses) or "ingress"
	EngineSocket string    `json:"engine_socket"` // the engine's socket on the node, mounted for Traefik's swarm provider
}

// CertUpload is a certificate and key pasted or uploaded by an admin (PEM).
type CertUpload struct {
	Cert, Key []byte
}

// DefaultLoadBalancer is what the deploy form starts from.
func DefaultLoadBalancer() LoadBalancer {
	return LoadBalancer{Image: DefaultLoadBalancerImage, CertMode: "acme", TLSPolicy: TLSStrict, HSTS: true, PortMode: "host", EngineSocket: lbSocketPath}
}

// Validate fills field errors for settings that cannot be deployed.
func (lb *LoadBalancer) Validate(cert *CertUpload) map[string]string {
	errs := map[string]string{}
	lb.Image = strings.TrimSpace(lb.Image)
	if lb.Image == "" || strings.ContainsAny(lb.Image, " \t") {
		errs["image"] = "Enter a Traefik v3 image, such as " + DefaultLoadBalancerImage + "."
	}
	if lb.Node == "" {
		errs["node"] = "Choose the manager node the load balancer runs on."
	}
	switch lb.CertMode {
	case "acme":
		if a, err := mail.ParseAddress(lb.ACMEEmail); err != nil || a.Address != strings.TrimSpace(lb.ACMEEmail) || !strings.Contains(a.Address, ".") {
			errs["acme_email"] = "Enter an email address, such as ops@example.com: the certificate authority sends expiry notices there."
		}
	case "uploaded":
		if cert == nil && lb.CertSecret == "" {
			errs["cert"] = "Upload a certificate and its key (PEM)."
		}
	default:
		errs["cert_mode"] = "Choose Let's Encrypt or an uploaded certificate."
	}
	if cert != nil && lb.CertMode == "uploaded" {
		names, notAfter, err := checkCertificate(cert)
		if err != nil {
			errs["cert"] = err.Error()
		} else {
			lb.CertNames, lb.CertNotAfter = names, notAfter
		}
	}
	if lb.TLSPolicy != TLSStrict && lb.TLSPolicy != TLSCompatible {
		errs["tls_policy"] = "Choose strict or compatible."
	}
	if lb.PortMode != "host" && lb.PortMode != "ingress" {
		errs["port_mode"] = "Choose host or ingress."
	}
	if !strings.HasPrefix(lb.EngineSocket, "/") || !strings.HasSuffix(lb.EngineSocket, ".sock") || strings.Contains(lb.EngineSocket, "..") {
		errs["engine_socket"] = "Enter the absolute path of the Docker socket on the node, such as " + lbSocketPath + "."
	}
	return errs
}

// checkCertificate parses a PEM certificate and key, and checks that they match and that the certificate is current.
func checkCertificate(c *CertUpload) ([]string, time.Time, error) {
	pair, err := tls.X509KeyPair(c.Cert, c.Key)
	if err != nil {
		if block, _ := pem.Decode(c.Cert); block == nil {
			return nil, time.Time{}, errors.New("The certificate is not PEM (it should start with -----BEGIN CERTIFICATE-----).")
		}
		if strings.Contains(err.Error(), "does not match") {
			return nil, time.Time{}, errors.New("The key does not match the certificate.")
		}
		return nil, time.Time{}, fmt.Errorf("The certificate or key cannot be read: %v.", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("The certificate cannot be read: %v.", err)
	}
	if time.Now().After(leaf.NotAfter) {
		return nil, time.Time{}, fmt.Errorf("The certificate expired on %s.", leaf.NotAfter.Format("2006-01-02"))
	}
	if len(leaf.DNSNames) == 0 {
		return nil, time.Time{}, errors.New("The certificate names no domain (no subject alternative names).")
	}
	return leaf.DNSNames, leaf.NotAfter, nil
}

// Covers reports whether the uploaded certificate is valid for a host (exact or one-level wildcard).
func (lb LoadBalancer) Covers(host string) bool {
	for _, n := range lb.CertNames {
		if n == host {
			return true
		}
		if strings.HasPrefix(n, "*.") && !strings.HasPrefix(host, "*.") {
			if i := strings.IndexByte(host, '.'); i > 0 && host[i+1:] == n[2:] {
				return true
			}
		}
	}
	return false
}

// dynamicConfig is Traefik's file-provider configuration: TLS options, the uploaded certificate, HSTS.
func (lb LoadBalancer) dynamicConfig() string {
	var b strings.Builder
	b.WriteString("# Written by Berth: the load balancer's TLS policy and headers.\ntls:\n  options:\n    default:\n")
	if lb.TLSPolicy == TLSStrict {
		b.WriteString("      minVersion: VersionTLS12\n      cipherSuites:\n")
		for _, s := range []string{
			"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
			"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
			"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
		} {
			b.WriteString("        - " + s + "\n")
		}
	} else {
		b.WriteString("      minVersion: VersionTLS10\n")
	}
	if lb.CertMode == "uploaded" {
		fmt.Fprintf(&b, "  stores:\n    default:\n      defaultCertificate:\n        certFile: %s\n        keyFile: %s\n", lbCertPath, lbKeyPath)
		fmt.Fprintf(&b, "  certificates:\n    - certFile: %s\n      keyFile: %s\n", lbCertPath, lbKeyPath)
	}
	b.WriteString("http:\n  middlewares:\n    berth-hsts:\n      headers:\n        stsSeconds: 31536000\n        stsIncludeSubdomains: true\n")
	return b.String()
}

// args are Traefik's static configuration flags.
func (lb LoadBalancer) args() []string {
	a := []string{
		"--entrypoints.web.address=:80",
		"--entrypoints.web.http.redirections.entrypoint.to=" + entrypointHTTPS,
		"--entrypoints.web.http.redirections.entrypoint.scheme=https",
		"--entrypoints.web.http.redirections.entrypoint.permanent=true",
		"--entrypoints." + entrypointHTTPS + ".address=:443",
		"--entrypoints." + entrypointHTTPS + ".http.tls=true",
		"--providers.swarm.endpoint=unix://" + lbSocketPath,
		"--providers.swarm.exposedbydefault=false",
		"--providers.swarm.network=" + DefaultNetwork,
		"--providers.swarm.refreshseconds=2",
		"--providers.file.filename=" + lbDynamicPath,
		"--ping=true",
		"--log.level=INFO",
		"--log.nocolor=true",
		"--global.checknewversion=false", // no calls home from a regulated environment
		"--global.sendanonymoususage=false",
	}
	if lb.HSTS {
		a = append(a, "--entrypoints."+entrypointHTTPS+".http.middlewares=berth-hsts@file")
	}
	if lb.CertMode == "acme" {
		a = append(a,
			"--entrypoints."+entrypointHTTPS+".http.tls.certresolver=berth",
			"--certificatesresolvers.berth.acme.email="+lb.ACMEEmail,
			"--certificatesresolvers.berth.acme.storage=/acme/acme.json",
			"--certificatesresolvers.berth.acme.tlschallenge=true")
		if lb.ACMEStaging {
			a = append(a, "--certificatesresolvers.berth.acme.caserver=https://acme-staging-v02.api.letsencrypt.org/directory")
		}
	}
	return a
}

// contentName names an object after its content, so a change makes a new one (configs and secrets are immutable).
func contentName(prefix string, data []byte) string {
	sum := sha256.Sum256(data)
	return prefix + hex.EncodeToString(sum[:6])
}

// LoadBalancer returns the deployed load balancer's settings and service (ok false when none is deployed).
func (e *Engine) LoadBalancer(ctx context.Context) (LoadBalancer, Service, bool, error) {
	svc, err := e.Service(ctx, LoadBalancerName)
	if errors.Is(err, ErrNotFound) {
		return DefaultLoadBalancer(), Service{}, false, nil
	}
	if err != nil {
		return LoadBalancer{}, Service{}, false, err
	}
	lb := DefaultLoadBalancer()
	if raw := svc.Spec.Labels[lbLabel]; raw != "" {
		json.Unmarshal([]byte(raw), &lb)
	}
	return lb, svc, true, nil
}

// DeployLoadBalancer creates or updates the load balancer service; lb must have passed Validate.
func (e *Engine) DeployLoadBalancer(ctx context.Context, lb LoadBalancer, cert *CertUpload) error {
	if err := e.checkImageOnNode(ctx, lb); err != nil {
		return err
	}
	if lb.CertMode == "uploaded" && cert != nil {
		lb.CertSecret = contentName("berth-lb-cert-", cert.Cert)
		lb.KeySecret = contentName("berth-lb-key-", cert.Key)
		if err := e.ensureObject(ctx, KindSecret, lb.CertSecret, cert.Cert); err != nil {
			return err
		}
		if err := e.ensureObject(ctx, KindSecret, lb.KeySecret, cert.Key); err != nil {
			return err
		}
	}
	if lb.CertMode == "acme" {
		lb.CertSecret, lb.KeySecret, lb.CertNames, lb.CertNotAfter = "", "", nil, time.Time{}
	}
	dynamic := []byte(lb.dynamicConfig())
	dynamicName := contentName("berth-lb-dynamic-", dynamic)
	if err := e.ensureObject(ctx, KindConfig, dynamicName, dynamic); err != nil {
		return err
	}
	spec, err := e.lbSpec(ctx, lb, dynamicName)
	if err != nil {
		return err
	}
	cur, _, err := e.cli.ServiceInspectWithRaw(ctx, LoadBalancerName, dswarm.ServiceInspectOptions{})
	id := cur.ID
	switch {
	case cerrdefs.IsNotFound(err):
		var created dswarm.ServiceCreateResponse
		created, err = e.cli.ServiceCreate(ctx, spec, dswarm.ServiceCreateOptions{})
		id = created.ID
	case err == nil:
		if cur.Spec.Labels[lbLabel] == "" {
			return &SpecError{Fields: map[string]string{"image": "A service named " + LoadBalancerName + " exists that Berth did not deploy: remove or rename it first."}}
		}
		_, err = e.cli.ServiceUpdate(ctx, cur.ID, cur.Version, spec, dswarm.ServiceUpdateOptions{})
	}
	if err != nil {
		return e.wrap(err)
	}
	e.modelSaw(ctx, id)
	e.pruneLoadBalancerObjects(ctx, dynamicName, lb.CertSecret, lb.KeySecret)
	return nil
}

// ensureObject creates a config or secret unless one of that name exists (names follow content).
func (e *Engine) ensureObject(ctx context.Context, kind Kind, name string, data []byte) error {
	_, err := e.CreateObject(ctx, kind, name, data, map[string]string{"berth.loadbalancer.object": "true"})
	if errors.Is(err, ErrExists) {
		return nil
	}
	return err
}

// pruneLoadBalancerObjects removes earlier versions of the load balancer's configs and secrets (those in use stay).
func (e *Engine) pruneLoadBalancerObjects(ctx context.Context, keep ...string) {
	f := filters.NewArgs(filters.Arg("label", "berth.loadbalancer.object=true"))
	if cs, err := e.cli.ConfigList(ctx, dswarm.ConfigListOptions{Filters: f}); err == nil {
		for _, c := range cs {
			if !slices.Contains(keep, c.Spec.Name) {
				e.cli.ConfigRemove(ctx, c.ID)
			}
		}
	}
	if ss, err := e.cli.SecretList(ctx, dswarm.SecretListOptions{Filters: f}); err == nil {
		for _, s := range ss {
			if !slices.Contains(keep, s.Spec.Name) {
				e.cli.SecretRemove(ctx, s.ID)
			}
		}
	}
}

// lbSpec builds the load balancer's service spec.
func (e *Engine) lbSpec(ctx context.Context, lb LoadBalancer, dynamicName string) (dswarm.ServiceSpec, error) {
	nodes, err := e.cli.NodeList(ctx, dswarm.NodeListOptions{})
	if err != nil {
		return dswarm.ServiceSpec{}, e.wrap(err)
	}
	var nodeID string
	for _, n := range nodes {
		if n.Description.Hostname == lb.Node && n.Spec.Role == dswarm.NodeRoleManager {
			nodeID = n.ID
		}
	}
	if nodeID == "" {
		return dswarm.ServiceSpec{}, &SpecError{Fields: map[string]string{"node": "There is no manager node named " + lb.Node + "."}}
	}
	configs, err := e.cli.ConfigList(ctx, dswarm.ConfigListOptions{Filters: filters.NewArgs(filters.Arg("name", dynamicName))})
	if err != nil || len(configs) == 0 {
		return dswarm.ServiceSpec{}, fmt.Errorf("the load balancer's configuration %s is missing", dynamicName)
	}
	settings, _ := json.Marshal(lb)
	cs := &dswarm.ContainerSpec{
		Image: lb.Image,
		Args:  lb.args(),
		Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: lb.EngineSocket, Target: lbSocketPath, ReadOnly: true},
			{Type: mount.TypeVolume, Source: lbACMEVolume, Target: "/acme"},
		},
		Configs: []*dswarm.ConfigReference{{ConfigID: configs[0].ID, ConfigName: dynamicName,
			File: &dswarm.ConfigReferenceFileTarget{Name: lbDynamicPath, UID: "0", GID: "0", Mode: 0o444}}},
	}
	if lb.CertMode == "uploaded" {
		for _, ref := range []struct{ name, path string }{{lb.CertSecret, lbCertPath}, {lb.KeySecret, lbKeyPath}} {
			list, err := e.cli.SecretList(ctx, dswarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", ref.name))})
			if err != nil || len(list) == 0 {
				return dswarm.ServiceSpec{}, &SpecError{Fields: map[string]string{"cert": "The certificate's secret " + ref.name + " is missing: upload the certificate again."}}
			}
			cs.Secrets = append(cs.Secrets, &dswarm.SecretReference{SecretID: list[0].ID, SecretName: ref.name,
				File: &dswarm.SecretReferenceFileTarget{Name: strings.TrimPrefix(ref.path, "/run/secrets/"), UID: "0", GID: "0", Mode: 0o400}})
		}
	}
	// Host-mode ports keep client addresses and need no routing mesh; ingress ports need a virtual IP.
	mode, resolution := dswarm.PortConfigPublishModeHost, dswarm.ResolutionModeDNSRR
	if lb.PortMode == "ingress" {
		mode, resolution = dswarm.PortConfigPublishModeIngress, dswarm.ResolutionModeVIP
	}
	one := uint64(1)
	return dswarm.ServiceSpec{
		Annotations: dswarm.Annotations{Name: LoadBalancerName, Labels: map[string]string{ManagedLabel: "true", lbLabel: string(settings)}},
		TaskTemplate: dswarm.TaskSpec{
			ContainerSpec: cs,
			Placement:     &dswarm.Placement{Constraints: []string{"node.id==" + nodeID}},
			Networks:      []dswarm.NetworkAttachmentConfig{{Target: DefaultNetwork}},
		},
		Mode: dswarm.ServiceMode{Replicated: &dswarm.ReplicatedService{Replicas: &one}},
		EndpointSpec: &dswarm.EndpointSpec{Mode: resolution, Ports: []dswarm.PortConfig{
			{Protocol: dswarm.PortConfigProtocolTCP, TargetPort: 80, PublishedPort: 80, PublishMode: mode},
			{Protocol: dswarm.PortConfigProtocolTCP, TargetPort: 443, PublishedPort: 443, PublishMode: mode},
		}},
		UpdateConfig: &dswarm.UpdateConfig{Parallelism: 1, Order: dswarm.UpdateOrderStopFirst, FailureAction: dswarm.UpdateFailureActionRollback},
	}, nil
}

// RemoveLoadBalancer removes the load balancer service and its configuration objects (the acme volume stays).
func (e *Engine) RemoveLoadBalancer(ctx context.Context) error {
	if err := e.RemoveService(ctx, LoadBalancerName); err != nil {
		return err
	}
	// Objects stay in use until the task is gone.
	for i := 0; i < 20; i++ {
		tasks, err := e.cli.TaskList(ctx, dswarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", LoadBalancerName))})
		if err != nil || len(tasks) == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	e.pruneLoadBalancerObjects(ctx)
	return nil
}
