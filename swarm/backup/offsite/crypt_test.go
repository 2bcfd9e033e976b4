package offsite

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
)

func seal(t *testing.T, k Key, name string, plain []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := Encrypt(&out, k, name)
	if err != nil {
		t.Fatal(err)
	}
	for rest := plain; len(rest) > 0; { // uneven writes
		n := min(len(rest), 300_001)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func open(k []Key, name string, sealed []byte) ([]byte, error) {
	r, err := Decrypt(bytes.NewReader(sealed), k, name)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestCopiesOpenWholeAndOnlyWhole(t *testing.T) {
	k := NewKey()
	for _, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3 * ChunkSize} {
		plain := make([]byte, size)
		rand.Read(plain)
		sealed := seal(t, k, "s1/vol.tar.zst", plain)
		if int64(len(sealed)) != SealedSize(int64(size)) {
			t.Errorf("size %d: sealed %d bytes, SealedSize says %d", size, len(sealed), SealedSize(int64(size)))
		}
		got, err := open([]Key{NewKey(), k}, "s1/vol.tar.zst", sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("size %d: round trip: %v (%d bytes back)", size, err, len(got))
		}
		if size >= 64 && bytes.Contains(sealed, plain[:64]) {
			t.Errorf("size %d: the plaintext shows in the copy", size)
		}
	}
	plain := make([]byte, 2*ChunkSize+10)
	rand.Read(plain)
	sealed := seal(t, k, "s1/vol", plain)
	flipped := bytes.Clone(sealed)
	flipped[headerLen+ChunkSize+100] ^= 1
	cutAtChunk := sealed[:headerLen+sealedSize] // whole chunks, the last one missing
	swapped := bytes.Clone(sealed)
	copy(swapped[headerLen:], sealed[headerLen+sealedSize:headerLen+2*sealedSize])
	copy(swapped[headerLen+sealedSize:], sealed[headerLen:headerLen+sealedSize])
	for name, bad := range map[string][]byte{"flipped": flipped, "cut at a chunk": cutAtChunk, "chunks swapped": swapped} {
		if _, err := open([]Key{k}, "s1/vol", bad); !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: %v, want ErrDamaged", name, err)
		}
	}
	if _, err := open([]Key{k}, "s2/vol", sealed); !errors.Is(err, ErrDamaged) {
		t.Errorf("moved to another name: %v, want ErrDamaged", err)
	}
	other := NewKey()
	if _, err := open([]Key{other}, "s1/vol", sealed); err == nil || !strings.Contains(err.Error(), k.ID()) {
		t.Errorf("unknown key: %v, want it named", err)
	}
}

func TestKeyTextRoundTrips(t *testing.T) {
	k := NewKey()
	back, err := ParseKey(" " + k.Text() + "\n")
	if err != nil || back.ID() != k.ID() || !bytes.Equal(back.Raw(), k.Raw()) {
		t.Fatalf("parse %q: %v", k.Text(), err)
	}
	for _, bad := range []string{"", "berth-backup-key:1234", strings.Repeat("zz", 32)} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}
