package handlers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// LoadBalancerEngine reads, deploys and removes the Traefik load balancer.
type LoadBalancerEngine interface {
	LoadBalancer(ctx context.Context) (swarm.LoadBalancer, swarm.Service, bool, error)
	DeployLoadBalancer(ctx context.Context, lb swarm.LoadBalancer, cert *swarm.CertUpload) error
	RemoveLoadBalancer(ctx context.Context) error
	EngineSocket(ctx context.Context) string
}

// pemLimit bounds an uploaded certificate chain or key.
const pemLimit = 64 << 10

// lbForm builds the page's model from the deployed (or default) settings.
func (h *Handlers) lbForm(c echo.Context) (views.LoadBalancerForm, error) {
	ctx := c.Request().Context()
	lb, _, deployed, err := h.engine.LoadBalancer(ctx)
	if err != nil {
		return views.LoadBalancerForm{}, err
	}
	f := views.LoadBalancerForm{Deployed: deployed, Image: lb.Image, Node: lb.Node, CertMode: lb.CertMode, ACMEEmail: lb.ACMEEmail,
		ACMEStaging: lb.ACMEStaging, TLSPolicy: lb.TLSPolicy, HSTS: lb.HSTS, PortMode: lb.PortMode, EngineSocket: lb.EngineSocket}
	if f.Node == "" {
		f.Node = h.engine.Cached().NodeName
	}
	if !deployed {
		f.EngineSocket = h.engine.EngineSocket(ctx) // the socket Berth itself uses, not a guess
	}
	if lb.CertMode == "uploaded" && len(lb.CertNames) > 0 {
		f.CertSummary = fmt.Sprintf("The uploaded certificate covers %s and is valid until %s. Paste a new one to replace it.",
			strings.Join(lb.CertNames, ", "), views.FormatTime(lb.CertNotAfter))
	}
	nodes, err := h.engine.Nodes(ctx)
	if err != nil {
		return views.LoadBalancerForm{}, err
	}
	for _, n := range nodes {
		if n.Manager() {
			f.Nodes = append(f.Nodes, n.Hostname)
		}
	}
	if deployed {
		d, err := h.serviceDetail(c, swarm.LoadBalancerName)
		if err != nil {
			return views.LoadBalancerForm{}, err
		}
		f.State = &d
	}
	return f, nil
}

// LoadBalancerPage shows the load balancer's state and settings.
func (h *Handlers) LoadBalancerPage(c echo.Context) error {
	f, err := h.lbForm(c)
	if err != nil {
		return err
	}
	f.Notice = h.popNotice(c)
	p := h.page(c, "Load balancer", "loadbalancer")
	return h.render(c, http.StatusOK, p, views.LoadBalancerPage(p, f))
}

