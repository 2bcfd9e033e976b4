package agent

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Header carries the portal's signed grant on every request to an agent.
const Header = "X-Berth-Grant"

// The actions a grant can allow; each allows only the engine calls that action needs.
const (
	ActTerminal = "terminal" // a shell in one container
	ActVolumes  = "volumes"  // listing the node's volumes and their sizes
	ActUpload   = "upload"   // writing an upload into one volume
	ActBackup   = "backup"   // reading one volume's data
	ActRestore  = "restore"  // writing an archive into one volume (created if missing)
	ActStats    = "stats"    // reading the resource use of the node's task containers
	ActImages   = "images"   // listing the node's images and disk use, removing images no container uses
)

// Grant is what the portal allows one piece of work on one node to do.
type Grant struct {
	Action    string `json:"act"`
	Node      string `json:"node"`          // the swarm node id of the agent it is for
	Container string `json:"ctr,omitempty"` // terminal: the container's full id
	Volume    string `json:"vol,omitempty"` // upload, backup, restore: the volume
	Expires   int64  `json:"exp"`           // unix seconds
}

// Sign encodes and signs a grant with the portal's key.
func Sign(key ed25519.PrivateKey, g Grant) string {
	body, _ := json.Marshal(g)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(ed25519.Sign(key, body))
}

// ErrGrant is the reason every refused grant wraps.
var ErrGrant = errors.New("grant refused")

// Verify checks a grant's signature, expiry and node.
func Verify(pub ed25519.PublicKey, token, node string, now time.Time) (Grant, error) {
	if token == "" {
		return Grant{}, fmt.Errorf("%w: the request carries no grant", ErrGrant)
	}
	body64, sig64, ok := strings.Cut(token, ".")
	enc := base64.RawURLEncoding
	body, err1 := enc.DecodeString(body64)
	sig, err2 := enc.DecodeString(sig64)
	if !ok || err1 != nil || err2 != nil || !ed25519.Verify(pub, body, sig) {
		return Grant{}, fmt.Errorf("%w: not signed by the portal", ErrGrant)
	}
	var g Grant
	if err := json.Unmarshal(body, &g); err != nil {
		return Grant{}, fmt.Errorf("%w: unreadable", ErrGrant)
	}
	switch {
	case now.Unix() > g.Expires:
		return Grant{}, fmt.Errorf("%w: expired", ErrGrant)
	case g.Node != node:
		return Grant{}, fmt.Errorf("%w: issued for another node", ErrGrant)
	}
	return g, nil
}
