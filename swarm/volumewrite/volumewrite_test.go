package volumewrite

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

type entry struct {
	name, body, link string
	kind             byte
}

func tarOf(t *testing.T, es []entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.kind, Linkname: e.link}
		if e.kind == 0 {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if e.kind == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, e.body)
	}
	tw.Close()
	return buf.Bytes()
}

func gzOf(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func zipOf(t *testing.T, es []entry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range es {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.body)
	}
	zw.Close()
	return buf.Bytes()
}

// tree lists the files under root (not the staging leftovers) with their contents.
func tree(t *testing.T, root string) []string {
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		case fi.IsDir():
			out = append(out, rel+"/")
		default:
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

var project = []entry{
	{name: "site/", kind: tar.TypeDir},
	{name: "site/index.html", body: "<h1>hi</h1>"},
	{name: "site/css/app.css", body: "body{}"},
	{name: "site/latest", kind: tar.TypeSymlink, link: "index.html"},
}

func TestArchivesKeepTheirFolderStructure(t *testing.T) {
	want := []string{"data/", "data/site/", "data/site/css/", "data/site/css/app.css=body{}", "data/site/index.html=<h1>hi</h1>", "data/site/latest -> index.html"}
	for kind, body := range map[string][]byte{KindTar: tarOf(t, project), KindTgz: gzOf(tarOf(t, project))} {
		root := t.TempDir()
		out, err := Write(Request{Root: root, Dest: "/data", Kind: kind}, bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if got := tree(t, root); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s wrote\n%s", kind, strings.Join(got, "\n"))
		}
		if len(out) != 2 || out[0].Path != "/data/site/css/app.css" || out[0].Size != 6 || len(out[0].SHA256) != 64 {
			t.Errorf("%s result %+v", kind, out)
		}
	}
	root := t.TempDir()
	z := zipOf(t, []entry{{name: "a/b.txt", body: "bee"}, {name: "c.txt", body: "see"}})
	if _, err := Write(Request{Root: root, Dest: "/", Kind: KindZip, Size: int64(len(z))}, bytes.NewReader(z)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tree(t, root), " "); got != "a/ a/b.txt=bee c.txt=see" {
		t.Errorf("zip wrote %s", got)
	}
}

func TestEscapingEntriesAreRefusedAndNothingIsWritten(t *testing.T) {
	for name, body := range map[string][]byte{
		"dot-dot":              tarOf(t, []entry{{name: "ok.txt", body: "x"}, {name: "../evil", body: "x"}}),
		"nested dot-dot":       tarOf(t, []entry{{name: "a/../../evil", body: "x"}}),
		"absolute":             tarOf(t, []entry{{name: "/etc/passwd", body: "x"}}),
		"link outside":         tarOf(t, []entry{{name: "l", kind: tar.TypeSymlink, link: "../../etc"}}),
		"absolute link":        tarOf(t, []entry{{name: "l", kind: tar.TypeSymlink, link: "/etc/shadow"}}),
		"write through a link": tarOf(t, []entry{{name: "l", kind: tar.TypeSymlink, link: "x"}, {name: "l", body: "y"}}),
		"hard link outside":    tarOf(t, []entry{{name: "h", kind: tar.TypeLink, link: "../../etc/passwd"}}),
		"zip dot-dot":          zipOf(t, []entry{{name: "../evil", body: "x"}}),
	} {
		root := t.TempDir()
		os.WriteFile(filepath.Join(root, "existing"), []byte("kept"), 0o644)
		kind := KindTar
		if strings.HasPrefix(name, "zip") {
			kind = KindZip
		}
		if _, err := Write(Request{Root: root, Dest: "/", Kind: kind, Size: int64(len(body))}, bytes.NewReader(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if got := strings.Join(tree(t, root), " "); got != "existing=kept" {
			t.Errorf("%s: the volume changed: %s", name, got)
		}
	}
	if _, err := Write(Request{Root: t.TempDir(), Dest: "/../up", Kind: KindFile, Name: "f", Size: 1}, strings.NewReader("x")); err == nil {
		t.Error("a destination with .. was accepted")
	}
}

func TestCutOffAndCorruptUploadsLeaveNothing(t *testing.T) {
	full := gzOf(tarOf(t, project))
	for name, tc := range map[string]struct {
		req  Request
		body []byte
	}{
		"cut-off file":    {Request{Kind: KindFile, Name: "big.bin", Size: 1000}, bytes.Repeat([]byte("x"), 400)},
		"cut-off tgz":     {Request{Kind: KindTgz}, full[:len(full)/2]},
		"corrupt tgz":     {Request{Kind: KindTgz}, []byte("not gzip at all")},
		"corrupt zip":     {Request{Kind: KindZip, Size: 13}, []byte("PK not really")},
		"cut-off zip":     {Request{Kind: KindZip, Size: 5000}, []byte("PK not all of it")},
		"empty file name": {Request{Kind: KindFile, Name: "", Size: 1}, []byte("x")},
	} {
		root := t.TempDir()
		tc.req.Root, tc.req.Dest = root, "/"
		if _, err := Write(tc.req, bytes.NewReader(tc.body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if got := tree(t, root); len(got) != 0 {
			t.Errorf("%s left %v", name, got)
		}
	}
}

func TestOverwritePolicy(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "conf.txt"), []byte("old"), 0o644)
	if _, err := Write(Request{Root: root, Dest: "/", Kind: KindFile, Name: "conf.txt", Size: 3}, strings.NewReader("new")); err == nil || !strings.Contains(err.Error(), "already in the volume: conf.txt") {
		t.Errorf("refuse policy: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "conf.txt")); string(b) != "old" {
		t.Error("a refused upload changed the file")
	}
	out, err := Write(Request{Root: root, Dest: "/", Kind: KindFile, Name: "conf.txt", Size: 3, Overwrite: true}, strings.NewReader("new"))
	if err != nil || len(out) != 1 || out[0].Path != "/conf.txt" {
		t.Fatalf("replace: %+v %v", out, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "conf.txt")); string(b) != "new" {
		t.Error("replace did not replace")
	}
}

func TestUnpackTakesOnlyTheStagingFolder(t *testing.T) {
	root := t.TempDir()
	stage := NewStageName()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: stage + "/ok", Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.WriteHeader(&tar.Header{Name: "elsewhere", Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	if err := Unpack(root, stage, &buf); err == nil || !strings.Contains(err.Error(), "outside the staging folder") {
		t.Errorf("an entry outside the staging folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "elsewhere")); err == nil {
		t.Error("it was written")
	}
}

func TestArchivesUnpackToNoMoreThanTheUploadLimit(t *testing.T) {
	big := strings.Repeat("0", 600) // compresses to a few bytes: a small upload that unpacks large
	es := []entry{{name: "a", body: big}, {name: "b", body: big}}
	for kind, body := range map[string][]byte{KindTar: tarOf(t, es), KindTgz: gzOf(tarOf(t, es)), KindZip: zipOf(t, es)} {
		root := t.TempDir()
		os.WriteFile(filepath.Join(root, "existing"), []byte("kept"), 0o644)
		_, err := Write(Request{Root: root, Dest: "/", Kind: kind, Size: int64(len(body)), MaxTotal: 1000}, bytes.NewReader(body))
		if err == nil || !strings.Contains(err.Error(), "unpacks to more than 1000 bytes") {
			t.Errorf("%s of %d bytes unpacking to 1200 with a limit of 1000: %v", kind, len(body), err)
		}
		if got := strings.Join(tree(t, root), " "); got != "existing=kept" {
			t.Errorf("%s: the volume changed: %s", kind, got)
		}
		if _, err := Write(Request{Root: t.TempDir(), Dest: "/", Kind: kind, Size: int64(len(body)), MaxTotal: 1200}, bytes.NewReader(body)); err != nil {
			t.Errorf("%s unpacking to exactly the limit: %v", kind, err)
		}
	}
}

func TestStaleStagingFoldersAreRemovedAndHeldOnesKept(t *testing.T) {
	root := t.TempDir()
	old, held, fresh := ".berth-upload-00000000aaaaaaaa", ".berth-upload-00000000bbbbbbbb", ".berth-upload-00000000cccccccc"
	for _, d := range []string{old, held, fresh, "data"} {
		os.MkdirAll(filepath.Join(root, d, "x"), 0o755)
	}
	long := time.Now().Add(-time.Hour)
	for _, d := range []string{old, held, "data"} {
		os.Chtimes(filepath.Join(root, d), long, long)
	}
	release, err := Hold(root, held)
	if err != nil {
		t.Fatal(err)
	}
	if n := RemoveStale(root); n != 1 {
		t.Errorf("removed %d folders, want 1 (the crashed upload's)", n)
	}
	if got := strings.Join(tree(t, root), " "); !strings.Contains(got, held+"/") || !strings.Contains(got, fresh+"/") || strings.Contains(got, old) || !strings.Contains(got, "data/") {
		t.Errorf("after the clean-up: %s", got)
	}
	release() // the upload ended without finishing (a crash releases the same way)
	if n := RemoveStale(root); n != 1 {
		t.Errorf("a released old folder: removed %d, want 1", n)
	}
	for name, want := range map[string]bool{old + "/x": true, "./" + held: true, "data/" + old: false, ".berth-upload-short": false, "data": false} {
		if InStaging(name) != want {
			t.Errorf("InStaging(%q) = %v", name, !want)
		}
	}
}
