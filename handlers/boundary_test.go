// The operator-boundary test: an operator tries every way in, against the real engines; the
// cases are checked against the route table and the spec's fields, so a new route or field
// fails here until it is attacked or said to be outside.

package handlers

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	bswarm "github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/swarm"
)

// attack is one way in that must be refused.
type attack struct {
	name   string
	route  string // the route table's "METHOD /pattern" it goes through
	send   func(f *boundaryFixture) (int, string)
	status int
	says   string // part of the refusal the user reads
}

func (f *boundaryFixture) attacks() []attack {
	specWith := func(change func(*bswarm.ServiceSpec)) bswarm.ServiceSpec {
		s := bswarm.ServiceSpec{Name: f.tag + "-new", Image: enginetest.BusyboxImage, Command: []string{"sleep", "3600"}, EndpointMode: "dnsrr"}
		change(&s)
		return s
	}
	newSvc := func(change func(*bswarm.ServiceSpec)) func(*boundaryFixture) (int, string) {
		return func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/services", specWith(change))
		}
	}
	return []attack{
		// Berth's own service, by every action on a service.
		{"redeploy Berth with another tag", "POST /api/v1/services/:name/redeploy", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/services/"+f.self+"/redeploy", map[string]string{"tag": "evil"})
		}, http.StatusForbidden, "it is Berth itself"},
		{"redeploy Berth from its page", "POST /services/:name/redeploy", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/services/"+f.self+"/redeploy", nil)
		}, http.StatusForbidden, "it is Berth itself"},
		{"scale Berth to zero", "POST /services/:name/scale", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/services/"+f.self+"/scale", url.Values{"replicas": {"0"}})
		}, http.StatusForbidden, "it is Berth itself"},
		{"roll Berth back", "POST /services/:name/rollback", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/services/"+f.self+"/rollback", nil)
		}, http.StatusForbidden, "it is Berth itself"},
		{"delete Berth from its page", "POST /services/:name/delete", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/services/"+f.self+"/delete", url.Values{"confirm": {f.self}})
		}, http.StatusForbidden, "it is Berth itself"},
		{"delete Berth through the API", "DELETE /api/v1/services/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodDelete, "/api/v1/services/"+f.self, nil)
		}, http.StatusForbidden, "it is Berth itself"},
		{"replace Berth's spec", "PUT /api/v1/services/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPut, "/api/v1/services/"+f.self, specWith(func(s *bswarm.ServiceSpec) { s.Name = f.self }))
		}, http.StatusForbidden, "it is Berth itself"},
		{"patch Berth's image", "PATCH /api/v1/services/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPatch, "/api/v1/services/"+f.self, map[string]string{"image": "evil/berth:1"})
		}, http.StatusForbidden, "it is Berth itself"},
		{"open Berth's edit form", "GET /services/:name/edit", func(f *boundaryFixture) (int, string) {
			return f.page("/services/" + f.self + "/edit")
		}, http.StatusForbidden, "it is Berth itself"},
		{"save Berth from the edit form", "POST /services/:name/edit", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/services/"+f.self+"/edit", url.Values{"image": {"evil/berth"}, "replicas": {"1"}})
		}, http.StatusForbidden, "it is Berth itself"},
		{"open Berth's domain editor", "GET /services/:name/domains", func(f *boundaryFixture) (int, string) {
			return f.page("/services/" + f.self + "/domains")
		}, http.StatusForbidden, "it is Berth itself"},
		{"route a domain to Berth", "POST /services/:name/domains", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/services/"+f.self+"/domains", url.Values{"domain_host": {"evil.example"}, "domain_port": {"8080"}, "domain_path": {""}})
		}, http.StatusForbidden, "it is Berth itself"},
		{"take a webhook of Berth", "POST /api/v1/services/:name/webhook", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/services/"+f.self+"/webhook", nil)
		}, http.StatusForbidden, "it is Berth itself"},
		{"call a webhook of Berth made before the boundary", "POST /hooks/:token", func(f *boundaryFixture) (int, string) {
			req, _ := http.NewRequest(http.MethodPost, f.URL+"/hooks/"+f.selfHook+"?tag=evil", nil)
			p := f.op.do(req)
			return p.Status, p.Body
		}, http.StatusForbidden, "it is Berth itself"},
		{"deploy a service named as Berth's load balancer", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) { s.Name = bswarm.LoadBalancerName }),
			http.StatusUnprocessableEntity, "load balancer"},
		{"deploy a service named as Berth's agent from the form", "POST /services/new", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/services/new", url.Values{"name": {bswarm.AgentService}, "image": {enginetest.BusyboxImage}, "replicas": {"1"}})
		}, http.StatusUnprocessableEntity, "Berth&#39;s agent"},
		{"open the deploy form", "GET /services/new", func(f *boundaryFixture) (int, string) {
			// The form itself is open to operators; what it submits is checked (the attacks on POST /services/new).
			return f.page("/services/new?name=" + bswarm.AgentService)
		}, http.StatusOK, "Deploy"},

		// Berth's own network and Docker's.
		{"remove Berth's own network from the page", "POST /networks/:name/delete", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/networks/"+bswarm.DefaultNetwork+"/delete", nil)
		}, http.StatusForbidden, "Berth"},
		{"remove the ingress network through the API", "DELETE /api/v1/networks/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodDelete, "/api/v1/networks/ingress", nil)
		}, http.StatusForbidden, "Docker"},
		{"create a network named as Berth's", "POST /api/v1/networks", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/networks", map[string]any{"name": bswarm.DefaultNetwork})
		}, http.StatusUnprocessableEntity, "is taken"},
		{"remove the image Berth itself runs through the API", "POST /api/v1/nodes/:id/images/prune", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/nodes/"+f.cluster.Manager().Hostname+"/images/prune?id="+url.QueryEscape(f.berthImage()), nil)
		}, http.StatusForbidden, "it is Berth's own"},
		{"remove the image Berth itself runs from the page", "POST /nodes/:id/images/prune", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/nodes/"+f.cluster.Manager().Hostname+"/images/prune", url.Values{"id": {f.berthImage()}})
		}, http.StatusForbidden, "is out of reach"},
		{"create a network named ingress from the page", "POST /networks", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/networks", url.Values{"name": {"ingress"}, "encrypted": {"true"}})
		}, http.StatusUnprocessableEntity, "is taken"},

		// Berth's own secrets, configs and volumes, mounted by a spec.
		{"mount Berth's agent key", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) { s.Secrets = []bswarm.FileRef{{Name: f.selfSecret}} }),
			http.StatusUnprocessableEntity, "Berth agents' keys"},
		{"mount the load balancer's config", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) { s.Configs = []bswarm.FileRef{{Name: f.selfConfig}} }),
			http.StatusUnprocessableEntity, "load balancer"},
		{"mount Berth's data volume", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) {
			s.Volumes = []bswarm.VolumeRef{{Mapping: f.selfVolume, Target: "/steal"}}
		}), http.StatusUnprocessableEntity, "Berth's own data"},
		{"mount Berth's agent key into the operator's own service", "PATCH /api/v1/services/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPatch, "/api/v1/services/"+f.app, map[string]any{"secrets": []bswarm.FileRef{{Name: f.selfSecret}}})
		}, http.StatusUnprocessableEntity, "Berth agents' keys"},
		{"run the image Berth's own service runs", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) { s.Image = reservedImage }),
			http.StatusUnprocessableEntity, "a pull could replace"},
		{"pull the image Berth's own service runs", "POST /registries/pull", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/registries/pull", url.Values{"image": {reservedImage}})
		}, http.StatusForbidden, "a pull could replace"},

		// The fields a spec may name only to be refused.
		{"mount the Docker socket", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) {
			s.Mounts = []bswarm.RawMount{{Type: "bind", Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}}
		}), http.StatusUnprocessableEntity, "Docker socket is refused"},
		{"run privileged", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) { s.Privileged = true }),
			http.StatusUnprocessableEntity, "root on the node"},
		{"add capabilities", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) { s.CapAdd = []string{"SYS_ADMIN"} }),
			http.StatusUnprocessableEntity, "Adding capabilities is refused"},
		{"take the host's devices", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) { s.Devices = []string{"/dev/sda"} }),
			http.StatusUnprocessableEntity, "host devices is refused"},
		{"join the host's network namespace", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) { s.NetworkMode = "host" }),
			http.StatusUnprocessableEntity, "network namespace is refused"},
		{"join the host's network", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) { s.Networks = []string{"host"} }),
			http.StatusUnprocessableEntity, "host network is refused"},
		{"share the host's processes", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) { s.PID = "host" }),
			http.StatusUnprocessableEntity, "process namespace is refused"},

		// Raw labels.
		{"route any host with a traefik label", "POST /api/v1/services", newSvc(func(s *bswarm.ServiceSpec) {
			s.Labels = map[string]string{"traefik.http.routers.x.rule": "Host(`berth.example`)"}
		}), http.StatusUnprocessableEntity, "domain editor"},
		{"forge Berth's bookkeeping", "PATCH /api/v1/services/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPatch, "/api/v1/services/"+f.app, map[string]any{"labels": map[string]string{"berth.owner": "admin"}})
		}, http.StatusUnprocessableEntity, "Berth's own bookkeeping"},
		{"forge Docker's stack label", "PUT /api/v1/services/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPut, "/api/v1/services/"+f.app, specWith(func(s *bswarm.ServiceSpec) {
				s.Name, s.Labels = f.app, map[string]string{"com.docker.stack.namespace": "berth"}
			}))
		}, http.StatusUnprocessableEntity, "Docker itself"},
		{"change a stack's traefik label", "PATCH /api/v1/services/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPatch, "/api/v1/services/"+f.stacked, map[string]any{"labels": map[string]string{
				"com.docker.stack.namespace": "shop", "traefik.http.routers.shop.rule": "Host(`berth.example`)"}})
		}, http.StatusUnprocessableEntity, "domain editor"},

		// Another tool's service with a way to the node.
		{"redeploy a service that binds a host folder", "POST /api/v1/services/:name/redeploy", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/services/"+f.hostDir+"/redeploy", map[string]string{"tag": "evil"})
		}, http.StatusForbidden, "only an admin may change it"},
		{"update a service that binds a host folder to a newer image", "POST /api/v1/services/:name/image/update", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/services/"+f.hostDir+"/image/update", nil)
		}, http.StatusForbidden, "only an admin may change it"},
		{"update Berth to a newer image from its page", "POST /services/:name/image/update", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/services/"+f.self+"/image/update", nil)
		}, http.StatusForbidden, "it is Berth itself"},
		{"check Berth's image with its owner's credential", "POST /api/v1/services/:name/image/check", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/services/"+f.self+"/image/check", nil)
		}, http.StatusForbidden, "it is Berth itself"},
		{"check Berth's image from its page", "POST /services/:name/image/check", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/services/"+f.self+"/image/check", nil)
		}, http.StatusForbidden, "it is Berth itself"},
		{"a terminal in a service that binds a host folder", "GET /terminal/:container", func(f *boundaryFixture) (int, string) {
			return f.page("/terminal/" + f.hostDirContainer)
		}, http.StatusForbidden, "would reach the node"},

		// Terminals.
		{"a terminal in Berth's own container", "GET /terminal/:container", func(f *boundaryFixture) (int, string) {
			return f.page("/terminal/" + f.selfContainer)
		}, http.StatusForbidden, "it is Berth itself"},
		{"a terminal socket in Berth's own container", "GET /terminal/:container/ws", func(f *boundaryFixture) (int, string) {
			return f.terminalRefusal(f.selfContainer)
		}, http.StatusForbidden, "it is Berth itself"},
		{"a terminal socket with any program as the shell", "GET /terminal/:container/ws", func(f *boundaryFixture) (int, string) {
			_, id, err := f.cluster.RunningContainer(context.Background(), f.app)
			if err != nil {
				f.t.Fatal(err)
			}
			return f.terminalRefusal(id, "shell", "/bin/busybox")
		}, http.StatusForbidden, "is not one of /bin/bash, /bin/sh, /bin/ash"},

		// Secrets and configs.
		{"rotate Berth's agent key", "POST /api/v1/secrets/:name/versions", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/secrets/"+f.selfSecret+"/versions", map[string]string{"data": "attacker's key"})
		}, http.StatusForbidden, "Berth agents' keys"},
		{"rotate Berth's agent key from its page", "POST /secrets/:name/versions", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/secrets/"+f.selfSecret+"/versions", url.Values{"content": {"attacker's key"}})
		}, http.StatusForbidden, "Berth agents&#39; keys"},
		{"open the new-version form of Berth's key", "GET /secrets/:name/version", func(f *boundaryFixture) (int, string) {
			return f.page("/secrets/" + f.selfSecret + "/version")
		}, http.StatusForbidden, "Berth agents&#39; keys"},
		{"delete Berth's agent key", "DELETE /api/v1/secrets/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodDelete, "/api/v1/secrets/"+f.selfSecret, nil)
		}, http.StatusForbidden, "Berth agents' keys"},
		{"delete Berth's agent key from its page", "POST /secrets/:name/delete", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/secrets/"+f.selfSecret+"/delete", nil)
		}, http.StatusForbidden, "Berth agents&#39; keys"},
		{"rotate the load balancer's config", "POST /api/v1/configs/:name/versions", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/configs/"+f.selfConfig+"/versions", map[string]string{"data": "routes"})
		}, http.StatusForbidden, "load balancer"},
		{"rotate the load balancer's config from its page", "POST /configs/:name/versions", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/configs/"+f.selfConfig+"/versions", url.Values{"content": {"routes"}})
		}, http.StatusForbidden, "load balancer"},
		{"open the new-version form of the load balancer's config", "GET /configs/:name/version", func(f *boundaryFixture) (int, string) {
			return f.page("/configs/" + f.selfConfig + "/version")
		}, http.StatusForbidden, "load balancer"},
		{"delete the load balancer's config", "DELETE /api/v1/configs/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodDelete, "/api/v1/configs/"+f.selfConfig, nil)
		}, http.StatusForbidden, "load balancer"},
		{"delete the load balancer's config from its page", "POST /configs/:name/delete", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/configs/"+f.selfConfig+"/delete", nil)
		}, http.StatusForbidden, "load balancer"},
		{"plant a look-alike of the load balancer's config", "POST /api/v1/configs", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/configs", map[string]string{"name": "berth-lb-dynamic-" + f.tag, "data": "routes"})
		}, http.StatusForbidden, "kept for Berth's own"},
		{"plant a look-alike of an agent key from the form", "POST /secrets", func(f *boundaryFixture) (int, string) {
			return f.formMultipart("/secrets", map[string]string{"name": "berth-agent-key-" + f.tag, "content": "key"})
		}, http.StatusUnprocessableEntity, "kept for Berth&#39;s own"},
		{"plant a look-alike of the load balancer's config from the form", "POST /configs", func(f *boundaryFixture) (int, string) {
			return f.formMultipart("/configs", map[string]string{"name": "berth-lb-x-" + f.tag, "content": "routes"})
		}, http.StatusUnprocessableEntity, "kept for Berth&#39;s own"},
		{"plant a look-alike of an agent key", "POST /api/v1/secrets", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/secrets", map[string]string{"name": "berth-agent-key-" + f.tag, "data": "key"})
		}, http.StatusForbidden, "kept for Berth's own"},

		// Volumes.
		{"map Berth's data volume", "POST /api/v1/volumes", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/volumes", map[string]string{"name": f.selfVolume})
		}, http.StatusForbidden, "Berth's own data"},
		{"map the data volume of Berth's stack file", "POST /api/v1/volumes", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/volumes", map[string]string{"name": bswarm.BerthStack + "_berth-data"})
		}, http.StatusForbidden, "Berth's own data"},
		{"map a volume Berth did not create", "POST /api/v1/volumes", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/volumes", map[string]string{"name": f.foreignVolume})
		}, http.StatusConflict, "only an admin may adopt it"},
		{"adopt a volume Berth did not create", "POST /api/v1/volumes", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/volumes", map[string]any{"name": f.foreignVolume, "adopt": true})
		}, http.StatusConflict, "only an admin may adopt it"},
		{"adopt a volume Berth did not create from the form", "POST /volumes", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/volumes", url.Values{"name": {f.foreignVolume}, "adopt": {"true"}})
		}, http.StatusUnprocessableEntity, "only an admin may adopt it"},
		{"an admin adopts Berth's own data volume", "POST /api/v1/volumes", func(f *boundaryFixture) (int, string) {
			r := f.api(f.t, f.adminToken, http.MethodPost, "/api/v1/volumes", map[string]any{"name": f.selfVolume, "adopt": true})
			return r.Status, r.Body
		}, http.StatusForbidden, "Berth's own data"},
		{"upload into Berth's data volume", "PUT /api/v1/volumes/:name/files", func(f *boundaryFixture) (int, string) {
			req, _ := http.NewRequest(http.MethodPut, f.URL+"/api/v1/volumes/"+f.legacyMapping+"/files?name=master.key&overwrite=true", strings.NewReader("attacker's key"))
			req.Header.Set("Authorization", "Bearer "+f.token)
			p := f.op.do(req)
			return p.Status, p.Body
		}, http.StatusForbidden, "Berth's own data"},
		{"upload into Berth's data volume from the page", "PUT /volumes/:name/files", func(f *boundaryFixture) (int, string) {
			f.op.get("/volumes")
			req, _ := http.NewRequest(http.MethodPut, f.URL+"/volumes/"+f.legacyMapping+"/files?name=master.key&overwrite=true", strings.NewReader("attacker's key"))
			req.Header.Set("X-CSRF-Token", f.op.csrf)
			p := f.op.do(req)
			return p.Status, p.Body
		}, http.StatusForbidden, "Berth's own data"},
		{"delete Berth's data volume", "DELETE /api/v1/volumes/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodDelete, "/api/v1/volumes/"+f.legacyMapping, nil)
		}, http.StatusForbidden, "Berth's own data"},
		{"delete Berth's data volume from the page", "POST /volumes/:name/delete", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/volumes/"+f.legacyMapping+"/delete", nil)
		}, http.StatusForbidden, "Berth&#39;s own data"},
		{"stop Berth around a backup", "POST /backups/modes/:name", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/backups/modes/"+f.legacyMapping, url.Values{"mode": {"stop"}})
		}, http.StatusForbidden, "Berth&#39;s own data"},
		{"restore over Berth's data volume", "POST /api/v1/backups/:id/restore-volume", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/backups/any/restore-volume", map[string]any{"mapping": f.legacyMapping, "node": "any", "target_volume": f.selfVolume})
		}, http.StatusForbidden, "Berth's own data"},
		// Stacks: Berth's own by name, and every service of a compose file through the same rules.
		{"deploy a stack named as Berth's own", "POST /api/v1/stacks", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/stacks", map[string]string{"name": bswarm.BerthStack, "compose": "services:\n  berth:\n    image: evil/berth:1\n"})
		}, http.StatusForbidden, "it is Berth itself"},
		{"update Berth's own stack", "PUT /api/v1/stacks/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPut, "/api/v1/stacks/"+bswarm.BerthStack, map[string]string{"compose": "services:\n  berth:\n    image: evil/berth:1\n"})
		}, http.StatusForbidden, "it is Berth itself"},
		{"update Berth's own stack from its page", "POST /stacks/:name", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/stacks/"+bswarm.BerthStack, url.Values{"compose": {"services:\n  berth:\n    image: evil/berth:1\n"}, "step": {"deploy"}})
		}, http.StatusForbidden, "it is Berth itself"},
		{"remove Berth's own stack", "DELETE /api/v1/stacks/:name", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodDelete, "/api/v1/stacks/"+bswarm.BerthStack, nil)
		}, http.StatusForbidden, "it is Berth itself"},
		{"remove Berth's own stack from its page", "POST /stacks/:name/delete", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/stacks/"+bswarm.BerthStack+"/delete", url.Values{"confirm": {bswarm.BerthStack}})
		}, http.StatusForbidden, "it is Berth itself"},
		{"mount Berth's agent key from a compose file", "POST /api/v1/stacks", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/stacks", map[string]string{"name": f.tag + "-st", "compose": "services:\n  web:\n    image: " + enginetest.BusyboxImage +
				"\n    secrets: [key]\nsecrets:\n  key:\n    external: true\n    name: " + f.selfSecret + "\n"})
		}, http.StatusUnprocessableEntity, "Berth agents' keys"},
		{"mount the Docker socket from a compose file on the page", "POST /stacks", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/stacks", url.Values{"name": {f.tag + "-st"}, "step": {"deploy"}, "compose": {"services:\n  web:\n    image: " + enginetest.BusyboxImage +
				"\n    volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]\n"}})
		}, http.StatusUnprocessableEntity, "services.web.volumes[0]"},
		{"redeploy Berth's own stack", "POST /api/v1/stacks/:name/redeploy", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/stacks/"+bswarm.BerthStack+"/redeploy", map[string]string{"service": "berth", "tag": "evil"})
		}, http.StatusForbidden, "it is Berth itself"},
		{"redeploy Berth's own stack from its page", "POST /stacks/:name/redeploy", func(f *boundaryFixture) (int, string) {
			return f.form(http.MethodPost, "/stacks/"+bswarm.BerthStack+"/redeploy", nil)
		}, http.StatusForbidden, "it is Berth itself"},
		{"take a webhook of Berth's own stack", "POST /api/v1/stacks/:name/webhook", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/stacks/"+bswarm.BerthStack+"/webhook", nil)
		}, http.StatusForbidden, "it is Berth itself"},
		{"open the stack form", "GET /stacks/new", func(f *boundaryFixture) (int, string) {
			return f.page("/stacks/new") // the form itself; what it submits is attacked on POST /stacks
		}, http.StatusOK, "Deploy a stack"},
		{"restore Berth's data into a new volume to read it", "POST /api/v1/backups/:id/restore-volume", func(f *boundaryFixture) (int, string) {
			return f.asOperator(http.MethodPost, "/api/v1/backups/any/restore-volume", map[string]any{"mapping": f.legacyMapping, "node": "any", "target_volume": f.tag + "-copy"})
		}, http.StatusForbidden, "Berth's own data"},
	}
}

