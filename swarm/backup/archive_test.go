package backup

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestArchiveRoundTripKeepsFilesModesAndLinks(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub", "deep"), 0o750)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha\n"), 0o640)
	os.WriteFile(filepath.Join(src, "sub", "deep", "b.bin"), bytes.Repeat([]byte{7}, 3<<20), 0o600)
	os.Symlink("a.txt", filepath.Join(src, "link"))
	os.WriteFile(filepath.Join(dst, "a.txt"), []byte("old content that is longer\n"), 0o644)
	os.WriteFile(filepath.Join(dst, "keep.txt"), []byte("stays\n"), 0o644)

	var buf bytes.Buffer
	res, err := WriteArchive(src, &buf)
	if err != nil || res.Size != int64(buf.Len()) || res.DataBytes < 3<<20 || len(res.SHA256) != 64 {
		t.Fatalf("write: %+v %v", res, err)
	}
	archive := filepath.Join(t.TempDir(), "v.tar.zst")
	os.WriteFile(archive, buf.Bytes(), 0o600)
	if err := VerifyFile(archive, res.SHA256); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(archive, strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), ErrChecksum) {
		t.Errorf("a wrong checksum passed: %v", err)
	}
	if _, err := ExtractArchive(bytes.NewReader(buf.Bytes()), dst); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a.txt": "alpha\n", "keep.txt": "stays\n"} {
		if got, _ := os.ReadFile(filepath.Join(dst, name)); string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if st, _ := os.Stat(filepath.Join(dst, "a.txt")); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Join(dst, "sub", "deep", "b.bin")); st == nil || st.Size() != 3<<20 {
		t.Error("the nested file is missing or short")
	}
	if l, _ := os.Readlink(filepath.Join(dst, "link")); l != "a.txt" {
		t.Errorf("link -> %q", l)
	}
}

func TestExtractRefusesEscapesAndWritesThroughLinks(t *testing.T) {
	for name, entries := range map[string][]tar.Header{
		"an entry outside": {{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644}},
		"through a link":   {{Name: "out", Typeflag: tar.TypeSymlink, Linkname: "/tmp"}, {Name: "out/evil", Typeflag: tar.TypeReg, Mode: 0o644}},
	} {
		var raw bytes.Buffer
		enc, _ := zstd.NewWriter(&raw)
		tw := tar.NewWriter(enc)
		for _, h := range entries {
			tw.WriteHeader(&h)
		}
		tw.Close()
		enc.Close()
		dst := t.TempDir()
		if _, err := ExtractArchive(&raw, dst); err == nil {
			t.Errorf("%s: extracted", name)
		}
		if _, err := os.Stat("/tmp/evil"); err == nil {
			t.Fatalf("%s: wrote /tmp/evil", name)
		}
	}
}

func TestBackupsLeaveUploadStagingFoldersOut(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, ".berth-upload-0123456789abcdef", "half"), 0o755)
	os.WriteFile(filepath.Join(src, ".berth-upload-0123456789abcdef", "half", "file"), []byte("partial"), 0o644)
	os.WriteFile(filepath.Join(src, "kept.txt"), []byte("data"), 0o644)
	var buf bytes.Buffer
	if _, err := WriteArchive(src, &buf); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if _, err := ExtractArchive(bytes.NewReader(buf.Bytes()), dst); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dst)
	if len(entries) != 1 || entries[0].Name() != "kept.txt" {
		t.Errorf("the archive holds %v, want only kept.txt", entries)
	}
	// The engine's archive stream (the slow path) is filtered the same way.
	var raw, out bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, name := range []string{"./", "./.berth-upload-0123456789abcdef/", "./.berth-upload-0123456789abcdef/f", "./kept.txt"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644})
	}
	tw.Close()
	if err := withoutStaging(&out, func(w io.Writer) error { _, err := io.Copy(w, &raw); return err }); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(&out)
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		names = append(names, h.Name)
	}
	if strings.Join(names, " ") != "./ ./kept.txt" {
		t.Errorf("the filtered stream holds %v", names)
	}
}
