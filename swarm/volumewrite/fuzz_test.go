package volumewrite

import (
	"path/filepath"
	"strings"
	"testing"
)

func FuzzArchiveEntryPath(f *testing.F) {
	for _, s := range []string{"a.txt", "dir/b.txt", "../x", "a/../../x", "/etc/passwd", "..\\x", "a/./b", ".", "a/..", "\\\\server\\share", ".berth-manifest.json", "a/b/../../../c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		const stage = "/volume/.berth-upload-0"
		if dst, err := entryPath(stage, name); err == nil && dst != "" {
			rel, rerr := filepath.Rel(stage, dst)
			if rerr != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
				t.Fatalf("zip entry %q lands at %s, outside the staging folder", name, dst)
			}
		}
		s := &tarStager{stage: ".berth-upload-0", links: map[string]bool{"link": true}}
		if rel, err := s.check(name); err == nil && rel != "" {
			if strings.HasPrefix(rel, "/") || rel == ".." || strings.HasPrefix(rel, "../") {
				t.Fatalf("tar entry %q is kept as %q, outside the destination", name, rel)
			}
			if rel == "link" || strings.HasPrefix(rel, "link/") {
				t.Fatalf("tar entry %q writes through the link", name)
			}
			if rel == manifestName || rel == zipName {
				t.Fatalf("tar entry %q takes a name Berth reserves", name)
			}
		}
		if dst, err := safeJoin("/volume", name); err == nil {
			if rel, rerr := filepath.Rel("/volume", dst); rerr != nil || strings.HasPrefix(rel, "..") {
				t.Fatalf("destination %q lands at %s, outside the volume", name, dst)
			}
		}
	})
}
