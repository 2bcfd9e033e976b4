package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// fakeNode answers the rules' questions about a made-up node.
type fakeNode struct {
	containers map[string]ContainerFacts
	execs      map[string]string // exec id -> container id
	images     map[string]string // reference -> id
}

func (f fakeNode) Container(_ context.Context, ref string) (ContainerFacts, error) {
	if c, ok := f.containers[ref]; ok {
		return c, nil
	}
	return ContainerFacts{}, errors.New("no such container")
}

func (f fakeNode) ExecContainer(_ context.Context, id string) (string, error) {
	if c, ok := f.execs[id]; ok {
		return c, nil
	}
	return "", errors.New("no such exec")
}

func (f fakeNode) ImageID(_ context.Context, ref string) (string, error) {
	if id, ok := f.images[ref]; ok {
		return id, nil
	}
	return "", errors.New("no such image")
}

func spec(t *testing.T, v map[string]any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGrantsAllowOnlyTheirActionsCalls(t *testing.T) {
	node := fakeNode{
		containers: map[string]ContainerFacts{
			"app1":    {ID: "app1", Volumes: []string{"data"}, Task: true},
			"app2":    {ID: "app2", Task: true},
			"sock":    {ID: "sock", Task: true, Escapes: []string{"it holds the Docker socket"}},
			"plain":   {ID: "plain"},
			"helper":  {ID: "helper", Helper: true, Volumes: []string{"data"}},
			"helper2": {ID: "helper2", Helper: true, Volumes: []string{"other"}},
			"bindy":   {ID: "bindy", Helper: true, Volumes: []string{"data"}, Other: true},
		},
		execs:  map[string]string{"x1": "app1", "x2": "app2"},
		images: map[string]string{"berth:1": "sha256:self", "busybox": "sha256:busy", "reg:5000/app:1": "sha256:app"},
	}
	helper := func(changes map[string]any) map[string]any {
		hc := map[string]any{"Mounts": []map[string]any{{"Type": "volume", "Source": "data", "Target": "/v"}}}
		v := map[string]any{"Image": "berth:1", "Labels": map[string]string{HelperLabel: "upload"}, "NetworkDisabled": true,
			"Cmd": []string{"volume-write"}, "HostConfig": hc}
		for k, val := range changes {
			if strings.HasPrefix(k, "HostConfig.") {
				hc[strings.TrimPrefix(k, "HostConfig.")] = val
			} else {
				v[k] = val
			}
		}
		return v
	}
	terminal := Grant{Action: ActTerminal, Container: "app1"}
	upload := Grant{Action: ActUpload, Volume: "data"}
	backup := Grant{Action: ActBackup, Volume: "data"}
	restore := Grant{Action: ActRestore, Volume: "data"}
	listing := Grant{Action: ActVolumes}
	stats := Grant{Action: ActStats}
	images := Grant{Action: ActImages}
	for _, tc := range []struct {
		name string
		g    Grant
		r    Request
		want string // "" allowed, else part of the refusal
	}{
		{"ping for anyone", listing, Request{Method: "HEAD", Path: "/_ping"}, ""},
		{"terminal: inspect its container", terminal, Request{Method: "GET", Path: "/containers/app1/json"}, ""},
		{"terminal: exec in its container", terminal, Request{Method: "POST", Path: "/containers/app1/exec", Body: []byte(`{"Cmd":["/bin/sh"],"Tty":true,"Env":["TERM=xterm-256color","BERTH_TERMINAL=0123456789abcdef01234567"]}`)}, ""},
		{"terminal: its session's cleanup", terminal, Request{Method: "POST", Path: "/containers/app1/exec", Body: spec(t, map[string]any{"Cmd": []string{"/bin/sh", "-c", CleanupScript("0123456789abcdef01234567")}, "User": "0"})}, ""},
		{"terminal: any program as the shell", terminal, Request{Method: "POST", Path: "/containers/app1/exec", Body: []byte(`{"Cmd":["/usr/bin/python3"]}`)}, "runs only"},
		{"terminal: a shell with a command of its own", terminal, Request{Method: "POST", Path: "/containers/app1/exec", Body: spec(t, map[string]any{"Cmd": []string{"/bin/sh", "-c", "cat /etc/shadow"}})}, "runs only"},
		{"terminal: a cleanup with a changed script", terminal, Request{Method: "POST", Path: "/containers/app1/exec", Body: spec(t, map[string]any{"Cmd": []string{"/bin/sh", "-c", CleanupScript("0123456789abcdef01234567") + "; id"}})}, "runs only"},
		{"terminal: an environment of its own", terminal, Request{Method: "POST", Path: "/containers/app1/exec", Body: []byte(`{"Cmd":["/bin/sh"],"Env":["LD_PRELOAD=/x.so"]}`)}, "sets only"},
		{"terminal: a container with the Docker socket", Grant{Action: ActTerminal, Container: "sock"}, Request{Method: "POST", Path: "/containers/sock/exec", Body: []byte(`{"Cmd":["/bin/sh"]}`)}, "no way to the node"},
		{"terminal: a container that is not a task", Grant{Action: ActTerminal, Container: "plain"}, Request{Method: "POST", Path: "/containers/plain/exec", Body: []byte(`{"Cmd":["/bin/sh"]}`)}, "swarm task"},
		{"terminal: a privileged exec", terminal, Request{Method: "POST", Path: "/containers/app1/exec", Body: []byte(`{"Cmd":["/bin/sh"],"Privileged":true}`)}, "privileged"},
		{"terminal: exec in another container", terminal, Request{Method: "POST", Path: "/containers/app2/exec", Body: []byte(`{"Cmd":["sh"]}`)}, "another container"},
		{"terminal: start its exec", terminal, Request{Method: "POST", Path: "/exec/x1/start"}, ""},
		{"terminal: start another container's exec", terminal, Request{Method: "POST", Path: "/exec/x2/start"}, "another container"},
		{"terminal: create a container", terminal, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(nil))}, "not part of a terminal"},
		{"terminal: copy files out", terminal, Request{Method: "GET", Path: "/containers/app1/archive"}, "not part of a terminal"},
		{"stats: list containers", stats, Request{Method: "GET", Path: "/containers/json"}, ""},
		{"stats: a task container's use", stats, Request{Method: "GET", Path: "/containers/app1/stats"}, ""},
		{"stats: a container that is not a task", stats, Request{Method: "GET", Path: "/containers/plain/stats"}, "only of swarm task containers"},
		{"stats: inspect a container", stats, Request{Method: "GET", Path: "/containers/app1/json"}, "not part of reading resource use"},
		{"stats: exec", stats, Request{Method: "POST", Path: "/containers/app1/exec", Body: []byte(`{"Cmd":["sh"]}`)}, "not part of reading resource use"},
		{"stats: copy files out", stats, Request{Method: "GET", Path: "/containers/app1/archive"}, "not part of reading resource use"},
		{"images: disk use", images, Request{Method: "GET", Path: "/system/df"}, ""},
		{"images: an image's digests", images, Request{Method: "GET", Path: "/images/sha256:abc/json"}, ""},
		{"images: an image's history", images, Request{Method: "GET", Path: "/images/sha256:abc/history"}, "not part of listing"},
		{"images: remove an image", images, Request{Method: "DELETE", Path: "/images/busybox"}, ""},
		{"images: remove a tag with a registry", images, Request{Method: "DELETE", Path: "/images/reg:5000/app:1"}, ""},
		{"images: remove forced", images, Request{Method: "DELETE", Path: "/images/busybox", Query: url.Values{"force": {"1"}}}, "never forced"},
		{"images: remove the agent's own", images, Request{Method: "DELETE", Path: "/images/berth:1"}, "agent's own"},
		{"images: remove one not there", images, Request{Method: "DELETE", Path: "/images/nope"}, "not on this node"},
		{"images: remove a container", images, Request{Method: "DELETE", Path: "/containers/app1"}, "not part of listing and removing unused images"},
		{"images: prune everything", images, Request{Method: "POST", Path: "/images/prune"}, "not part of listing and removing unused images"},
		{"images: pull", images, Request{Method: "POST", Path: "/images/create"}, "not part of listing and removing unused images"},
		{"stats: remove an image", stats, Request{Method: "DELETE", Path: "/images/busybox"}, "not part of reading resource use"},
		{"listing: volumes and sizes", listing, Request{Method: "GET", Path: "/system/df"}, ""},
		{"listing: remove a volume", listing, Request{Method: "DELETE", Path: "/volumes/data"}, "not part of volumes"},
		{"listing: services", listing, Request{Method: "GET", Path: "/services"}, "not part of volumes"},
		{"upload: a helper for its volume", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(nil))}, ""},
		{"upload: write into its helper", upload, Request{Method: "PUT", Path: "/containers/helper/archive"}, ""},
		{"upload: attach to its helper", upload, Request{Method: "POST", Path: "/containers/helper/attach"}, ""},
		{"upload: remove its helper", upload, Request{Method: "DELETE", Path: "/containers/helper"}, ""},
		{"upload: write into an application container", upload, Request{Method: "PUT", Path: "/containers/app1/archive"}, "not a helper"},
		{"upload: a helper of another volume", upload, Request{Method: "PUT", Path: "/containers/helper2/archive"}, "not a helper"},
		{"upload: a helper that also binds a host path", upload, Request{Method: "GET", Path: "/containers/bindy/json"}, "not a helper"},
		{"upload: exec in its helper", upload, Request{Method: "POST", Path: "/containers/helper/exec"}, "not part of upload"},
		{"upload: another image", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"Image": "busybox"}))}, "own image"},
		{"upload: another volume", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.Mounts": []map[string]any{{"Type": "volume", "Source": "other", "Target": "/v"}}}))}, "granted volume"},
		{"upload: a bind of the host's root", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.Binds": []string{"/:/host"}}))}, "host access"},
		{"upload: a bind mount", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.Mounts": []map[string]any{{"Type": "bind", "Source": "/", "Target": "/v"}}}))}, "granted volume"},
		{"upload: privileged", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.Privileged": true}))}, "host access"},
		{"upload: the host's network", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"NetworkDisabled": false, "HostConfig.NetworkMode": "host"}))}, "no network"},
		{"upload: the host's pid namespace", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.PidMode": "host"}))}, "host access"},
		{"upload: an entrypoint of its own", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"Entrypoint": []string{"/bin/sh"}}))}, "own binary"},
		{"upload: device cgroup rules", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.DeviceCgroupRules": []string{"c 1:3 mr"}}))}, "DeviceCgroupRules"},
		{"upload: unmasked paths", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.MaskedPaths": []string{}, "HostConfig.ReadonlyPaths": []string{"/x"}}))}, "ReadonlyPaths"},
		{"upload: sysctls", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.Sysctls": map[string]string{"kernel.core_pattern": "|/x"}}))}, "Sysctls"},
		{"upload: a cgroup parent", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.CgroupParent": "/"}))}, "CgroupParent"},
		{"upload: another runtime", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.Runtime": "runc-unsafe"}))}, "Runtime"},
		{"upload: a volume driver's options", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.Mounts": []map[string]any{{"Type": "volume", "Source": "data", "Target": "/v", "VolumeOptions": map[string]any{"DriverConfig": map[string]any{"Name": "local", "Options": map[string]string{"o": "bind", "device": "/"}}}}}}))}, "VolumeOptions"},
		{"upload: environment", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"Env": []string{"LD_PRELOAD=/v/x.so"}}))}, "Env"},
		{"upload: a label of a task", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"Labels": map[string]string{HelperLabel: "upload", "com.docker.swarm.task.id": "x"}}))}, "no label"},
		{"upload: a network config", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"NetworkingConfig": map[string]any{"EndpointsConfig": map[string]any{"host": map[string]any{}}}}))}, "NetworkingConfig"},
		{"upload: not labelled a helper", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"Labels": map[string]string{}}))}, "only helper"},
		{"upload: Berth's server instead of a helper command", upload, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"Cmd": []string{"serve"}}))}, "runs only"},
		{"backup: a writable helper", backup, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(nil))}, "read-only"},
		{"backup: a read-only helper", backup, Request{Method: "POST", Path: "/containers/create", Body: spec(t, helper(map[string]any{"HostConfig.Mounts": []map[string]any{{"Type": "volume", "Source": "data", "Target": "/v", "ReadOnly": true}}}))}, ""},
		{"backup: read its helper", backup, Request{Method: "GET", Path: "/containers/helper/archive"}, ""},
		{"backup: write into its helper", backup, Request{Method: "PUT", Path: "/containers/helper/archive"}, "not part of backup"},
		{"backup: remove the volume", backup, Request{Method: "DELETE", Path: "/volumes/data"}, "not part of backup"},
		{"restore: remove the volume it failed to fill", restore, Request{Method: "DELETE", Path: "/volumes/data"}, ""},
		{"restore: remove another volume", restore, Request{Method: "DELETE", Path: "/volumes/other"}, "not part of restore"},
		{"unknown action", Grant{Action: "anything"}, Request{Method: "GET", Path: "/volumes"}, "unknown action"},
		{"a path with ..", upload, Request{Method: "POST", Path: "/containers/helper/../create", Body: spec(t, helper(nil))}, "plain form"},
		{"a doubled slash", listing, Request{Method: "GET", Path: "//volumes"}, "plain form"},
		{"upload: list the node's images", upload, Request{Method: "GET", Path: "/images/json"}, "not part of upload"},
	} {
		err := Authorize(context.Background(), tc.g, "sha256:self", tc.r, node)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want a refusal saying %q", tc.name, err, tc.want)
		}
	}
}

