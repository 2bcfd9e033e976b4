package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// HostPath is the agent's own answer (not an engine call) with its node's memory and disk use.
const HostPath = "/berth/host"

// HostUse is a node's memory and the disk under Docker's data root as the kernel reports them.
type HostUse struct {
	MemoryTotal int64 `json:"memory_total"`
	MemoryUsed  int64 `json:"memory_used"` // total less what the kernel reports available
	DiskTotal   int64 `json:"disk_total"`
	DiskUsed    int64 `json:"disk_used"`
}

// ReadHost reads /proc/meminfo (the node's, also inside a container) and the file system
// holding dir (inside a container its root sits on the engine's data root).
func ReadHost(dir string) (HostUse, error) {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return HostUse{}, fmt.Errorf("read the node's memory: %w", err)
	}
	u, err := parseMeminfo(raw)
	if err != nil {
		return HostUse{}, err
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return HostUse{}, fmt.Errorf("read the disk of %s: %w", dir, err)
	}
	u.DiskTotal = int64(fs.Blocks) * fs.Bsize
	u.DiskUsed = int64(fs.Blocks-fs.Bfree) * fs.Bsize
	return u, nil
}

// parseMeminfo takes MemTotal and MemAvailable (kB) from /proc/meminfo's text.
func parseMeminfo(raw []byte) (HostUse, error) {
	kb := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if f := strings.Fields(v); ok && len(f) > 0 {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				kb[k] = n
			}
		}
	}
	total, ok1 := kb["MemTotal"]
	avail, ok2 := kb["MemAvailable"]
	if !ok1 || !ok2 {
		return HostUse{}, fmt.Errorf("the node's memory figures are not in /proc/meminfo")
	}
	return HostUse{MemoryTotal: total << 10, MemoryUsed: (total - avail) << 10}, nil
}
