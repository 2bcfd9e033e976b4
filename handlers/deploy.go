package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// newDeployForm is the empty form with Berth's defaults.
func newDeployForm() views.DeployForm {
	return views.DeployForm{Mode: "replicated", Replicas: "1", Env: []views.KV{{}}, Secrets: []views.FileRow{{}}, Configs: []views.FileRow{{}},
		Volumes: []views.VolumeRow{{}}, Restart: "any", UpdateParallelism: "1",
		UpdateFailure: "pause", UpdateOrder: "stop-first", RollbackOrder: "stop-first", RollbackParallelism: "1", RollbackFailure: "pause", LogDriver: "json-file",
		LogOptions: "max-file=3\nmax-size=10m"}
}

// lines splits a text area into its non-empty, trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// parseDeployForm reads the posted form; rows left empty are dropped.
func parseDeployForm(c echo.Context) views.DeployForm {
	form, _ := c.FormParams()
	at := func(name string, i int) string {
		if v := form[name]; i < len(v) {
			return strings.TrimSpace(v[i])
		}
		return ""
	}
	f := views.DeployForm{
		Name: strings.TrimSpace(c.FormValue("name")), Image: strings.TrimSpace(c.FormValue("image")), Tag: strings.TrimSpace(c.FormValue("tag")),
		Digest: strings.TrimSpace(c.FormValue("digest")), Mode: c.FormValue("mode"), Replicas: strings.TrimSpace(c.FormValue("replicas")),
		Command: c.FormValue("command"), Args: c.FormValue("args"), Constraints: c.FormValue("constraints"), Preferences: c.FormValue("preferences"),
		LimitCPUs: strings.TrimSpace(c.FormValue("limit_cpus")), LimitMemory: strings.TrimSpace(c.FormValue("limit_memory")),
		ReserveCPUs: strings.TrimSpace(c.FormValue("reserve_cpus")), ReserveMem: strings.TrimSpace(c.FormValue("reserve_memory")),
		Restart: c.FormValue("restart"), RestartDelay: strings.TrimSpace(c.FormValue("restart_delay")),
		UpdateParallelism: strings.TrimSpace(c.FormValue("update_parallelism")), UpdateDelay: strings.TrimSpace(c.FormValue("update_delay")),
		UpdateFailure: c.FormValue("update_failure"), UpdateOrder: c.FormValue("update_order"), RollbackOrder: c.FormValue("rollback_order"),
		RollbackParallelism: strings.TrimSpace(c.FormValue("rollback_parallelism")), RollbackDelay: strings.TrimSpace(c.FormValue("rollback_delay")),
		RollbackFailure: c.FormValue("rollback_failure"), AllowUnplaced: c.FormValue("allow_unplaced") == "true",
		HealthCmd: strings.TrimSpace(c.FormValue("health_cmd")), HealthInterval: strings.TrimSpace(c.FormValue("health_interval")),
		EndpointMode: c.FormValue("endpoint_mode"), Networks: c.FormValue("networks"),
		LogDriver: strings.TrimSpace(c.FormValue("log_driver")), LogOptions: c.FormValue("log_options"),
	}
	for i := range form["env_key"] {
		if k, v := at("env_key", i), form["env_value"]; k != "" || (i < len(v) && v[i] != "") {
			val := ""
			if i < len(v) {
				val = v[i]
			}
			f.Env = append(f.Env, views.KV{Key: k, Value: val})
		}
	}
	for _, kind := range []string{"secret", "config"} {
		for i := range form[kind+"_name"] {
			r := views.FileRow{Name: at(kind+"_name", i), Target: at(kind+"_target", i), UID: at(kind+"_uid", i), GID: at(kind+"_gid", i), Mode: at(kind+"_mode", i)}
			if r == (views.FileRow{}) {
				continue
			}
			if kind == "secret" {
				f.Secrets = append(f.Secrets, r)
			} else {
				f.Configs = append(f.Configs, r)
			}
		}
	}
	for i := range form["volume_mapping"] {
		if m, t := at("volume_mapping", i), at("volume_target", i); m != "" || t != "" {
			f.Volumes = append(f.Volumes, views.VolumeRow{Mapping: m, Target: t, ReadOnly: at("volume_ro", i) == "ro"})
		}
	}
	for i := range form["port_target"] {
		if t, p := at("port_target", i), at("port_published", i); t != "" || p != "" {
			f.Ports = append(f.Ports, views.PortRow{Target: t, Published: p, Protocol: at("port_protocol", i), Mode: at("port_mode", i)})
		}
	}
	f.Domains = parseDomainRows(c)
	return f
}

