package volumewrite

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// staleAfter is how old a staging folder nobody holds must be before another upload removes it.
const staleAfter = time.Minute

// InStaging reports whether an entry of a volume's archive (relative to its top) lies in an
// upload's staging folder: backups leave those out.
func InStaging(name string) bool {
	first, _, _ := strings.Cut(strings.TrimPrefix(path.Clean("/"+name), "/"), "/")
	return stagePattern.MatchString(first)
}

// Hold marks a staging folder as in use by this helper until release is called (or the
// process ends, as after a crash): RemoveStale leaves held folders alone.
func Hold(root, stage string) (release func(), err error) {
	dir := filepath.Join(root, stage)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// RemoveStale removes the staging folders at the volume's top that no helper holds
// and that are older than a minute: what a crashed or killed upload left. It says how many.
func RemoveStale(root string) int {
	entries, err := os.ReadDir(root)
	if err != nil {
		return 0
	}
	removed := 0
	for _, e := range entries {
		if !e.IsDir() || !stagePattern.MatchString(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < staleAfter {
			continue
		}
		dir := filepath.Join(root, e.Name())
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil && os.RemoveAll(dir) == nil {
			removed++
		}
		f.Close()
	}
	return removed
}
