package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func testKeyring(t *testing.T, fill byte) *Keyring {
	t.Helper()
	k, err := New(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealRoundTripAndRefusals(t *testing.T) {
	k := testKeyring(t, 1)
	sealed := k.Seal([]byte("db password"), "secret:db")
	if bytes.Contains(sealed, []byte("db password")) {
		t.Fatal("sealed value contains the plaintext")
	}
	if got, err := k.Open(sealed, "secret:db"); err != nil || string(got) != "db password" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(sealed, "secret:other"); err == nil {
		t.Error("a value moved to another context opened")
	}
	if _, err := testKeyring(t, 2).Open(sealed, "secret:db"); !errors.Is(err, ErrWrongKey) {
		t.Errorf("another key: err = %v, want ErrWrongKey", err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := k.Open(tampered, "secret:db"); err == nil {
		t.Error("a tampered value opened")
	}
	if bytes.Equal(k.Seal([]byte("x"), "c"), k.Seal([]byte("x"), "c")) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
}

func TestLoadKeyFileCreatesPrivateFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if _, _, err := LoadKeyFile(path, false); err == nil {
		t.Fatal("a missing key file without create must fail")
	}
	key, created, err := LoadKeyFile(path, true)
	if err != nil || !created || len(key) != 32 {
		t.Fatalf("create: %d bytes, created=%v, %v", len(key), created, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	again, created, err := LoadKeyFile(path, true)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("reload: created=%v, same=%v, %v", created, bytes.Equal(again, key), err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadKeyFile(path, true); err == nil {
		t.Error("a malformed key file was accepted")
	}
}
