package stack

import (
	"context"
	"strings"
	"testing"

	"github.com/berthhq/berth/swarm"
)

const shop = `
services:
  web:
    image: registry.example.com/shop/web:${TAG:-1.0}
    command: ["serve", "--port", "8080"]
    environment:
      MODE: production
      API_KEY:
    ports:
      - target: 8080
        published: 8443
        mode: host
    configs:
      - source: site
        target: /etc/site.conf
    secrets: [db_password]
    deploy:
      replicas: 2
      labels: {team: shop}
      placement:
        constraints: [node.role==worker]
      resources:
        limits: {cpus: "0.5", memory: 256M}
      update_config: {parallelism: 1, delay: 10s, failure_action: rollback, order: start-first}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://localhost:8080/health"]
      interval: 30s
      retries: 3
    x-team-notes: ignored
  db:
    image: postgres:16
    volumes:
      - data:/var/lib/postgresql/data
    secrets:
      - source: db_password
        target: pg_pw
        mode: 0400
  worker:
    image: busybox@sha256:` + strings65 + `
    entrypoint: ["sh", "-c"]
    command: ["sleep 1000"]
    deploy: {mode: global}
    networks: [back, shared]
volumes:
  data:
networks:
  back: {attachable: true}
  shared: {external: true, name: berth}
configs:
  site: {file: ./site.conf}
secrets:
  db_password: {file: pw.txt}
`

