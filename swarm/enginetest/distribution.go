package enginetest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// DistributionVersion is the CNCF image registry the image-update tests push to, built from the module proxy.
const DistributionVersion = "v3.1.2"

// EnvDistribution names the built registry binary (set by the test command).
const EnvDistribution = "BERTH_TEST_DISTRIBUTION"

// ImageRegistry is a real image registry (CNCF distribution) with basic auth, on the
// host side of the test bridge, where every test engine may pull from it over HTTP.
type ImageRegistry struct {
	Host string // host:port as the engines reach it
	serverProcess
}

// StartImageRegistry serves a registry that accepts only the given username/password pairs, stopped when the test ends.
func StartImageRegistry(t testing.TB, users map[string]string) *ImageRegistry {
	t.Helper()
	bin := toolBinary(t, EnvDistribution, "image registry")
	requireHarness(t)
	if err := ensureBridge(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var htpasswd strings.Builder
	for user, pass := range users {
		hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&htpasswd, "%s:%s\n", user, hash)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(htpasswd.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", bridgeAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"+
		"http:\n  addr: %s\nauth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n", filepath.Join(dir, "data"), addr, filepath.Join(dir, "htpasswd"))
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &ImageRegistry{Host: addr}
	r.name, r.wait, r.addr, r.log = "registry", 15*time.Second, addr, filepath.Join(dir, "registry.log")
	r.args = []string{bin, "serve", filepath.Join(dir, "config.yml")}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}
