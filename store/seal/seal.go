// Package seal encrypts values at rest with the master key (AES-256-GCM, tagged
// with a key id) and derives keyed hashes for looking up tokens; no other
// package sees the key.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// version prefixes every sealed value so the format can evolve.
const version = byte(1)

// Keyring seals and opens values with one master key.
type Keyring struct {
	id      [4]byte
	aead    cipher.AEAD
	hashKey []byte
}

// ErrWrongKey means the value was sealed with a key this keyring does not hold.
var ErrWrongKey = errors.New("sealed with a different master key")

// New builds a keyring from a 32-byte master key.
func New(key []byte) (*Keyring, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("master key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(deriveKey(key, "berth seal v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &Keyring{aead: aead, hashKey: deriveKey(key, "berth lookup hash v1")}
	copy(k.id[:], deriveKey(key, "berth key id v1"))
	return k, nil
}

// deriveKey separates the master key into independent keys per purpose.
func deriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// ID names the key without revealing it.
func (k *Keyring) ID() string { return hex.EncodeToString(k.id[:]) }

// Seal encrypts plaintext; context binds the value to where it is stored (for example "user:3:totp").
func (k *Keyring) Seal(plaintext []byte, context string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("seal: no randomness: %v", err))
	}
	out := make([]byte, 0, 1+4+len(nonce)+len(plaintext)+k.aead.Overhead())
	out = append(out, version)
	out = append(out, k.id[:]...)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, []byte(context))
}

// Open decrypts a value produced by Seal with the same context.
func (k *Keyring) Open(sealed []byte, context string) ([]byte, error) {
	head := 1 + 4 + k.aead.NonceSize()
	if len(sealed) < head+k.aead.Overhead() || sealed[0] != version {
		return nil, errors.New("not a sealed value")
	}
	if !bytes.Equal(sealed[1:5], k.id[:]) {
		return nil, ErrWrongKey
	}
	plain, err := k.aead.Open(nil, sealed[5:head], sealed[head:], []byte(context))
	if err != nil {
		return nil, errors.New("sealed value is corrupt or was moved")
	}
	return plain, nil
}

// Hash is a keyed hash for high-entropy lookup values (API tokens, recovery codes).
func (k *Keyring) Hash(value string) string {
	m := hmac.New(sha256.New, k.hashKey)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// LoadKeyFile reads the master key from path, or creates one there (mode 0600) when
// create is set and the file does not exist.
func LoadKeyFile(path string, create bool) (key []byte, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		key = make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, key); err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create master key: %w", err)
		}
		defer f.Close()
		if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
			return nil, false, err
		}
		return key, true, f.Sync()
	}
	if err != nil {
		return nil, false, fmt.Errorf("read master key: %w", err)
	}
	key, err = parseKey(data)
	return key, false, err
}

// parseKey accepts 64 hex characters, standard base64 of 32 bytes, or 32 raw bytes.
func parseKey(data []byte) ([]byte, error) {
	text := strings.TrimSpace(string(data))
	if b, err := hex.DecodeString(text); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(text); err == nil && len(b) == 32 {
		return b, nil
	}
	if len(data) == 32 {
		return data, nil
	}
	return nil, errors.New("master key file must hold 32 bytes: 64 hex characters, base64, or raw")
}
