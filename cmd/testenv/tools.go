package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/berthhq/berth/swarm/enginetest"
)

// buildOnce builds a Go program from the module proxy into the cache, once: module is
// the go.mod of a small module that requires it, pkg the package to build.
func buildOnce(ctx context.Context, name, version, module, pkg string) (string, error) {
	return buildFilesOnce(ctx, name, version, map[string][]byte{"go.mod": []byte(module)}, pkg)
}

// buildFilesOnce is buildOnce for a small module given as its files (go.mod among them).
func buildFilesOnce(ctx context.Context, name, version string, files map[string][]byte, pkg string) (string, error) {
	bin := filepath.Join(traefikCache, name+"-"+version)
	if st, err := os.Stat(bin); err == nil && st.Size() > 0 {
		return bin, nil
	}
	if err := os.MkdirAll(traefikCache, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "berth-"+name+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	for file, data := range files {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			return "", err
		}
	}
	fmt.Printf("testenv: building %s %s for the tests (cached in %s)\n", name, version, traefikCache)
	start := time.Now()
	tmp := bin + ".partial"
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-s -w", "-o", tmp, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	fmt.Printf("testenv: %s built in %s\n", name, time.Since(start).Round(time.Second))
	return bin, nil
}

// ensureTools builds (once) the real servers the tests run and returns their paths as NAME=path for the tests' environment.
func ensureTools(ctx context.Context) ([]string, error) {
	var env []string
	for _, tool := range []struct {
		name  string
		build func(context.Context) (string, error)
	}{{enginetest.EnvTraefik, ensureTraefik}, {enginetest.EnvMailpit, ensureMailpit}, {enginetest.EnvSeaweed, ensureSeaweed}, {enginetest.EnvDistribution, ensureDistribution}, {enginetest.EnvOIDC, ensureOIDCProvider}} {
		path, err := tool.build(ctx)
		if err != nil {
			return nil, err
		}
		env = append(env, tool.name+"="+path)
	}
	return env, nil
}

// ensureMailpit returns the path of the SMTP server the alert tests send to.
func ensureMailpit(ctx context.Context) (string, error) {
	return buildOnce(ctx, "mailpit", enginetest.MailpitVersion, "module berth-mailpit-build\n\ngo 1.25.0\n\nrequire github.com/axllent/mailpit "+enginetest.MailpitVersion+"\n",
		"github.com/axllent/mailpit")
}

// ensureSeaweed returns the path of the S3-compatible server the off-site backup tests copy to.
func ensureSeaweed(ctx context.Context) (string, error) {
	// SeaweedFS's own go.mod replaces one module; a build that requires it must say the same.
	module := "module berth-seaweedfs-build\n\ngo 1.26.6\n\nrequire github.com/seaweedfs/seaweedfs " + enginetest.SeaweedVersion +
		"\n\nreplace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0\n"
	return buildOnce(ctx, "weed", enginetest.SeaweedVersion, module, "github.com/seaweedfs/seaweedfs/weed")
}

// ensureDistribution returns the path of the image registry the image-update tests push to.
func ensureDistribution(ctx context.Context) (string, error) {
	return buildOnce(ctx, "registry", enginetest.DistributionVersion, "module berth-registry-build\n\ngo 1.25.0\n\nrequire github.com/distribution/distribution/v3 "+enginetest.DistributionVersion+"\n",
		"github.com/distribution/distribution/v3/cmd/registry")
}

// oidcProviderDir holds the OpenID provider the single sign-on tests sign in through (its own module).
const oidcProviderDir = "swarm/enginetest/oidcprovider"

// ensureOIDCProvider builds the OpenID provider from its module's files, again whenever they change.
func ensureOIDCProvider(ctx context.Context) (string, error) {
	files := map[string][]byte{}
	sum := sha256.New()
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		data, err := os.ReadFile(filepath.Join(oidcProviderDir, f))
		if err != nil {
			return "", err
		}
		files[f] = data
		sum.Write(data)
	}
	return buildFilesOnce(ctx, "oidcprovider", hex.EncodeToString(sum.Sum(nil))[:12], files, ".")
}
