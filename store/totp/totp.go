// Package totp implements time-based one-time passwords (RFC 6238) as
// authenticator apps use them: SHA-1, 6 digits, 30-second steps.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Step is the length of one code's validity window.
const Step = 30 * time.Second

// NewSecret returns 20 random bytes, the size RFC 4226 recommends.
func NewSecret() []byte {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("totp: no randomness: %v", err))
	}
	return b
}

// Encode renders a secret in the unpadded base32 authenticator apps expect.
func Encode(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

// URI is the otpauth:// link a QR code carries for enrolment.
func URI(issuer, account string, secret []byte) string {
	label := url.PathEscape(issuer + ":" + account)
	q := url.Values{"secret": {Encode(secret)}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// Code computes the code for a time step with the given number of digits.
func Code(secret []byte, step int64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for i := 0; i < digits; i++ {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// StepAt is the time step a moment falls in.
func StepAt(t time.Time) int64 { return t.Unix() / int64(Step/time.Second) }

// Verify checks a 6-digit code against the steps around now (one step of clock
// drift either way) and returns the matching step, which the caller must record
// so that a code cannot be used twice; steps at or before lastUsed are refused.
func Verify(secret []byte, code string, now time.Time, lastUsed int64) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	cur := StepAt(now)
	for _, s := range []int64{cur, cur - 1, cur + 1} {
		if s <= lastUsed {
			continue
		}
		if hmac.Equal([]byte(Code(secret, s, 6)), []byte(code)) {
			return s, true
		}
	}
	return 0, false
}
