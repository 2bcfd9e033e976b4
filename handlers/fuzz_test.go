package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// parsePosted reads a posted deploy form as the Deploy handler does.
func parsePosted(v url.Values) views.DeployForm {
	req := httptest.NewRequest(http.MethodPost, "/services/new", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return parseDeployForm(echo.New().NewContext(req, httptest.NewRecorder()))
}

// posted is what a browser sends back of the form as the page shows it (the field names of views/deploy.templ).
func posted(f views.DeployForm) url.Values {
	v := url.Values{"name": {f.Name}, "image": {f.Image}, "tag": {f.Tag}, "digest": {f.Digest}, "mode": {f.Mode}, "replicas": {f.Replicas},
		"command": {f.Command}, "args": {f.Args}, "constraints": {f.Constraints}, "preferences": {f.Preferences},
		"limit_cpus": {f.LimitCPUs}, "limit_memory": {f.LimitMemory}, "reserve_cpus": {f.ReserveCPUs}, "reserve_memory": {f.ReserveMem},
		"restart": {f.Restart}, "restart_delay": {f.RestartDelay}, "update_parallelism": {f.UpdateParallelism}, "update_delay": {f.UpdateDelay},
		"update_failure": {f.UpdateFailure}, "update_order": {f.UpdateOrder}, "rollback_order": {f.RollbackOrder},
		"rollback_parallelism": {f.RollbackParallelism}, "rollback_delay": {f.RollbackDelay}, "rollback_failure": {f.RollbackFailure},
		"health_cmd": {f.HealthCmd}, "health_interval": {f.HealthInterval}, "endpoint_mode": {f.EndpointMode}, "networks": {f.Networks},
		"log_driver": {f.LogDriver}, "log_options": {f.LogOptions}}
	if f.AllowUnplaced {
		v.Set("allow_unplaced", "true")
	}
	for _, kv := range f.Env {
		v.Add("env_key", kv.Key)
		v.Add("env_value", kv.Value)
	}
	for _, p := range f.Ports {
		v.Add("port_target", p.Target)
		v.Add("port_published", p.Published)
		v.Add("port_protocol", p.Protocol)
		v.Add("port_mode", p.Mode)
	}
	for _, d := range f.Domains {
		v.Add("domain_host", d.Host)
		v.Add("domain_port", d.Port)
		v.Add("domain_path", d.Path)
	}
	return v
}

func FuzzDeployFormConversion(f *testing.F) {
	f.Add("app", "busybox", "1", "KEY", "value", "sleep\n3600", "8080", "80", "max-size=10m", "berth", "0.5", "512M")
	f.Add("x", "Not An/Image", "-1", "1BAD", "", "", "0", "70000", "novalue", "host,berth", "lots", "1Q")
	f.Add("db", "postgres", "3", "A=B", "x", " \n ", "5432", "", "a=b=c", " , ", "", "")
	f.Fuzz(func(t *testing.T, name, image, replicas, envKey, envValue, command, target, published, logOptions, networks, cpus, memory string) {
		form := posted(newDeployForm())
		for k, v := range map[string]string{"name": name, "image": image, "replicas": replicas, "command": command, "log_options": logOptions,
			"networks": networks, "limit_cpus": cpus, "limit_memory": memory} {
			form.Set(k, v)
		}
		form["env_key"], form["env_value"] = []string{envKey}, []string{envValue}
		form["port_target"], form["port_published"] = []string{target}, []string{published}
		spec, errs := toSpec(parsePosted(form))
		for field, msg := range spec.Validate() {
			errs.Add(field, msg)
		}
		if errs.Any() {
			for field, msg := range errs {
				if msg == "" {
					t.Fatalf("field %s refused without a message", field)
				}
			}
			return
		}
		// What the form accepted, shown again as the edit form and sent back, is the same spec.
		again, errs := toSpec(parsePosted(posted(formFromSpec(spec))))
		if errs.Any() {
			t.Fatalf("the edit form of an accepted spec is refused: %v\n%+v", errs, spec)
		}
		a, _ := json.Marshal(spec)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Fatalf("the spec changed through the edit form:\n%s\n%s", a, b)
		}
	})
}

func TestTheEditFormShowsTheSpecsRowsWithoutEmptyOnesBefore(t *testing.T) {
	f := formFromSpec(swarm.ServiceSpec{Name: "app", Image: "busybox", Secrets: []swarm.FileRef{{Name: "db"}}, Configs: []swarm.FileRef{{Name: "conf", Target: "/etc/c"}},
		Volumes: []swarm.VolumeRef{{Mapping: "data", Target: "/data"}}})
	if len(f.Secrets) != 1 || f.Secrets[0].Name != "db" || len(f.Configs) != 1 || f.Configs[0].Name != "conf" || len(f.Volumes) != 1 || f.Volumes[0].Mapping != "data" {
		t.Errorf("rows %+v %+v %+v", f.Secrets, f.Configs, f.Volumes)
	}
}
