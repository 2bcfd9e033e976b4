package agent

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// TerminalShells are the only programs a terminal starts: the first that exists in the container.
var TerminalShells = []string{"/bin/bash", "/bin/sh", "/bin/ash"}

// TerminalEnv marks a terminal's processes so they can be ended when it closes.
const TerminalEnv = "BERTH_TERMINAL"

// CleanupScript ends every process of the terminal session with this marker (the
// engine cannot kill an exec, and closing its connection does not end it).
func CleanupScript(marker string) string {
	return `for sig in HUP KILL; do for d in /proc/[0-9]*; do case "$(cat $d/environ 2>/dev/null)" in *` + TerminalEnv + `=` + marker +
		`*) kill -$sig ${d#/proc/} 2>/dev/null;; esac; done; sleep 1; done`
}

// cleanupPattern matches CleanupScript with any session marker (24 hexadecimal digits).
var cleanupPattern = regexp.MustCompile("^" + strings.Replace(regexp.QuoteMeta(CleanupScript("MARKER")), "MARKER", "[0-9a-f]{24}", 1) + "$")

// TerminalCommand says whether an exec command is one a terminal may run: an allowed
// shell alone, or an allowed shell running the cleanup script of a session.
func TerminalCommand(cmd []string) bool {
	switch {
	case len(cmd) == 1:
		return slices.Contains(TerminalShells, cmd[0])
	case len(cmd) == 3 && slices.Contains(TerminalShells, cmd[0]) && cmd[1] == "-c":
		return cleanupPattern.MatchString(cmd[2])
	}
	return false
}

// ContainerEscapes lists what gives a container the node: what Berth refuses to
// deploy (the engine's socket, host folders, privileges, capabilities, devices,
// the host's namespaces, switched-off confinement). A terminal opens in none of them.
func ContainerEscapes(hc *container.HostConfig, mounts []container.MountPoint) []string {
	var out []string
	for _, m := range mounts {
		switch {
		case strings.Contains(m.Source, "docker.sock") || strings.Contains(m.Destination, "docker.sock"):
			out = append(out, "it holds the Docker socket")
		case m.Type == mount.TypeBind:
			out = append(out, "it mounts the host folder "+m.Source)
		}
	}
	if hc == nil {
		return out
	}
	if hc.Privileged {
		out = append(out, "it is privileged")
	}
	if len(hc.CapAdd) > 0 {
		out = append(out, "it adds capabilities ("+strings.Join(hc.CapAdd, ", ")+")")
	}
	if len(hc.Devices) > 0 || len(hc.DeviceCgroupRules) > 0 || len(hc.DeviceRequests) > 0 {
		out = append(out, "it has host devices")
	}
	for name, mode := range map[string]string{"network": string(hc.NetworkMode), "process": string(hc.PidMode), "IPC": string(hc.IpcMode),
		"UTS": string(hc.UTSMode), "user": string(hc.UsernsMode)} {
		if mode == "host" {
			out = append(out, fmt.Sprintf("it shares the host's %s namespace", name))
		}
	}
	for _, o := range hc.SecurityOpt {
		if strings.Contains(o, "unconfined") || strings.HasPrefix(o, "label=disable") || strings.HasPrefix(o, "label:disable") {
			out = append(out, "its confinement is off ("+o+")")
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