// outsideTheBoundary are the operator and admin routes no attack above goes through, each with why none is needed.
var outsideTheBoundary = map[string]string{
	"POST /registries":                         "a user's own registry credentials: no swarm object",
	"POST /registries/:id/password":            "a user's own registry credentials",
	"POST /registries/:id/test":                "a user's own registry credentials",
	"POST /registries/:id/delete":              "a user's own registry credentials",
	"POST /api/v1/registries":                  "a user's own registry credentials",
	"PUT /api/v1/registries/:id":               "a user's own registry credentials",
	"DELETE /api/v1/registries/:id":            "a user's own registry credentials",
	"POST /api/v1/registries/:id/test":         "a user's own registry credentials",
	"DELETE /api/v1/services/:name/webhook":    "revoking a webhook only takes a way in away (a legacy one of Berth's is worth revoking)",
	"DELETE /api/v1/stacks/:name/webhook":      "revoking a webhook only takes a way in away",
	"POST /backups":                            "a snapshot reads; it leaves Berth's own objects out",
	"POST /api/v1/backups":                     "a snapshot reads; it leaves Berth's own objects out",
	"POST /backups/:id/verify":                 "reads a snapshot's files",
	"POST /api/v1/backups/:id/verify":          "reads a snapshot's files",
	"POST /backups/:id/pin":                    "marks a snapshot kept",
	"POST /backups/:id/restore-volume":         "the page calls restoreVolume, the one function the API attacks on restore-volume above go through (a page needs a real snapshot)",
	"POST /backups/:id/restore-objects":        "recreates only missing objects a snapshot holds, and snapshots hold none of Berth's own",
	"GET /api/v1/backups/:id/restore-objects":  "the plan of the above, read-only",
	"POST /api/v1/backups/:id/restore-objects": "recreates only missing objects a snapshot holds, and snapshots hold none of Berth's own",
	"GET /volumes/upload-nodes":                "read-only: where a mapping's tasks run",
	"POST /environment/initialize":             "admin: creates Berth's own network",
	"POST /nodes/join":                         "admin: the swarm's join tokens, no object",
	"POST /nodes/join/rotate":                  "admin: the swarm's join tokens, no object",
	"GET /api/v1/swarm/join":                   "admin: the swarm's join tokens, no object",
	"POST /api/v1/swarm/join/rotate":           "admin: the swarm's join tokens, no object",
	"POST /nodes/:id/remove":                   "admin: drains a worker, removes it once it is down or has left",
	"POST /nodes/:id/remove/cancel":            "admin: calls off a pending removal",
	"GET /settings/sso":                        "admin: the identity provider's settings",
	"POST /settings/sso":                       "admin: the identity provider's settings",
	"POST /settings/sso/recheck":               "admin: asks the provider about its users again",
	"DELETE /api/v1/nodes/:id":                 "admin: removes only a worker that is down or has left (drains one that is up)",
	"GET /team":                                "admin: users, not swarm objects",
	"POST /alerts/:id/ack":                     "an alert is Berth's own record: acknowledging stops its reminders, no swarm object",
	"POST /api/v1/alerts/:id/ack":              "an alert is Berth's own record: acknowledging stops its reminders, no swarm object",
	"POST /alerts/channels":                    "admin: where alerts are sent",
	"POST /alerts/channels/:id/test":           "admin: where alerts are sent",
	"POST /alerts/channels/:id/delete":         "admin: where alerts are sent",
	"POST /alerts/settings":                    "admin: when to alert",
	"GET /api/v1/alerts/channels":              "admin: where alerts are sent",
	"POST /api/v1/alerts/channels":             "admin: where alerts are sent",
	"DELETE /api/v1/alerts/channels/:id":       "admin: where alerts are sent",
	"POST /api/v1/alerts/channels/:id/test":    "admin: where alerts are sent",
	"POST /team":                               "admin: users",
	"POST /team/:id/role":                      "admin: users",
	"POST /team/:id/disabled":                  "admin: users",
	"POST /team/:id/password":                  "admin: users",
	"POST /team/:id/2fa/reset":                 "admin: users",
	"GET /settings":                            "admin: Berth's settings",
	"POST /settings":                           "admin: Berth's settings",
	"GET /recordings":                          "admin: terminal recordings",
	"GET /recordings/:id":                      "admin: terminal recordings",
	"GET /recordings/:id/cast":                 "admin: terminal recordings",
	"POST /nodes/autolock":                     "admin: the Nodes page is where Berth's own swarm settings live",
	"POST /nodes/unlock":                       "admin: the Nodes page",
	"POST /nodes/agent":                        "admin: the agents' own page actions",
	"POST /nodes/agent/rotate":                 "admin: the agents' own page actions",
	"POST /nodes/agent/remove":                 "admin: the agents' own page actions",
	"POST /nodes/:id/role":                     "admin: nodes",
	"POST /nodes/:id/availability":             "admin: nodes",
	"POST /nodes/:id/labels":                   "admin: nodes",
	"POST /nodes/:id/labels/delete":            "admin: nodes",
	"GET /loadbalancer":                        "admin: the load balancer's own page",
	"POST /loadbalancer":                       "admin: the load balancer's own page",
	"POST /loadbalancer/delete":                "admin: the load balancer's own page",
	"GET /api/v1/loadbalancer":                 "admin: the load balancer's own page",
	"POST /api/v1/loadbalancer":                "admin: the load balancer's own page",
	"DELETE /api/v1/loadbalancer":              "admin: the load balancer's own page",
	"GET /backups/offsite":                     "admin: where copies go and the keys that seal them",
	"POST /backups/offsite":                    "admin: where copies go",
	"POST /backups/offsite/remove":             "admin: where copies go",
	"POST /backups/offsite/keys":               "admin: the keys that seal the copies",
	"POST /backups/offsite/keys/import":        "admin: the keys that seal the copies",
	"PUT /api/v1/backups/offsite":              "admin: where copies go",
	"DELETE /api/v1/backups/offsite":           "admin: where copies go",
	"POST /api/v1/backups/offsite/keys":        "admin: the keys that seal the copies",
	"POST /backups/drills":                     "restores a snapshot's archives (none of Berth's own) into scratch volumes it names and removes",
	"POST /api/v1/backups/drills":              "restores a snapshot's archives (none of Berth's own) into scratch volumes it names and removes",
	"POST /backups/drills/schedule":            "admin: when drills run",
	"PUT /api/v1/backups/drills/schedule":      "admin: when drills run",
	"POST /backups/:id/restore-state":          "admin: Berth's own members, settings and audit log",
	"POST /api/v1/backups/:id/restore-state":   "admin: Berth's own members, settings and audit log",
}

