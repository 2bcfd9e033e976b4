// Package handlers is Berth's HTTP surface: pages, fragments and the JSON API,
// all listed in routes.go with the least role each needs.
package handlers

import (
	"crypto/x509"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
)

// Engine is what the handlers need from the Docker engine: one small interface per area,
// each declared in the file that uses it, and the boundary's questions.
type Engine interface {
	Boundary
	StatusEngine
	LiveModel
	RegistryEngine
	ObjectEngine
	ServiceEngine
	TerminalEngine
	VolumeEngine
	AgentEngine
	NodeEngine
	LoadBalancerEngine
	StackEngine
	MetricsEngine
	NetworkEngine
	ImageEngine
	ImageUpdateEngine
}

// Config holds the HTTP-level settings the handlers need.
type Config struct {
	// SecureCookies marks the session cookie Secure (Berth is served over HTTPS).
	SecureCookies bool
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed for client addresses.
	TrustedProxies []string
	// PublicURL is the address users reach Berth at, for the webhook URLs it hands out ("" uses the request's host).
	PublicURL string
	// Resolver looks up domains for the DNS check (nil: the system's resolver).
	Resolver swarm.Resolver
	// CertRoots are the authorities domain certificates are checked against (nil: the system's).
	CertRoots *x509.CertPool
	// Offsite copies snapshots to a bucket (nil: the off-site pages say it is not available).
	Offsite Offsite
	// Drills runs restore drills (nil: none).
	Drills Drills
	// Resources is the resource collection (nil: no figures).
	Resources Resources
	// ImageCheckEvery is how often services' tags are checked for a newer image (an hour when zero).
	ImageCheckEvery time.Duration
}

// Handlers holds every dependency the routes use.
type Handlers struct {
	store    *store.Store
	engine   Engine
	sessions *scs.SessionManager
	log      *slog.Logger
	limiter  *loginLimiter
	jobs     *jobRegistry
	hooks    *rateLimiter
	domains  *domainCache
	// listCache holds the services list rendered per filter while the live model holds still.
	listCache  *serviceListCache
	qrCodes    *qrCache
	alerts     Alerts
	alertCount *openAlertCount
	backups    Backups
	cfg        Config
	prom       *promMetrics  // Prometheus's registry and the request counters
	checks     imageChecks   // each service's last image-update check
	sso        ssoCache      // the identity provider's settings
	providers  providerCache // the identity provider's discovery
	// ssoSkew moves the time provider sign-ins are judged at (ID tokens' expiry, the longest session); tests set it.
	ssoSkew atomic.Int64
	// jsonRoutes are the routes that answer JSON ("METHOD /pattern"), errors included.
	jsonRoutes map[string]bool
}

// New builds the handlers; sessions are kept in the store's database.
func New(st *store.Store, engine Engine, backups Backups, alertSender Alerts, sessions *scs.SessionManager, log *slog.Logger, cfg Config) *Handlers {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	h := &Handlers{
		store:      st,
		engine:     engine,
		sessions:   sessions,
		log:        log,
		limiter:    newLoginLimiter(time.Now),
		jobs:       newJobRegistry(),
		hooks:      newRateLimiter(time.Now, hookWindow, hookCallsPerWindow),
		domains:    &domainCache{},
		listCache:  &serviceListCache{},
		qrCodes:    &qrCache{},
		alerts:     alertSender,
		alertCount: &openAlertCount{},
		backups:    backups,
		cfg:        cfg,
	}
	h.prom = newMetrics(h)
	return h
}