func TestAPIPathDropsTheVersion(t *testing.T) {
	for in, want := range map[string]string{"/v1.41/containers/json": "/containers/json", "/_ping": "/_ping", "/v1.41/exec/x/start": "/exec/x/start"} {
		if got := APIPath(in); got != want {
			t.Errorf("APIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRestoreGrantCreatesOnlyItsVolumeAsBerthMakesIt(t *testing.T) {
	g := Grant{Action: ActRestore, Volume: "data"}
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"the granted volume, as Berth makes it", map[string]any{"Name": "data", "Driver": "local", "Labels": map[string]string{"berth.managed": "true"}}, ""},
		{"another volume", map[string]any{"Name": "other", "Driver": "local"}, "only the granted volume"},
		{"a bind of the host's root through driver options", map[string]any{"Name": "data", "Driver": "local", "DriverOpts": map[string]string{"type": "none", "o": "bind", "device": "/"}}, "DriverOpts"},
		{"another driver", map[string]any{"Name": "data", "Driver": "nfs"}, "local driver"},
		{"a label of Berth's own", map[string]any{"Name": "data", "Labels": map[string]string{"berth.reserved": "true"}}, "no label"},
	} {
		err := Authorize(context.Background(), g, "sha256:self", Request{Method: "POST", Path: "/volumes/create", Body: spec(t, tc.body)}, fakeNode{})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want a refusal saying %q", tc.name, err, tc.want)
		}
	}
	if err := Authorize(context.Background(), Grant{Action: ActUpload, Volume: "data"}, "sha256:self", Request{Method: "POST", Path: "/volumes/create", Body: spec(t, map[string]any{"Name": "data"})}, fakeNode{}); err == nil {
		t.Error("an upload grant created a volume")
	}
}