// pemField reads a pasted PEM text, or the uploaded file of the same name with "_file".
func pemField(c echo.Context, name string) ([]byte, error) {
	if fh, err := c.FormFile(name + "_file"); err == nil && fh.Size > 0 {
		if fh.Size > pemLimit {
			return nil, fmt.Errorf("The file is larger than %d KB: it is not a certificate or key.", pemLimit>>10)
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(io.LimitReader(f, pemLimit))
	}
	v := strings.TrimSpace(c.FormValue(name + "_pem"))
	if len(v) > pemLimit {
		return nil, fmt.Errorf("The text is larger than %d KB: it is not a certificate or key.", pemLimit>>10)
	}
	return []byte(v), nil
}

// certUpload is the certificate the request brings, nil when none (keeping the current one).
func certUpload(cert, key []byte) (*swarm.CertUpload, views.FieldErrors) {
	var errs views.FieldErrors
	switch {
	case len(cert) == 0 && len(key) == 0:
		return nil, nil
	case len(cert) == 0:
		errs.Add("cert", "Paste the certificate that goes with this key.")
	case len(key) == 0:
		errs.Add("key", "Paste the certificate's private key.")
	}
	if errs.Any() {
		return nil, errs
	}
	return &swarm.CertUpload{Cert: cert, Key: key}, nil
}

// applyLoadBalancer validates settings against the current ones and deploys them.
func (h *Handlers) applyLoadBalancer(c echo.Context, lb swarm.LoadBalancer, cert *swarm.CertUpload) views.FieldErrors {
	ctx := c.Request().Context()
	cur, _, deployed, err := h.engine.LoadBalancer(ctx)
	if err != nil {
		return views.FieldErrors{"form": err.Error()}
	}
	// The certificate's secrets come from an upload or the current deployment, never from the request.
	lb.CertSecret, lb.KeySecret, lb.CertNames, lb.CertNotAfter = "", "", nil, time.Time{}
	if cert == nil && deployed && lb.CertMode == "uploaded" && cur.CertMode == "uploaded" {
		lb.CertSecret, lb.KeySecret, lb.CertNames, lb.CertNotAfter = cur.CertSecret, cur.KeySecret, cur.CertNames, cur.CertNotAfter
	}
	errs := views.FieldErrors(lb.Validate(cert))
	if !errs.Any() && lb.CertMode == "uploaded" {
		h.checkCertCoversDomains(c, lb, &errs)
	}
	if errs.Any() {
		return errs
	}
	action := "loadbalancer.deploy"
	if deployed {
		action = "loadbalancer.update"
	}
	detail := fmt.Sprintf("image %s on %s, certificates %s, TLS %s, HSTS %t, ports %s", lb.Image, lb.Node, lb.CertMode, lb.TLSPolicy, lb.HSTS, lb.PortMode)
	if err := h.engine.DeployLoadBalancer(ctx, lb, cert); err != nil {
		if fields, ok := swarm.IsSpecError(err); ok {
			return fields
		}
		h.audit(c, action, "service:"+swarm.LoadBalancerName, "failed: "+err.Error(), detail)
		return views.FieldErrors{"form": "The engine refused: " + err.Error()}
	}
	h.audit(c, action, "service:"+swarm.LoadBalancerName, "ok", detail)
	return nil
}

// checkCertCoversDomains refuses an uploaded certificate that would break a mapped domain.
func (h *Handlers) checkCertCoversDomains(c echo.Context, lb swarm.LoadBalancer, errs *views.FieldErrors) {
	services, err := h.engine.Services(c.Request().Context())
	if err != nil {
		errs.Add("form", err.Error())
		return
	}
	var missing []string
	for _, s := range services {
		for _, d := range s.Spec.Domains {
			if !lb.Covers(d.Host) {
				missing = append(missing, d.Host+" ("+s.Spec.Name+")")
			}
		}
	}
	if len(missing) > 0 {
		errs.Add("cert", "The certificate does not cover domains already mapped: "+strings.Join(missing, ", ")+". Upload one that covers them, or remove those mappings first.")
	}
}

// SaveLoadBalancer deploys or updates the load balancer from the page.
func (h *Handlers) SaveLoadBalancer(c echo.Context) error {
	lb := swarm.LoadBalancer{Image: c.FormValue("image"), Node: c.FormValue("node"), CertMode: c.FormValue("cert_mode"),
		ACMEEmail: strings.TrimSpace(c.FormValue("acme_email")), ACMEStaging: c.FormValue("acme_staging") == "true",
		TLSPolicy: c.FormValue("tls_policy"), HSTS: c.FormValue("hsts") == "true", PortMode: c.FormValue("port_mode"),
		EngineSocket: strings.TrimSpace(c.FormValue("engine_socket"))}
	var errs views.FieldErrors
	cert, err := pemField(c, "cert")
	if err != nil {
		errs.Add("cert", err.Error())
	}
	key, err := pemField(c, "key")
	if err != nil {
		errs.Add("key", err.Error())
	}
	var upload *swarm.CertUpload
	if !errs.Any() {
		upload, errs = certUpload(cert, key)
	}
	if !errs.Any() {
		errs = h.applyLoadBalancer(c, lb, upload)
	}
	if errs.Any() {
		f, err := h.lbForm(c)
		if err != nil {
			return err
		}
		f.Image, f.Node, f.CertMode, f.ACMEEmail, f.ACMEStaging = lb.Image, lb.Node, lb.CertMode, lb.ACMEEmail, lb.ACMEStaging
		f.TLSPolicy, f.HSTS, f.PortMode, f.EngineSocket, f.CertPEM, f.Errors = lb.TLSPolicy, lb.HSTS, lb.PortMode, lb.EngineSocket, string(cert), errs
		p := h.page(c, "Load balancer", "loadbalancer")
		return h.render(c, http.StatusUnprocessableEntity, p, views.LoadBalancerPage(p, f))
	}
	return h.redirectNotice(c, "/loadbalancer", "Saved: the swarm is rolling the load balancer out; its task follows below.")
}

// DeleteLoadBalancer removes the load balancer after the admin typed its name.
func (h *Handlers) DeleteLoadBalancer(c echo.Context) error {
	if c.FormValue("confirm") != swarm.LoadBalancerName {
		f, err := h.lbForm(c)
		if err != nil {
			return err
		}
		f.Errors = views.FieldErrors{"confirm": "Type loadbalancer to confirm."}
		p := h.page(c, "Load balancer", "loadbalancer")
		return h.render(c, http.StatusUnprocessableEntity, p, views.LoadBalancerPage(p, f))
	}
	if err := h.engine.RemoveLoadBalancer(c.Request().Context()); err != nil {
		h.audit(c, "loadbalancer.remove", "service:"+swarm.LoadBalancerName, "failed: "+err.Error(), "")
		return err
	}
	h.audit(c, "loadbalancer.remove", "service:"+swarm.LoadBalancerName, "ok", "")
	return h.redirectNotice(c, "/loadbalancer", "The load balancer was removed.")
}

// lbRequest is the API's load balancer settings, with an optional certificate and key in PEM.
type lbRequest struct {
	swarm.LoadBalancer
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
}

// APILoadBalancer answers the load balancer's settings and state.
func (h *Handlers) APILoadBalancer(c echo.Context) error {
	lb, svc, deployed, err := h.engine.LoadBalancer(c.Request().Context())
	if err != nil {
		return err
	}
	if !deployed {
		return echo.NewHTTPError(http.StatusNotFound, "No load balancer is deployed.")
	}
	return c.JSON(http.StatusOK, map[string]any{"settings": lb, "service": apiService(svc, true)})
}

// APIDeployLoadBalancer deploys or updates the load balancer (POST); fields left out keep their current or default values.
func (h *Handlers) APIDeployLoadBalancer(c echo.Context) error {
	cur, _, _, err := h.engine.LoadBalancer(c.Request().Context())
	if err != nil {
		return err
	}
	if cur.Node == "" {
		cur.Node = h.engine.Cached().NodeName
	}
	req := lbRequest{LoadBalancer: cur}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	upload, errs := certUpload([]byte(strings.TrimSpace(req.Cert)), []byte(strings.TrimSpace(req.Key)))
	if !errs.Any() {
		errs = h.applyLoadBalancer(c, req.LoadBalancer, upload)
	}
	if errs.Any() {
		return fieldErrors(c, errs)
	}
	return h.APILoadBalancer(c)
}

// APIRemoveLoadBalancer removes the load balancer.
func (h *Handlers) APIRemoveLoadBalancer(c echo.Context) error {
	if err := h.engine.RemoveLoadBalancer(c.Request().Context()); err != nil {
		h.audit(c, "loadbalancer.remove", "service:"+swarm.LoadBalancerName, "failed: "+err.Error(), "")
		return err
	}
	h.audit(c, "loadbalancer.remove", "service:"+swarm.LoadBalancerName, "ok", "")
	return c.NoContent(http.StatusNoContent)
}
