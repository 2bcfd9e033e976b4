package stack

import (
	"strings"

	"github.com/compose-spec/compose-go/v2/tree"
)

// supportedPaths are the compose attributes Berth turns into swarm objects, as
// compose-go's attribute paths ("*" any key, "[]" any list item). Every other
// attribute of a file is listed as a warning before deploying: it is not applied.
var supportedPaths = paths(
	"name", "version",
	"services.*.image",
	"services.*.command", "services.*.command.[]",
	"services.*.entrypoint", "services.*.entrypoint.[]",
	"services.*.environment", "services.*.environment.*", "services.*.environment.[]",
	"services.*.healthcheck.test", "services.*.healthcheck.test.[]", "services.*.healthcheck.interval", "services.*.healthcheck.timeout",
	"services.*.healthcheck.retries", "services.*.healthcheck.start_period", "services.*.healthcheck.disable",
	"services.*.ports", "services.*.ports.[]",
	"services.*.ports.[].target", "services.*.ports.[].published", "services.*.ports.[].protocol", "services.*.ports.[].mode",
	"services.*.ports.[].host_ip", // warned of by the converter, in its own words
	"services.*.volumes", "services.*.volumes.[]",
	"services.*.volumes.[].type", "services.*.volumes.[].source", "services.*.volumes.[].target", "services.*.volumes.[].read_only",
	"services.*.volumes.[].volume", "services.*.volumes.[].bind", "services.*.volumes.[].bind.create_host_path", // the short syntax's long form
	"services.*.secrets", "services.*.secrets.[]", "services.*.configs", "services.*.configs.[]",
	"services.*.secrets.[].source", "services.*.secrets.[].target", "services.*.secrets.[].uid", "services.*.secrets.[].gid", "services.*.secrets.[].mode",
	"services.*.configs.[].source", "services.*.configs.[].target", "services.*.configs.[].uid", "services.*.configs.[].gid", "services.*.configs.[].mode",
	"services.*.networks", "services.*.networks.[]", "services.*.networks.*",
	"services.*.logging.driver", "services.*.logging.options", "services.*.logging.options.*",
	// Refused for everyone but still read, so the refusal names them instead of a warning.
	"services.*.privileged", "services.*.cap_add", "services.*.cap_add.[]", "services.*.devices", "services.*.devices.[]",
	"services.*.network_mode", "services.*.pid",
	"services.*.deploy.mode", "services.*.deploy.replicas", "services.*.deploy.endpoint_mode",
	"services.*.deploy.labels", "services.*.deploy.labels.*", "services.*.deploy.labels.[]",
	"services.*.deploy.placement.constraints", "services.*.deploy.placement.constraints.[]",
	"services.*.deploy.placement.preferences", "services.*.deploy.placement.preferences.[]", "services.*.deploy.placement.preferences.[].spread",
	"services.*.deploy.resources.limits.cpus", "services.*.deploy.resources.limits.memory",
	"services.*.deploy.resources.reservations.cpus", "services.*.deploy.resources.reservations.memory",
	"services.*.deploy.restart_policy.condition", "services.*.deploy.restart_policy.delay", "services.*.deploy.restart_policy.max_attempts", "services.*.deploy.restart_policy.window",
	"services.*.deploy.update_config.parallelism", "services.*.deploy.update_config.delay", "services.*.deploy.update_config.failure_action",
	"services.*.deploy.update_config.monitor", "services.*.deploy.update_config.order",
	"services.*.deploy.rollback_config.parallelism", "services.*.deploy.rollback_config.delay",
	"services.*.deploy.rollback_config.monitor", "services.*.deploy.rollback_config.order",
	"networks.*", "networks.*.name", "networks.*.driver", "networks.*.attachable", "networks.*.external", "networks.*.labels", "networks.*.labels.*", "networks.*.labels.[]",
	"volumes.*", "volumes.*.name", "volumes.*.external",
	"secrets.*.name", "secrets.*.file", "secrets.*.environment", "secrets.*.external", "secrets.*.labels", "secrets.*.labels.*", "secrets.*.labels.[]",
	"configs.*.name", "configs.*.file", "configs.*.environment", "configs.*.content", "configs.*.external", "configs.*.labels", "configs.*.labels.*", "configs.*.labels.[]",
)

func paths(ps ...string) []tree.Path {
	out := make([]tree.Path, len(ps))
	for i, p := range ps {
		out[i] = tree.Path(p)
	}
	return out
}

// unsupportedNotes explain the attributes users most often miss, instead of the generic warning.
var unsupportedNotes = map[string]string{
	"build":          "Berth deploys images: build and push it first, then name it in image.",
	"depends_on":     "The swarm starts services in any order: make each one wait for what it needs (a healthcheck and a restart policy).",
	"container_name": "Swarm names each task itself.",
	"restart":        "Use deploy.restart_policy: swarm ignores restart.",
	"env_file":       "Berth reads no files from its own disk: put the variables in environment, with their values in the .env text.",
	"labels":         "Container labels are not applied: deploy.labels are the service's labels.",
	"extends":        "Berth reads no other files: write the service out in full.",
	"include":        "Berth reads no other files: paste one whole compose file.",
	"profiles":       "Every service of the file is deployed.",
	"links":          "Services of a stack reach each other by name on the stack's network.",
}

// unsupportedWarning says why an attribute at path is not applied.
func unsupportedWarning(path string) string {
	parts := strings.Split(path, ".")
	if len(parts) >= 3 && parts[0] == "services" {
		if note, ok := unsupportedNotes[parts[2]]; ok && len(parts) == 3 {
			return "Not applied: " + note
		}
	}
	if len(parts) == 1 {
		if note, ok := unsupportedNotes[parts[0]]; ok {
			return "Not applied: " + note
		}
	}
	return "Not applied: Berth does not support this compose key."
}
