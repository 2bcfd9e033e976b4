package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: the first row of OWASP's table (m=19 MiB, t=2, p=1), which
// needs a third of the memory of m=64 MiB for the same resistance.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// At most hashSlots password hashes run at once; a sign-in waits up to hashWait for a slot.
const (
	hashSlots = 2
	hashWait  = 10 * time.Second
)

// ErrBusy means too many password checks are running: the caller may try again shortly.
var ErrBusy = errors.New("too many sign-ins at once: try again in a moment")

// hashSlot holds one of the hashSlots places; every hash and check takes one.
var hashSlot = make(chan struct{}, hashSlots)

// withHashSlot runs fn once a slot is free, or fails with ErrBusy after hashWait.
func withHashSlot(ctx context.Context, fn func()) error {
	ctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	select {
	case hashSlot <- struct{}{}:
	case <-ctx.Done():
		return ErrBusy
	}
	defer func() { <-hashSlot }()
	fn()
	return nil
}

// dummyHash is checked against when the user does not exist, to keep timing even.
// It is made on first use, so an idle Berth holds no hashing memory.
var dummyHash = sync.OnceValue(func() string {
	h, _ := encodeHash("berth-no-such-user-password")
	return h
})

// hashPassword returns an argon2id hash in the PHC string format.
func hashPassword(ctx context.Context, password string) (string, error) {
	var out string
	var err error
	if slotErr := withHashSlot(ctx, func() { out, err = encodeHash(password) }); slotErr != nil {
		return "", slotErr
	}
	return out, err
}

func encodeHash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword checks a password against a PHC argon2id hash (older hashes keep their own parameters).
func verifyPassword(ctx context.Context, encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, nil
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 256*1024 || t > 16 || p == 0 {
		return false, nil
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false, nil
	}
	var got []byte
	if err := withHashSlot(ctx, func() { got = argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want))) }); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