// specFields says, for each field of a service spec, the attack that tries it or why it opens no way.
var specFields = map[string]string{
	"name":            "attack: deploy a service named as Berth's load balancer",
	"image":           "attack: run the image Berth's own service runs",
	"tag":             "attack: redeploy Berth with another tag",
	"digest":          "an image's digest: the image check covers the repository",
	"mode":            "replicated or global: no object of Berth's",
	"replicas":        "attack: scale Berth to zero",
	"command":         "runs inside the service's own unprivileged container",
	"args":            "runs inside the service's own unprivileged container",
	"env":             "the service's own environment",
	"secrets":         "attack: mount Berth's agent key",
	"configs":         "attack: mount the load balancer's config",
	"volumes":         "attack: mount Berth's data volume",
	"constraints":     "placement only",
	"preferences":     "placement only",
	"resources":       "limits only",
	"restart_policy":  "the service's own restarts",
	"update_policy":   "the service's own rollouts",
	"rollback_policy": "the service's own rollouts",
	"healthcheck":     "runs inside the service's own container",
	"endpoint_mode":   "vip or dnsrr",
	"ports":           "published ports of the service's own tasks",
	"networks":        "attack: join the host's network",
	"logging":         "the service's own logs",
	"labels":          "attack: route any host with a traefik label",
	"domains":         "checked by the domain editor's rules (host names, conflicts, certificates)",
	"allow_unplaced":  "placement only",
	"mounts":          "attack: mount the Docker socket",
	"privileged":      "attack: run privileged",
	"cap_add":         "attack: add capabilities",
	"devices":         "attack: take the host's devices",
	"network_mode":    "attack: join the host's network namespace",
	"pid":             "attack: share the host's processes",
}

