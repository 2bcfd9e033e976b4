package totp

import (
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1 column, truncated to 8 digits.
func TestCodeMatchesRFC6238Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		if got := Code(secret, StepAt(time.Unix(tc.unix, 0)), 8); got != tc.want {
			t.Errorf("Code at %d = %s, want %s", tc.unix, got, tc.want)
		}
	}
}

func TestVerifyAcceptsDriftAndRefusesReplay(t *testing.T) {
	secret := NewSecret()
	now := time.Unix(1_700_000_000, 0)
	cur := StepAt(now)
	for _, tc := range []struct {
		name     string
		code     string
		lastUsed int64
		ok       bool
	}{
		{"current step", Code(secret, cur, 6), 0, true},
		{"previous step", Code(secret, cur-1, 6), 0, true},
		{"next step", Code(secret, cur+1, 6), 0, true},
		{"two steps old", Code(secret, cur-2, 6), 0, false},
		{"replayed", Code(secret, cur, 6), cur, false},
		{"with spaces", Code(secret, cur, 6)[:3] + " " + Code(secret, cur, 6)[3:], 0, true},
		{"too short", "12345", 0, false},
		{"letters", "abcdef", 0, false},
	} {
		if _, ok := Verify(secret, tc.code, now, tc.lastUsed); ok != tc.ok {
			t.Errorf("%s: Verify = %v, want %v", tc.name, ok, tc.ok)
		}
	}
}

func TestURICarriesIssuerAndSecret(t *testing.T) {
	uri := URI("Berth", "alice", []byte("12345678901234567890"))
	want := "otpauth://totp/Berth:alice?algorithm=SHA1&digits=6&issuer=Berth&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if uri != want {
		t.Errorf("URI = %s\nwant  %s", uri, want)
	}
}
