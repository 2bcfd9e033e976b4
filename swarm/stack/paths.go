package stack

import (
	"regexp"
	"strings"
)

// fieldPrefixes turn the leading part of a Berth spec field into the compose key it came from.
var fieldPrefixes = []struct{ berth, compose string }{
	{"args", "command"}, {"command", "entrypoint"}, {"env", "environment"}, {"tag", "image"}, {"digest", "image"},
	{"replicas", "deploy.replicas"}, {"mode", "deploy.mode"}, {"labels", "deploy.labels"}, {"endpoint_mode", "deploy.endpoint_mode"},
	{"constraints", "deploy.placement.constraints"}, {"preferences", "deploy.placement.preferences"},
	{"resources", "deploy.resources"}, {"restart_policy", "deploy.restart_policy"},
	{"update_policy", "deploy.update_config"}, {"rollback_policy", "deploy.rollback_config"}, {"domains", DomainsKey},
}

var listItem = regexp.MustCompile(`^(volumes|mounts|ports)\[(\d+)\]`)

// Path names a field of a service's Berth spec (as Validate and the boundary report
// it, "mounts[0]") by where it is in the compose file ("services.web.volumes[1]").
func (s Service) Path(field string) string {
	at := "services." + s.Key
	if field == "name" {
		return at
	}
	if m := listItem.FindStringSubmatch(field); m != nil {
		if p, ok := s.items[m[0]]; ok {
			return at + "." + p + field[len(m[0]):]
		}
	}
	for _, p := range fieldPrefixes {
		if field == p.berth || strings.HasPrefix(field, p.berth+".") || strings.HasPrefix(field, p.berth+"[") {
			return at + "." + p.compose + field[len(p.berth):]
		}
	}
	return at + "." + field
}

// Check applies Berth's rules for every service (those a deploy form applies, without
// the engine) and names each refusal by its place in the compose file.
func (p Plan) Check() map[string]string {
	errs := map[string]string{}
	for _, s := range p.Services {
		spec := s.Spec
		for field, msg := range spec.Validate() {
			errs[s.Path(field)] = msg
		}
	}
	return errs
}