// addRow gives the form one more empty row of the kind the "Add" button named.
func addRow(f *views.DeployForm, kind string) bool {
	switch kind {
	case "env":
		f.Env = append(f.Env, views.KV{})
	case "secret":
		f.Secrets = append(f.Secrets, views.FileRow{Mode: "0400"})
	case "config":
		f.Configs = append(f.Configs, views.FileRow{Mode: "0444"})
	case "volume":
		f.Volumes = append(f.Volumes, views.VolumeRow{})
	case "port":
		f.Ports = append(f.Ports, views.PortRow{Protocol: "tcp", Mode: "ingress"})
	case "domain":
		f.Domains = append(f.Domains, views.DomainRow{})
	default:
		return false
	}
	return true
}

// withChoices lists the secrets, configs and mappings the form's selects offer.
func (h *Handlers) withChoices(c echo.Context, f *views.DeployForm) {
	ctx := c.Request().Context()
	for kind, dst := range map[swarm.Kind]*[]string{swarm.KindSecret: &f.SecretNames, swarm.KindConfig: &f.ConfigNames} {
		if list, err := h.engine.Objects(ctx, kind); err == nil {
			for _, o := range list {
				*dst = append(*dst, o.Name)
			}
		}
	}
	if maps, err := h.store.VolumeMappings(ctx); err == nil {
		for _, m := range maps {
			f.MappingNames = append(f.MappingNames, m.Name)
		}
	}
}

func (h *Handlers) renderDeploy(c echo.Context, status int, f views.DeployForm) error {
	h.withChoices(c, &f)
	// A form sent back (refused, or a row added) keeps a row to type into in every list.
	if len(f.Env) == 0 {
		f.Env = []views.KV{{}}
	}
	if len(f.Secrets) == 0 {
		f.Secrets = []views.FileRow{{}}
	}
	if len(f.Configs) == 0 {
		f.Configs = []views.FileRow{{}}
	}
	if len(f.Volumes) == 0 {
		f.Volumes = []views.VolumeRow{{}}
	}
	title := "Deploy a service"
	if f.Editing {
		title = "Edit " + f.Name
	}
	p := h.page(c, title, "services")
	return h.render(c, status, p, views.DeployPage(p, f))
}

// DeployPage shows the empty deploy form.
func (h *Handlers) DeployPage(c echo.Context) error {
	return h.renderDeploy(c, http.StatusOK, newDeployForm())
}

// EditPage shows the deploy form filled from the service.
func (h *Handlers) EditPage(c echo.Context) error {
	s, err := h.engine.Service(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	if err := h.engine.CheckService(c.Request().Context(), s.Spec.Name, isAdmin(c)); err != nil {
		return err // the form of a service out of reach is not offered
	}
	return h.renderDeploy(c, http.StatusOK, formFromSpec(s.Spec))
}

// Deploy creates a service from the form (or, editing, replaces its spec).
func (h *Handlers) Deploy(c echo.Context) error {
	f := parseDeployForm(c)
	if c.Param("name") != "" {
		f.Editing, f.Name = true, c.Param("name")
	}
	if addRow(&f, c.FormValue("add")) {
		return h.renderDeploy(c, http.StatusOK, f)
	}
	spec, errs := toSpec(f)
	for field, msg := range spec.Validate() { // every message at once, not only the form's own
		errs.Add(field, msg)
	}
	if !errs.Any() {
		name := ""
		if f.Editing {
			name = f.Name
		}
		var err error
		_, errs, err = h.deploy(c, name, spec)
		if errors.Is(err, swarm.ErrRefused) {
			return err
		}
		if err != nil {
			errs.Add("form", "The engine refused: "+err.Error())
		}
	}
	if errs.Any() {
		f.Errors = errs
		return h.renderDeploy(c, http.StatusUnprocessableEntity, f)
	}
	notice := "Deployed " + spec.Name + "; its tasks follow below."
	if f.Editing {
		notice = "Saved " + spec.Name + "; the swarm is rolling it out."
	}
	return h.redirectNotice(c, "/services/"+spec.Name, notice)
}
