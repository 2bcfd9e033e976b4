package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"
)

func TestGrantsAreSignedForOneNodeAndExpire(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Unix(1_800_000_000, 0)
	g := Grant{Action: ActUpload, Node: "n1", Volume: "data", Expires: now.Add(time.Minute).Unix()}
	token := Sign(priv, g)
	if got, err := Verify(pub, token, "n1", now); err != nil || got != g {
		t.Fatalf("a valid grant: %+v, %v", got, err)
	}
	body, sig, _ := strings.Cut(token, ".")
	forged := Sign(priv, Grant{Action: ActUpload, Node: "n1", Volume: "other", Expires: g.Expires})
	forgedBody, _, _ := strings.Cut(forged, ".")
	for name, tc := range map[string]struct {
		token, node string
		at          time.Time
		want        string
	}{
		"no grant":             {"", "n1", now, "no grant"},
		"another key":          {Sign(other, g), "n1", now, "not signed"},
		"a changed body":       {forgedBody + "." + sig, "n1", now, "not signed"},
		"garbage":              {"abc", "n1", now, "not signed"},
		"another node":         {token, "n2", now, "another node"},
		"after it expired":     {token, "n1", now.Add(2 * time.Minute), "expired"},
		"the signature alone":  {"." + sig, "n1", now, "not signed"},
		"the body without sig": {body + ".", "n1", now, "not signed"},
	} {
		if _, err := Verify(pub, tc.token, tc.node, tc.at); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
