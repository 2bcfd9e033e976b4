package backup

import (
	"strings"
	"testing"
)

func TestFirstDifferenceNamesTheFile(t *testing.T) {
	want := []FileSum{{Path: "a.txt", Size: 6, SHA256: "aaaa"}, {Path: "link", Link: "a.txt"}, {Path: "sub/blob", Size: 9, SHA256: "bbbb"}}
	for _, tc := range []struct {
		name string
		got  []FileSum
		says string
	}{
		{"the same files", want, ""},
		{"a file missing", want[:2], "sub/blob: missing"},
		{"a changed file", []FileSum{want[0], want[1], {Path: "sub/blob", Size: 9, SHA256: "cccc"}}, "sub/blob: restored with checksum cccc"},
		{"a changed size", []FileSum{{Path: "a.txt", Size: 7, SHA256: "aaaa"}, want[1], want[2]}, "a.txt: restored with checksum aaaa (7 bytes)"},
		{"a link elsewhere", []FileSum{want[0], {Path: "link", Link: "sub/blob"}, want[2]}, `link: links to "sub/blob"`},
		{"a file too many", append(append([]FileSum{}, want...), FileSum{Path: "extra", SHA256: "dddd"}), "extra: in the restored volume but not in the snapshot"},
	} {
		got := firstDifference(want, tc.got)
		if (tc.says == "") != (got == "") || !strings.HasPrefix(got, tc.says) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.says)
		}
	}
}