func TestOperatorCannotReachBerthsOwnObjectsOrTheNode(t *testing.T) {
	f := newBoundaryFixture(t)
	attacks := f.attacks()

	// Every operator or admin route that changes something or names an object is either attacked below or said to be outside.
	tried := map[string]bool{}
	for _, a := range attacks {
		tried[a.route] = true
	}
	for _, r := range f.handler.Routes() {
		key := r.Method + " " + r.Path
		if r.MinRole.Rank() < store.RoleOperator.Rank() && !r.Hook {
			continue
		}
		if r.Method == http.MethodGet && !strings.Contains(r.Path, ":") && r.MinRole != store.RoleAdmin {
			continue // an operator's list page: reads the live model
		}
		if r.Method == http.MethodGet && strings.HasPrefix(r.Path, "/api/") {
			continue // API reads
		}
		if !tried[key] && outsideTheBoundary[key] == "" {
			t.Errorf("route %s is neither attacked in this file nor said to be outside the boundary", key)
		}
	}
	// Every field of the spec is tried by an attack or said to open no way.
	names := map[string]bool{}
	for _, a := range attacks {
		names[a.name] = true
	}
	st := reflect.TypeOf(bswarm.ServiceSpec{})
	for i := 0; i < st.NumField(); i++ {
		field, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		why, ok := specFields[field]
		switch {
		case !ok:
			t.Errorf("spec field %s is neither attacked in this file nor said to open no way", field)
		case strings.HasPrefix(why, "attack: ") && !names[strings.TrimPrefix(why, "attack: ")]:
			t.Errorf("spec field %s names the attack %q, which is not in the table", field, strings.TrimPrefix(why, "attack: "))
		}
	}

	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			f.t = t
			before := f.state(t)
			auditBefore := f.auditCount(t)
			status, body := a.send(f)
			if status != a.status || !strings.Contains(body, a.says) {
				t.Fatalf("%s: status %d, want %d saying %q\n%s", a.route, status, a.status, a.says, truncate(body, 1500))
			}
			time.Sleep(300 * time.Millisecond) // anything the engine would do, it would have begun
			if after := f.state(t); after != before {
				t.Errorf("%s changed the swarm or the store:\nbefore:\n%s\nafter:\n%s", a.route, before, after)
			}
			// A refused change is an audit record (a refused page view is not, but a terminal is).
			audited := !strings.HasPrefix(a.route, "GET ") || strings.HasPrefix(a.route, "GET /terminal/")
			if audited && (a.status == http.StatusForbidden || a.status == http.StatusConflict) && f.auditCount(t) == auditBefore {
				t.Errorf("%s: the refusal left no audit record", a.route)
			}
		})
	}
	f.t = t

	t.Run("allowed: an admin adopts a volume Berth did not create, seeing what uses it", func(t *testing.T) {
		r := f.api(t, f.adminToken, http.MethodPost, "/api/v1/volumes", map[string]any{"name": f.foreignVolume})
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, "tick") {
			t.Fatalf("an admin mapping an existing volume without adopting: %d %s", r.Status, r.Body)
		}
		f.mustAPI(t, f.adminToken, http.MethodPost, "/api/v1/volumes", map[string]any{"name": f.foreignVolume, "adopt": true}, http.StatusCreated)
		if !f.auditHas(t, "volume.adopt", "volume:"+f.foreignVolume) {
			t.Error("the adoption is not in the audit log")
		}
	})
	t.Run("allowed: a stack's service keeps its labels when an operator changes its environment", func(t *testing.T) {
		f.mustAPI(t, f.token, http.MethodPatch, "/api/v1/services/"+f.stacked, map[string]any{"env": map[string]string{"A": "1"}}, http.StatusOK)
		svc, _, err := f.docker.ServiceInspectWithRaw(context.Background(), f.stacked, swarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if svc.Spec.Labels["traefik.http.routers.shop.rule"] != "Host(`shop.example`)" || svc.Spec.Labels["com.docker.stack.namespace"] != "shop" {
			t.Errorf("the stack's labels changed: %v", svc.Spec.Labels)
		}
		if p := f.op.get("/services/" + f.stacked); !strings.Contains(p.Body, "labels Berth keeps for itself") {
			t.Error("the service page does not warn of the labels Berth keeps")
		}
	})
	t.Run("shown: Berth's own service reads as Berth's, without actions", func(t *testing.T) {
		p := f.op.get("/services/" + f.self)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="service-reserved"`) || !strings.Contains(p.Body, "it is Berth itself") || strings.Contains(p.Body, `id="actions"`) {
			t.Errorf("Berth's own service page: status %d, reserved note %v, actions %v", p.Status,
				strings.Contains(p.Body, `id="service-reserved"`), strings.Contains(p.Body, `id="actions"`))
		}
		if p := f.op.get("/containers"); !strings.Contains(p.Body, "no terminal: it is Berth itself") {
			t.Error("the containers page offers a terminal in Berth's own container")
		}
	})
}

// terminalRefusal opens the terminal socket and returns the refusal it closes with (403 when it refuses).