const strings65 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseTurnsAComposeFileIntoTheStacksObjects(t *testing.T) {
	p, err := Parse(context.Background(), Input{Name: "shop", Compose: shop, Env: "TAG=2.1\nAPI_KEY=k3y\n",
		Files: map[string]string{"site.conf": "listen 8080", "pw.txt": "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]swarm.ServiceSpec{}
	for _, s := range p.Services {
		byKey[s.Key] = s.Spec
	}
	web, db, worker := byKey["web"], byKey["db"], byKey["worker"]
	checks := []struct {
		what      string
		got, want any
	}{
		{"web's name", web.Name, "shop_web"},
		{"web's image, interpolated", web.Reference(), "registry.example.com/shop/web:2.1"},
		{"web's command", strings.Join(web.Args, " "), "serve --port 8080"},
		{"web's value from the .env text", web.Env["API_KEY"], "k3y"},
		{"web's replicas", *web.Replicas, uint64(2)},
		{"web's host port", web.Ports[0], swarm.Port{Target: 8080, Published: 8443, Protocol: "tcp", Mode: "host"}},
		{"web's config", web.Configs[0], swarm.FileRef{Name: "shop_site", Target: "/etc/site.conf"}},
		{"web's secret, at its default target", web.Secrets[0], swarm.FileRef{Name: "shop_db_password", Target: "/run/secrets/db_password"}},
		{"web's label", web.Labels["team"], "shop"},
		{"web's constraint", web.Constraints[0], "node.role==worker"},
		{"web's limits", *web.Resources, swarm.Resources{LimitCPUs: 0.5, LimitMemory: "268435456"}},
		{"web's update policy", *web.UpdatePolicy, swarm.UpdatePolicy{Parallelism: 1, Delay: "10s", FailureAction: "rollback", Order: "start-first"}},
		{"web's healthcheck", web.HealthCheck.Interval + " " + strings.Join(web.HealthCheck.Test, " "), "30s CMD wget -q -O- http://localhost:8080/health"},
		{"web's network: the stack's default", strings.Join(web.Networks, ","), "shop_default"},
		{"db's volume mapping", db.Volumes[0], swarm.VolumeRef{Mapping: "shop_data", Target: "/var/lib/postgresql/data"}},
		{"db's secret with target and mode", db.Secrets[0], swarm.FileRef{Name: "shop_db_password", Target: "pg_pw", Mode: "0400"}},
		{"worker's digest", worker.Digest, "sha256:" + strings65},
		{"worker's entrypoint and command", strings.Join(worker.Command, " ") + " | " + strings.Join(worker.Args, " "), "sh -c | sleep 1000"},
		{"worker's mode", worker.Mode, "global"},
		{"worker's networks", strings.Join(worker.Networks, ","), "berth,shop_back"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	objects := map[string]Object{}
	for _, o := range p.Objects {
		objects[o.Name] = o
	}
	if o := objects["shop_site"]; string(o.Data) != "listen 8080" || o.Kind != swarm.KindConfig || o.Labels[NamespaceLabel] != "shop" {
		t.Errorf("config: %+v", o)
	}
	if o := objects["shop_db_password"]; string(o.Data) != "s3cret" || o.Kind != swarm.KindSecret {
		t.Errorf("secret: %+v", o)
	}
	nets := map[string]Network{}
	for _, n := range p.Networks {
		nets[n.Name] = n
	}
	if !nets["shop_back"].Attachable || nets["shop_back"].Labels[NamespaceLabel] != "shop" || !nets["berth"].External || nets["shop_default"].Name == "" {
		t.Errorf("networks: %+v", p.Networks)
	}
	if len(p.Volumes) != 1 || p.Volumes[0].Name != "shop_data" {
		t.Errorf("volumes: %+v", p.Volumes)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings for a file Berth supports in full: %+v", p.Warnings)
	}
	if errs := p.Check(); len(errs) != 0 {
		t.Errorf("Berth's rules refuse a valid file: %v", errs)
	}
}

// Every refusal names the service and the key, as the compose file spells them.
func TestParseAndCheckRefuseByPlace(t *testing.T) {
	for _, tc := range []struct {
		name, compose, path, says string
	}{
		{"bind mount", "services:\n  web:\n    image: nginx\n    volumes: [\"/etc:/host-etc\"]\n", "services.web.volumes[0]", "Bind mounts of the host's filesystem are refused"},
		{"the socket", "services:\n  web:\n    image: nginx\n    volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]\n", "services.web.volumes[0]", "Docker socket"},
		{"bind after a named volume", "services:\n  web:\n    image: nginx\n    volumes: [\"data:/data\", \"/srv:/srv\"]\nvolumes:\n  data:\n", "services.web.volumes[1]", "Bind mounts"},
		{"privileged", "services:\n  web:\n    image: nginx\n    privileged: true\n", "services.web.privileged", "Privileged services are refused"},
		{"capabilities", "services:\n  web:\n    image: nginx\n    cap_add: [SYS_ADMIN]\n", "services.web.cap_add", "Adding capabilities is refused"},
		{"host network", "services:\n  web:\n    image: nginx\n    network_mode: host\n", "services.web.network_mode", "host's network namespace is refused"},
		{"host pid", "services:\n  web:\n    image: nginx\n    pid: host\n", "services.web.pid", "process namespace is refused"},
		{"devices", "services:\n  web:\n    image: nginx\n    devices: [\"/dev/sda:/dev/sda\"]\n", "services.web.devices", "host devices is refused"},
		{"routing label", "services:\n  web:\n    image: nginx\n    deploy:\n      labels: {traefik.enable: \"true\"}\n", "services.web.deploy.labels.traefik.enable", "domain editor"},
		{"docker's label", "services:\n  web:\n    image: nginx\n    deploy:\n      labels: {com.docker.stack.namespace: other}\n", "services.web.deploy.labels.com.docker.stack.namespace", "Docker itself"},
		{"anonymous volume", "services:\n  web:\n    image: nginx\n    volumes: [\"/data\"]\n", "services.web.volumes[0]", "Name the volume"},
		{"undeclared volume", "services:\n  web:\n    image: nginx\n    volumes:\n      - type: volume\n        source: nope\n        target: /data\n", "compose", "undefined volume nope"},
		{"bad replicas", "services:\n  web:\n    image: nginx\n    deploy: {replicas: 100000}\n", "services.web.deploy.replicas", "replicas"},
		{"job mode", "services:\n  web:\n    image: nginx\n    deploy: {mode: replicated-job}\n", "services.web.deploy.mode", "not replicated-job"},
		{"bad env name", "services:\n  web:\n    image: nginx\n    environment: {\"1BAD\": x}\n", "services.web.environment.1BAD", "not a valid variable name"},
		{"bad memory", "services:\n  web:\n    image: nginx\n    deploy:\n      resources:\n        limits: {cpus: \"-1\"}\n", "services.web.deploy.resources", "negative"},
		{"no image", "services:\n  web:\n    command: [x]\n", "compose", "neither an image nor a build context"},
		{"missing config file", "services:\n  web:\n    image: nginx\n    configs: [site]\nconfigs:\n  site: {file: site.conf}\n", "configs.site.file", "Give the content of site.conf"},
		{"secret from an unset variable", "services:\n  web:\n    image: nginx\n    secrets: [pw]\nsecrets:\n  pw: {environment: PW}\n", "secrets.pw.environment", "PW is not set"},
		{"bridge network", "services:\n  web:\n    image: nginx\nnetworks:\n  lan: {driver: bridge}\n", "networks.lan.driver", "overlay"},
		{"bad stack name", "", "name", "letters, digits"},
		{"not YAML", "services: [: :\n", "compose", "not valid"},
		{"undeclared secret", "services:\n  web:\n    image: nginx\n    secrets: [nope]\n", "compose", "not valid"},
		{"bad domain", "services:\n  web:\n    image: nginx\n    networks: [berth]\n    x-berth-domains: [{host: \"not a host\", port: 80}]\nnetworks:\n  berth: {external: true}\n", "services.web.x-berth-domains[0].host", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "app"
			if tc.name == "bad stack name" {
				name, tc.compose = "bad name!", "services:\n  web:\n    image: nginx\n"
			}
			p, err := Parse(context.Background(), Input{Name: name, Compose: tc.compose})
			errs := map[string]string{}
			if inv, ok := err.(*Invalid); ok {
				errs = inv.Fields
			} else if err != nil {
				t.Fatal(err)
			} else {
				errs = p.Check()
			}
			msg, ok := errs[tc.path]
			if !ok || !strings.Contains(msg, tc.says) {
				t.Errorf("refusals %v, want %s: …%s…", errs, tc.path, tc.says)
			}
		})
	}
}

// Keys Berth does not apply are listed before deploying, never dropped silently; x- keys are the file's own.
func TestParseWarnsOfEveryKeyItDoesNotApply(t *testing.T) {
	compose := `
services:
  web:
    image: nginx
    build: .
    container_name: web1
    depends_on: [db]
    restart: always
    env_file: /etc/shadow
    labels: {a: b}
    user: "1000"
    stop_grace_period: 30s
    volumes:
      - type: tmpfs
        target: /cache
    ports: ["127.0.0.1:8080:80"]
    environment: [UNSET]
    x-anything: {deep: [1, 2]}
  db:
    image: postgres
    ulimits: {nofile: 1024}
x-shared: &shared {a: 1}
volumes:
  data: {driver: nfs}
`
	p, err := Parse(context.Background(), Input{Name: "app", Compose: compose})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, w := range p.Warnings {
		got[w.Path] = w.Message
	}
	for path, says := range map[string]string{
		"services.web.build": "build and push", "services.web.container_name": "names each task", "services.web.depends_on": "any order",
		"services.web.restart": "deploy.restart_policy", "services.web.env_file": "no files", "services.web.labels": "deploy.labels",
		"services.web.user": "does not support", "services.web.stop_grace_period": "does not support", "services.web.volumes[0]": "tmpfs",
		"services.web.ports[0]": "127.0.0.1", "services.web.environment.UNSET": "not set in the .env text", "services.db.ulimits": "does not support",
		"volumes.data.driver": "does not support",
	} {
		if !strings.Contains(got[path], says) {
			t.Errorf("warning at %s: %q, want …%s…", path, got[path], says)
		}
	}
	for path := range got {
		if strings.Contains(path, "x-") {
			t.Errorf("an x- key is warned of: %s", path)
		}
	}
}

// Variables come from the .env text only: defaults apply, a required one refuses, and
// Berth's own environment is never read.
func TestParseInterpolatesFromTheEnvTextOnly(t *testing.T) {
	t.Setenv("BERTH_SECRET_OF_THE_HOST", "leaked")
	for _, tc := range []struct {
		name, image, env, want, refusal string
	}{
		{"given", "nginx:${TAG}", "TAG=1.27", "nginx:1.27", ""},
		{"default", "nginx:${TAG:-1.26}", "", "nginx:1.26", ""},
		{"quoted value", "nginx:${TAG}", "TAG=\"1.25\"", "nginx:1.25", ""},
		{"the host's environment", "nginx:${BERTH_SECRET_OF_THE_HOST:-safe}", "", "nginx:safe", ""},
		{"required and missing", "nginx:${TAG:?set TAG in the .env text}", "", "", "set TAG in the .env text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(context.Background(), Input{Name: "app", Compose: "services:\n  web:\n    image: " + tc.image + "\n", Env: tc.env})
			if tc.refusal != "" {
				if inv, ok := err.(*Invalid); !ok || !strings.Contains(inv.Fields["compose"], tc.refusal) {
					t.Errorf("got %v, want a refusal saying %q", err, tc.refusal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Services[0].Spec.Reference(); got != tc.want {
				t.Errorf("image %q, want %q", got, tc.want)
			}
		})
	}
}
