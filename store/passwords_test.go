package store

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

func TestAtMostTwoPasswordHashesRunAtOnce(t *testing.T) {
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := withHashSlot(context.Background(), func() {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(30 * time.Millisecond)
				running.Add(-1)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if most.Load() != hashSlots {
		t.Errorf("%d hashes ran at once, want at most (and here exactly) %d", most.Load(), hashSlots)
	}
	// With both slots held, a sign-in that cannot wait is told to try again.
	hold := make(chan struct{})
	for i := 0; i < hashSlots; i++ {
		go withHashSlot(context.Background(), func() { <-hold })
	}
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := withHashSlot(ctx, func() {}); !errors.Is(err, ErrBusy) {
		t.Errorf("a third hash while two run: %v, want ErrBusy", err)
	}
	close(hold)
}

func TestNewHashesUseOWASPsParametersAndOldOnesStillVerify(t *testing.T) {
	h, err := hashPassword(context.Background(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, "$m=19456,t=2,p=1$") {
		t.Errorf("new hash %s", h)
	}
	ok, err := verifyPassword(context.Background(), h, "correct horse battery")
	if err != nil || !ok {
		t.Errorf("the new hash does not verify: %v %v", ok, err)
	}
	// A hash made with round 1's parameters (m=64 MiB, t=1, p=2) keeps verifying.
	salt := []byte("somesaltsomesalt")
	b64 := base64.RawStdEncoding
	old := "$argon2id$v=19$m=65536,t=1,p=2$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(argon2.IDKey([]byte("correct horse battery"), salt, 1, 64*1024, 2, 32))
	if ok, err := verifyPassword(context.Background(), old, "correct horse battery"); err != nil || !ok {
		t.Errorf("round 1's hash does not verify: %v %v", ok, err)
	}
	if ok, _ := verifyPassword(context.Background(), old, "wrong horse battery"); ok {
		t.Error("a wrong password verified against round 1's hash")
	}
	if ok, _ := verifyPassword(context.Background(), "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$AAAA", "x"); ok {
		t.Error("a hash asking for 100 GB of memory was computed")
	}
}
