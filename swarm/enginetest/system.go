package enginetest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// run executes a host command and reports its output when it fails.
func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ensureBridge creates the host bridge every test namespace is attached to.
func ensureBridge() error {
	if err := allowBridgeTraffic(); err != nil {
		return err
	}
	if _, err := os.Stat("/sys/class/net/" + bridgeName); err == nil {
		return nil
	}
	for _, s := range [][]string{
		{"ip", "link", "add", bridgeName, "type", "bridge"},
		{"ip", "addr", "add", bridgeAddr + "/24", "dev", bridgeName},
		{"ip", "link", "set", bridgeName, "up"},
	} {
		if err := run(s...); err != nil {
			return err
		}
	}
	return nil
}

// RemoveBridge deletes the host bridge, and the firewall rule for it, once no namespace uses it any more.
func RemoveBridge() {
	entries, _ := os.ReadDir("/sys/class/net/" + bridgeName + "/brif")
	if len(entries) == 0 {
		_ = run("ip", "link", "del", bridgeName)
		removeBridgeRules()
	}
}

// cgroupMountScript rebuilds the host's cgroup mounts inside the namespace,
// because `ip netns exec` remounts /sys and hides them from dockerd.
func cgroupMountScript() (string, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[1], "/sys/fs/cgroup") {
			continue
		}
		target, fstype := fields[1], fields[2]
		switch fstype {
		case "tmpfs":
			fmt.Fprintf(&b, "mount -t tmpfs cgroup %s\n", target)
		case "cgroup":
			var opts []string
			for _, o := range strings.Split(fields[3], ",") {
				if o != "rw" && o != "relatime" && o != "ro" {
					opts = append(opts, o)
				}
			}
			if len(opts) == 1 && strings.HasPrefix(opts[0], "name=") {
				opts = append([]string{"none"}, opts...)
			}
			fmt.Fprintf(&b, "mkdir -p %s\nmount -t cgroup -o %s cgroup %s\n", target, strings.Join(opts, ","), target)
		case "cgroup2":
			fmt.Fprintf(&b, "mkdir -p %s\nmount -t cgroup2 cgroup2 %s\n", target, target)
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("no cgroup hierarchy found under /sys/fs/cgroup")
	}
	return b.String(), sc.Err()
}

// cgroupDirs lists the engine's cgroup parent directories in every hierarchy.
func cgroupDirs(parent string) []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
	if d := "/sys/fs/cgroup/" + parent; isDir(d) {
		dirs = append(dirs, d)
	}
	return dirs
}

// killCgroup sends SIGKILL to every container process under the engine's cgroup parent.
func killCgroup(parent string) {
	for _, dir := range cgroupDirs(parent) {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			return nil
		})
	}
}

// removeCgroup removes the engine's now empty cgroup directories, deepest first.
func removeCgroup(parent string) {
	for _, dir := range cgroupDirs(parent) {
		var all []string
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				all = append(all, p)
			}
			return nil
		})
		sort.Sort(sort.Reverse(sort.StringSlice(all)))
		for _, d := range all {
			_ = syscall.Rmdir(d)
		}
	}
}

// killNamespace SIGKILLs whatever still runs in the network namespace (containerd, shims).
func killNamespace(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder lazily unmounts every mount point below dir, deepest first.
func unmountUnder(dir string) {
	data, _ := os.ReadFile("/proc/self/mounts")
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 1 && strings.HasPrefix(fields[1], dir+"/") {
			points = append(points, fields[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

func readPid(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie ("Z") has exited; only its parent has yet to reap it.
	fields := strings.Fields(string(data))
	return len(fields) > 2 && fields[2] != "Z"
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
