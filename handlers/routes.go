package handlers

import (
	"fmt"
	"net/http"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Route is one entry of the route table: who may call it and how.
type Route struct {
	Method string
	Path   string
	// MinRole is the least role allowed; "" means anyone, signed in or not.
	MinRole store.Role
	// API routes take a bearer token and never a session cookie.
	API bool
	// Before2FA routes stay open to a user who must still enrol in two-factor.
	Before2FA bool
	// Hook routes authenticate by the secret in their path: no session, no CSRF token.
	Hook bool
	// Stream routes answer with server-sent events: the session is read but never
	// saved, because saving buffers the whole answer.
	Stream bool
	// Upload routes stream a file of up to the upload limit; every other route's body is at most maxBody.
	Upload bool
	handle echo.HandlerFunc
}

// maxBody bounds the body of every route but the uploads: a secret or config of
// 1000 KB as a form or base64 JSON fits.
const maxBody = 4 << 20

// Routes lists every route Berth serves, in one place.
func (h *Handlers) Routes() []Route {
	const (
		anyone   = store.Role("")
		viewer   = store.RoleViewer
		operator = store.RoleOperator
		admin    = store.RoleAdmin
	)
	ui := func(method, path string, min store.Role, fn echo.HandlerFunc) Route {
		return Route{Method: method, Path: path, MinRole: min, handle: fn}
	}
	api := func(method, path string, min store.Role, fn echo.HandlerFunc) Route {
		return Route{Method: method, Path: path, MinRole: min, API: true, handle: fn}
	}
	early := func(r Route) Route { r.Before2FA = true; return r }
	stream := func(r Route) Route { r.Stream = true; return r }
	upload := func(r Route) Route { r.Upload = true; return r }
	return []Route{
		ui(http.MethodGet, "/healthz", anyone, h.Healthz),
		ui(http.MethodGet, "/login", anyone, h.LoginPage),
		ui(http.MethodPost, "/login", anyone, h.Login),
		ui(http.MethodGet, "/auth/sso", anyone, h.SSOStart),
		ui(http.MethodGet, "/auth/sso/callback", anyone, h.SSOCallback),
		early(ui(http.MethodPost, "/logout", viewer, h.Logout)),
		ui(http.MethodGet, "/setup", anyone, h.SetupPage),
		ui(http.MethodPost, "/setup", anyone, h.Setup),

		ui(http.MethodGet, "/", viewer, h.Dashboard),
		ui(http.MethodGet, "/dashboard/status", viewer, h.DashboardStatus),
		stream(ui(http.MethodGet, "/dashboard/events", viewer, h.DashboardEvents)),
		early(ui(http.MethodGet, "/engine/banner", viewer, h.EngineBanner)),
		ui(http.MethodPost, "/environment/initialize", admin, h.InitializeEnvironment),

		ui(http.MethodGet, "/account", viewer, h.AccountPage),
		ui(http.MethodPost, "/account/password", viewer, h.ChangePassword),
		ui(http.MethodPost, "/account/tokens", viewer, h.CreateToken),
		ui(http.MethodPost, "/account/tokens/:id/revoke", viewer, h.RevokeToken),
		early(ui(http.MethodGet, "/account/2fa", viewer, h.Enrol2FAPage)),
		early(ui(http.MethodGet, "/account/2fa/qr.png", viewer, h.Enrol2FAQR)),
		early(ui(http.MethodPost, "/account/2fa", viewer, h.Confirm2FA)),
		ui(http.MethodPost, "/account/2fa/disable", viewer, h.Disable2FA),

		ui(http.MethodGet, "/team", admin, h.TeamPage),
		ui(http.MethodPost, "/team", admin, h.AddUser),
		ui(http.MethodPost, "/team/:id/role", admin, h.ChangeRole),
		ui(http.MethodPost, "/team/:id/disabled", admin, h.SetDisabled),
		ui(http.MethodPost, "/team/:id/password", admin, h.ResetPassword),
		ui(http.MethodPost, "/team/:id/2fa/reset", admin, h.ResetTwoFactor),

		ui(http.MethodGet, "/settings", admin, h.SettingsPage),
		ui(http.MethodPost, "/settings", admin, h.SaveSettings),
		ui(http.MethodGet, "/settings/sso", admin, h.SSOPage),
		ui(http.MethodPost, "/settings/sso", admin, h.SaveSSO),
		ui(http.MethodPost, "/settings/sso/recheck", admin, h.RecheckSSO),

		ui(http.MethodGet, "/recordings", admin, h.RecordingsPage),
		ui(http.MethodGet, "/recordings/:id", admin, h.ReplayPage),
		ui(http.MethodGet, "/recordings/:id/cast", admin, h.RecordingCast),

		ui(http.MethodGet, "/audit", viewer, h.AuditPage),
		ui(http.MethodGet, "/audit.csv", viewer, h.AuditCSV),

		ui(http.MethodGet, "/registries", viewer, h.RegistriesPage),
		ui(http.MethodPost, "/registries", operator, h.AddRegistry),
		ui(http.MethodPost, "/registries/pull", operator, h.PullImage),
		ui(http.MethodPost, "/registries/:id/password", operator, h.ReplaceRegistryPassword),
		ui(http.MethodPost, "/registries/:id/test", operator, h.TestRegistry),
		ui(http.MethodPost, "/registries/:id/delete", operator, h.DeleteRegistry),

		ui(http.MethodGet, "/configs", viewer, h.ObjectsPage),
		ui(http.MethodPost, "/configs", operator, h.CreateObject),
		ui(http.MethodGet, "/configs/:name", viewer, h.ConfigPage),
		ui(http.MethodGet, "/configs/:name/version", operator, h.VersionPage),
		ui(http.MethodPost, "/configs/:name/versions", operator, h.StartRotation),
		ui(http.MethodPost, "/configs/:name/delete", operator, h.DeleteObject),
		ui(http.MethodGet, "/secrets", viewer, h.ObjectsPage),
		ui(http.MethodPost, "/secrets", operator, h.CreateObject),
		ui(http.MethodGet, "/secrets/:name/version", operator, h.VersionPage),
		ui(http.MethodPost, "/secrets/:name/versions", operator, h.StartRotation),
		ui(http.MethodPost, "/secrets/:name/delete", operator, h.DeleteObject),
		ui(http.MethodGet, "/jobs/:id", viewer, h.JobPage),
		ui(http.MethodGet, "/jobs/:id/status", viewer, h.JobStatus),

		ui(http.MethodGet, "/services", viewer, h.ServicesPage),
		stream(ui(http.MethodGet, "/services/events", viewer, h.ServicesEvents)),
		ui(http.MethodGet, "/alerts", viewer, h.AlertsPage),
		ui(http.MethodGet, "/alerts.csv", viewer, h.AlertsCSV),
		stream(ui(http.MethodGet, "/alerts/events", viewer, h.AlertsEvents)),
		ui(http.MethodPost, "/alerts/:id/ack", operator, h.AckAlert),
		ui(http.MethodPost, "/alerts/channels", admin, h.CreateChannel),
		ui(http.MethodPost, "/alerts/channels/:id/test", admin, h.TestChannel),
		ui(http.MethodPost, "/alerts/channels/:id/delete", admin, h.DeleteChannel),
		ui(http.MethodPost, "/alerts/settings", admin, h.SaveAlertSettings),
		ui(http.MethodGet, "/stacks", viewer, h.StacksPage),
		ui(http.MethodGet, "/stacks/new", operator, h.NewStackPage),
		ui(http.MethodPost, "/stacks", operator, h.CreateStack),
		ui(http.MethodGet, "/stacks/:name", viewer, h.StackPage),
		stream(ui(http.MethodGet, "/stacks/:name/events", viewer, h.StackEvents)),
		ui(http.MethodGet, "/stacks/:name/compose", viewer, h.StackCompose),
		ui(http.MethodPost, "/stacks/:name", operator, h.UpdateStack),
		ui(http.MethodPost, "/stacks/:name/delete", operator, h.RemoveStack),
		ui(http.MethodPost, "/stacks/:name/redeploy", operator, h.RedeployStack),
		ui(http.MethodGet, "/services/new", operator, h.DeployPage),
		ui(http.MethodPost, "/services/new", operator, h.Deploy),
		ui(http.MethodGet, "/services/:name", viewer, h.ServicePage),
		ui(http.MethodGet, "/services/:name/edit", operator, h.EditPage),
		ui(http.MethodPost, "/services/:name/edit", operator, h.Deploy),
		stream(ui(http.MethodGet, "/services/:name/events", viewer, h.ServiceEvents)),
		ui(http.MethodGet, "/top", viewer, h.TopPage),
		ui(http.MethodGet, "/networks", viewer, h.NetworksPage),
		stream(ui(http.MethodGet, "/networks/events", viewer, h.NetworksEvents)),
		ui(http.MethodPost, "/networks", operator, h.CreateNetworkForm),
		ui(http.MethodPost, "/networks/:name/delete", operator, h.DeleteNetwork),
		stream(ui(http.MethodGet, "/top/events", viewer, h.TopEvents)),
		ui(http.MethodGet, "/services/:name/compose", viewer, h.ServiceCompose),
		ui(http.MethodGet, "/services/:name/logs", viewer, h.ServiceLogsPage),
		stream(ui(http.MethodGet, "/services/:name/logs/follow", viewer, h.FollowLogs)),
		ui(http.MethodPost, "/services/:name/scale", operator, h.ScaleService),
		ui(http.MethodPost, "/services/:name/redeploy", operator, h.RedeployService),
		ui(http.MethodPost, "/services/:name/image/check", operator, h.CheckServiceImage),
		ui(http.MethodPost, "/services/:name/image/update", operator, h.UpdateServiceImage),
		ui(http.MethodPost, "/services/:name/rollback", operator, h.RollbackService),
		ui(http.MethodPost, "/services/:name/delete", operator, h.DeleteService),
		ui(http.MethodGet, "/services/:name/domains", operator, h.DomainsEditPage),
		ui(http.MethodPost, "/services/:name/domains", operator, h.SaveDomains),
		ui(http.MethodGet, "/domains", viewer, h.DomainsPage),

		ui(http.MethodGet, "/nodes", viewer, h.NodesPage),
		ui(http.MethodGet, "/nodes/live", viewer, h.NodesLive),
		stream(ui(http.MethodGet, "/nodes/events", viewer, h.NodesEvents)),
		ui(http.MethodPost, "/nodes/autolock", admin, h.SetAutolock),
		ui(http.MethodPost, "/nodes/unlock", admin, h.UnlockSwarm),
		ui(http.MethodPost, "/nodes/agent", admin, h.DeployAgents),
		ui(http.MethodPost, "/nodes/join", admin, h.ShowJoinCommand),
		ui(http.MethodPost, "/nodes/join/rotate", admin, h.RotateJoinToken),
		ui(http.MethodPost, "/nodes/agent/rotate", admin, h.RotateAgentKeys),
		ui(http.MethodPost, "/nodes/agent/remove", admin, h.RemoveAgents),
		ui(http.MethodGet, "/nodes/:id", viewer, h.NodePage),
		ui(http.MethodGet, "/nodes/:id/live", viewer, h.NodeLive),
		ui(http.MethodGet, "/nodes/:id/images", viewer, h.NodeImagesPage),
		ui(http.MethodPost, "/nodes/:id/images/prune", operator, h.PruneImagesForm),
		stream(ui(http.MethodGet, "/nodes/:id/events", viewer, h.NodeEvents)),
		ui(http.MethodPost, "/nodes/:id/role", admin, h.ChangeNodeRole),
		ui(http.MethodPost, "/nodes/:id/availability", admin, h.SetNodeAvailability),
		ui(http.MethodPost, "/nodes/:id/labels", admin, h.SetNodeLabel),
		ui(http.MethodPost, "/nodes/:id/labels/delete", admin, h.DeleteNodeLabel),
		ui(http.MethodPost, "/nodes/:id/remove", admin, h.RemoveNodePage),
		ui(http.MethodPost, "/nodes/:id/remove/cancel", admin, h.CancelNodeRemoval),

		ui(http.MethodGet, "/backups", viewer, h.BackupsPage),
		ui(http.MethodGet, "/backups/live", viewer, h.BackupsLive),
		ui(http.MethodPost, "/backups", operator, h.BackupNow),
		ui(http.MethodGet, "/backups/export.csv", viewer, h.BackupsExport),
		ui(http.MethodGet, "/backups/export.json", viewer, h.BackupsExport),
		ui(http.MethodPost, "/backups/modes/:name", operator, h.SetBackupMode),
		ui(http.MethodGet, "/backups/offsite", admin, h.OffsitePage),
		ui(http.MethodPost, "/backups/offsite", admin, h.SaveOffsite),
		ui(http.MethodPost, "/backups/offsite/remove", admin, h.RemoveOffsite),
		ui(http.MethodPost, "/backups/offsite/keys", admin, h.RotateBackupKey),
		ui(http.MethodPost, "/backups/offsite/keys/import", admin, h.ImportBackupKey),
		ui(http.MethodPost, "/backups/drills", operator, h.RunDrill),
		ui(http.MethodPost, "/backups/drills/schedule", admin, h.SaveDrillSchedule),
		ui(http.MethodGet, "/backups/:id", viewer, h.SnapshotPage),
		ui(http.MethodPost, "/backups/:id/verify", operator, h.VerifyBackup),
		ui(http.MethodPost, "/backups/:id/pin", operator, h.PinBackup),
		ui(http.MethodPost, "/backups/:id/restore-volume", operator, h.RestoreVolume),
		ui(http.MethodPost, "/backups/:id/restore-objects", operator, h.RestoreObjects),
		ui(http.MethodPost, "/backups/:id/restore-state", admin, h.RestoreState),
		ui(http.MethodGet, "/loadbalancer", admin, h.LoadBalancerPage),
		ui(http.MethodPost, "/loadbalancer", admin, h.SaveLoadBalancer),
		ui(http.MethodPost, "/loadbalancer/delete", admin, h.DeleteLoadBalancer),

		ui(http.MethodGet, "/containers", viewer, h.ContainersPage),
		ui(http.MethodGet, "/terminal/:container", operator, h.TerminalPage),
		stream(ui(http.MethodGet, "/terminal/:container/ws", operator, h.TerminalSocket)),

		ui(http.MethodGet, "/volumes", viewer, h.VolumesPage),
		ui(http.MethodPost, "/volumes", operator, h.CreateMapping),
		ui(http.MethodPost, "/volumes/:name/delete", operator, h.DeleteMapping),
		ui(http.MethodGet, "/volumes/upload-nodes", operator, h.UploadNodes),
		upload(ui(http.MethodPut, "/volumes/:name/files", operator, h.APIUploadFiles)),

		api(http.MethodGet, "/api/v1/me", viewer, h.APIMe),
		api(http.MethodGet, "/api/v1/registries", viewer, h.APIRegistries),
		api(http.MethodPost, "/api/v1/registries", operator, h.APICreateRegistry),
		api(http.MethodPut, "/api/v1/registries/:id", operator, h.APIReplaceRegistry),
		api(http.MethodDelete, "/api/v1/registries/:id", operator, h.APIDeleteRegistry),
		api(http.MethodPost, "/api/v1/registries/:id/test", operator, h.APITestRegistry),
		api(http.MethodGet, "/api/v1/configs", viewer, h.APIObjects),
		api(http.MethodPost, "/api/v1/configs", operator, h.APICreateObject),
		api(http.MethodGet, "/api/v1/configs/:name", viewer, h.APIObject),
		api(http.MethodDelete, "/api/v1/configs/:name", operator, h.APIDeleteObject),
		api(http.MethodPost, "/api/v1/configs/:name/versions", operator, h.APIRotate),
		api(http.MethodGet, "/api/v1/secrets", viewer, h.APIObjects),
		api(http.MethodPost, "/api/v1/secrets", operator, h.APICreateObject),
		api(http.MethodGet, "/api/v1/secrets/:name", viewer, h.APIObject),
		api(http.MethodDelete, "/api/v1/secrets/:name", operator, h.APIDeleteObject),
		api(http.MethodPost, "/api/v1/secrets/:name/versions", operator, h.APIRotate),
		api(http.MethodGet, "/api/v1/volumes", viewer, h.APIVolumes),
		api(http.MethodPost, "/api/v1/volumes", operator, h.APICreateVolume),
		api(http.MethodDelete, "/api/v1/volumes/:name", operator, h.APIDeleteVolume),
		upload(api(http.MethodPut, "/api/v1/volumes/:name/files", operator, h.APIUploadFiles)),

		api(http.MethodGet, "/api/v1/alerts", viewer, h.APIAlerts),
		api(http.MethodPost, "/api/v1/alerts/:id/ack", operator, h.APIAckAlert),
		api(http.MethodGet, "/api/v1/alerts/channels", admin, h.APIChannels),
		api(http.MethodPost, "/api/v1/alerts/channels", admin, h.APICreateChannel),
		api(http.MethodDelete, "/api/v1/alerts/channels/:id", admin, h.APIDeleteChannel),
		api(http.MethodPost, "/api/v1/alerts/channels/:id/test", admin, h.APITestChannel),
		api(http.MethodGet, "/api/v1/stacks", viewer, h.APIStacks),
		api(http.MethodPost, "/api/v1/stacks", operator, h.APICreateStack),
		api(http.MethodGet, "/api/v1/stacks/:name", viewer, h.APIStack),
		api(http.MethodPut, "/api/v1/stacks/:name", operator, h.APIUpdateStack),
		api(http.MethodGet, "/api/v1/stacks/:name/compose", viewer, h.StackCompose),
		api(http.MethodDelete, "/api/v1/stacks/:name", operator, h.APIDeleteStack),
		api(http.MethodPost, "/api/v1/stacks/:name/redeploy", operator, h.APIRedeployStack),
		api(http.MethodPost, "/api/v1/stacks/:name/webhook", operator, h.APIStackWebhook),
		api(http.MethodDelete, "/api/v1/stacks/:name/webhook", operator, h.APIRevokeStackWebhook),
		api(http.MethodGet, "/api/v1/services", viewer, h.APIServices),
		api(http.MethodPost, "/api/v1/services", operator, h.APICreateService),
		api(http.MethodGet, "/api/v1/services/:name", viewer, h.APIService),
		api(http.MethodGet, "/api/v1/services/:name/metrics", viewer, h.APIServiceMetrics),
		api(http.MethodGet, "/api/v1/nodes/:id/metrics", viewer, h.APINodeMetrics),
		api(http.MethodGet, "/api/v1/networks", viewer, h.APINetworks),
		api(http.MethodGet, "/api/v1/nodes/:id/images", viewer, h.APINodeImages),
		api(http.MethodGet, "/api/v1/nodes/:id/disk", viewer, h.APINodeDisk),
		api(http.MethodGet, "/api/v1/swarm/join", admin, h.APIJoin),
		api(http.MethodPost, "/api/v1/swarm/join/rotate", admin, h.APIRotateJoin),
		api(http.MethodDelete, "/api/v1/nodes/:id", admin, h.APIRemoveNode),
		api(http.MethodPost, "/api/v1/networks", operator, h.APICreateNetwork),
		api(http.MethodPost, "/api/v1/nodes/:id/images/prune", operator, h.APIPruneImages),
		api(http.MethodDelete, "/api/v1/networks/:name", operator, h.APIDeleteNetwork),
		api(http.MethodPut, "/api/v1/services/:name", operator, h.APIReplaceService),
		api(http.MethodPatch, "/api/v1/services/:name", operator, h.APIPatchService),
		api(http.MethodDelete, "/api/v1/services/:name", operator, h.APIDeleteService),
		api(http.MethodPost, "/api/v1/services/:name/redeploy", operator, h.APIRedeployService),
		api(http.MethodPost, "/api/v1/services/:name/image/check", operator, h.APICheckServiceImage),
		api(http.MethodPost, "/api/v1/services/:name/image/update", operator, h.APIUpdateServiceImage),
		api(http.MethodPost, "/api/v1/services/:name/webhook", operator, h.APIServiceWebhook),
		api(http.MethodDelete, "/api/v1/services/:name/webhook", operator, h.APIRevokeWebhook),
		api(http.MethodGet, "/api/v1/domains", viewer, h.APIDomains),
		api(http.MethodGet, "/api/v1/backups", viewer, h.APIBackups),
		api(http.MethodPost, "/api/v1/backups", operator, h.APIBackupNow),
		api(http.MethodGet, "/api/v1/backups/export", viewer, h.BackupsExport),
		api(http.MethodGet, "/api/v1/backups/offsite", admin, h.APIOffsite),
		api(http.MethodPut, "/api/v1/backups/offsite", admin, h.APISetOffsite),
		api(http.MethodDelete, "/api/v1/backups/offsite", admin, h.APIRemoveOffsite),
		api(http.MethodPost, "/api/v1/backups/offsite/keys", admin, h.APIBackupKeys),
		api(http.MethodGet, "/api/v1/backups/offsite/snapshots", admin, h.APIOffsiteSnapshots),
		api(http.MethodGet, "/api/v1/backups/drills", viewer, h.APIDrills),
		api(http.MethodGet, "/metrics", viewer, h.Metrics),
		api(http.MethodPost, "/api/v1/backups/drills", operator, h.APIRunDrill),
		api(http.MethodPut, "/api/v1/backups/drills/schedule", admin, h.APISetDrillSchedule),
		api(http.MethodGet, "/api/v1/backups/:id", viewer, h.APIBackup),
		api(http.MethodPost, "/api/v1/backups/:id/verify", operator, h.APIVerifyBackup),
		api(http.MethodPost, "/api/v1/backups/:id/restore-volume", operator, h.APIRestoreVolume),
		api(http.MethodGet, "/api/v1/backups/:id/restore-objects", operator, h.APIRestoreObjects),
		api(http.MethodPost, "/api/v1/backups/:id/restore-objects", operator, h.APIRestoreObjects),
		api(http.MethodGet, "/api/v1/backups/:id/restore-state", admin, h.APIRestoreState),
		api(http.MethodPost, "/api/v1/backups/:id/restore-state", admin, h.APIRestoreState),
		api(http.MethodGet, "/api/v1/loadbalancer", admin, h.APILoadBalancer),
		api(http.MethodPost, "/api/v1/loadbalancer", admin, h.APIDeployLoadBalancer),
		api(http.MethodDelete, "/api/v1/loadbalancer", admin, h.APIRemoveLoadBalancer),
		{Method: http.MethodPost, Path: "/hooks/:token", Hook: true, handle: h.Hook},
	}
}

// Register installs the middleware and every route on e.
func (h *Handlers) Register(e *echo.Echo) {
	e.HTTPErrorHandler = h.handleError
	e.IPExtractor = ipExtractor(h.cfg.TrustedProxies)
	e.Use(h.requestLog, h.measure, middleware.Recover(), securityHeaders)
	e.GET("/static/*", staticFiles())
	uiChain := []echo.MiddlewareFunc{echo.WrapMiddleware(h.sessions.LoadAndSave), h.loadUser, h.checkCSRF}
	h.jsonRoutes = map[string]bool{}
	for _, r := range h.Routes() {
		if r.API || r.Hook || r.Upload {
			h.jsonRoutes[r.Method+" "+r.Path] = true // their errors are JSON too
		}
		var mw []echo.MiddlewareFunc
		switch {
		case r.Hook:
		case r.API:
			mw = []echo.MiddlewareFunc{h.apiAuth, requireRole(r.MinRole)}
		case r.Stream:
			mw = []echo.MiddlewareFunc{h.readSession, h.loadUser, requireRole(r.MinRole), h.enforce2FA}
		default:
			mw = append(append(mw, uiChain...), requireRole(r.MinRole))
			if r.MinRole != "" && !r.Before2FA {
				mw = append(mw, h.enforce2FA)
			}
		}
		if !r.Upload {
			mw = append([]echo.MiddlewareFunc{limitBody(maxBody)}, mw...)
		}
		mw = append([]echo.MiddlewareFunc{originOf(r.Method + " " + r.Path)}, mw...)
		e.Add(r.Method, r.Path, r.handle, mw...)
	}
}

// originOf names the route on its request's context, so every engine call the request
// makes says which route made it (counted by swarm, checked by the live-model tests).
func originOf(route string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.SetRequest(c.Request().WithContext(swarm.WithOrigin(c.Request().Context(), route)))
			return next(c)
		}
	}
}

// limitBody refuses a body over n bytes: at once when its length says so, and when
// reading passes n otherwise.
func limitBody(n int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > n {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request is %d KB; this page takes at most %d KB.", (r.ContentLength+1023)/1024, n/1024))
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, n)
			return next(c)
		}
	}
}
