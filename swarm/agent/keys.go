// Package agent is Berth's node agent: a mutually authenticated, per-action
// authorised gate to one node's Docker engine, and the keys both ends hold.
package agent

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// ServerName is the name every agent's certificate carries and the portal checks.
const ServerName = "berth-agent"

// PortalName is the common name of the portal's client certificate, the only client agents accept.
const PortalName = "berth-portal"

// Keys are everything Berth generates for its agents: a private authority, the
// agents' server certificate, the portal's client certificate and the key that signs grants.
type Keys struct {
	CA          []byte `json:"ca"`           // PEM certificate of the authority (its key is thrown away)
	AgentCert   []byte `json:"agent_cert"`   // PEM, server auth only
	AgentKey    []byte `json:"agent_key"`    // PEM
	PortalCert  []byte `json:"portal_cert"`  // PEM, client auth only
	PortalKey   []byte `json:"portal_key"`   // PEM
	GrantPublic []byte `json:"grant_public"` // Ed25519 public key agents verify grants with
	GrantKey    []byte `json:"grant_key"`    // Ed25519 private key only the portal holds
}

// NewKeys generates a fresh set; the authority signs both certificates and is then forgotten,
// so no one can issue another certificate agents or the portal would accept.
func NewKeys(now time.Time) (Keys, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Keys{}, err
	}
	ca := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "Berth agent authority"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return Keys{}, err
	}
	k := Keys{CA: pemBlock("CERTIFICATE", caDER)}
	if k.AgentCert, k.AgentKey, err = issue(ca, caKey, ServerName, x509.ExtKeyUsageServerAuth, now); err != nil {
		return Keys{}, err
	}
	if k.PortalCert, k.PortalKey, err = issue(ca, caKey, PortalName, x509.ExtKeyUsageClientAuth, now); err != nil {
		return Keys{}, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Keys{}, err
	}
	k.GrantPublic, k.GrantKey = pub, priv
	return k, nil
}

// issue makes a leaf certificate for one purpose.
func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, usage x509.ExtKeyUsage, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err)
	}
	return n
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

// Fingerprint names this set of keys (in secret names): the first bytes of a hash of the public parts.
func (k Keys) Fingerprint() string {
	h := sha256.New()
	h.Write(k.CA)
	h.Write(k.GrantPublic)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Marshal encodes the keys for sealing in Berth's database.
func (k Keys) Marshal() ([]byte, error) { return json.Marshal(k) }

// UnmarshalKeys decodes what Marshal made.
func UnmarshalKeys(b []byte) (Keys, error) {
	var k Keys
	if err := json.Unmarshal(b, &k); err != nil {
		return Keys{}, fmt.Errorf("agent keys: %w", err)
	}
	if len(k.GrantKey) != ed25519.PrivateKeySize || len(k.GrantPublic) != ed25519.PublicKeySize {
		return Keys{}, errors.New("agent keys: the grant key is missing")
	}
	return k, nil
}

// SecretFiles are the files an agent needs, by the name it reads them under (the
// portal's private keys are not among them).
func (k Keys) SecretFiles() map[string][]byte {
	return map[string][]byte{"ca.pem": k.CA, "agent.pem": k.AgentCert, "agent-key.pem": k.AgentKey,
		"grant.pub": []byte(hex.EncodeToString(k.GrantPublic))}
}

// ClientTLS is the portal's side: its client certificate, and only agents certified by the authority.
func (k Keys) ClientTLS() (*tls.Config, error) {
	cert, err := tls.X509KeyPair(k.PortalCert, k.PortalKey)
	if err != nil {
		return nil, fmt.Errorf("the portal's agent certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(k.CA) {
		return nil, errors.New("the agent authority's certificate cannot be read")
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: ServerName, MinVersion: tls.VersionTLS13}, nil
}

// ServerTLS is an agent's side: its certificate, and only clients certified by the
// authority for client use under the portal's name.
func ServerTLS(caPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("the agent's certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the agent authority's certificate cannot be read")
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS13, NextProtos: []string{"http/1.1"},
		VerifyPeerCertificate: func(_ [][]byte, chains [][]*x509.Certificate) error {
			if len(chains) == 0 || chains[0][0].Subject.CommonName != PortalName {
				return errors.New("only the Berth portal may connect")
			}
			return nil
		},
	}, nil
}

// ParseGrantKey reads the public key agents verify grants with (hex, as SecretFiles writes it).
func ParseGrantKey(b []byte) (ed25519.PublicKey, error) {
	raw, err := hex.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("the grant key is not an Ed25519 public key")
	}
	return ed25519.PublicKey(raw), nil
}
