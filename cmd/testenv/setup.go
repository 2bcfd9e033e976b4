package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// required maps each tool the suite needs to the Debian package that provides it.
var required = []struct{ path, pkg string }{
	{"/usr/sbin/dockerd", "docker.io"},
	{"/bin/busybox", "busybox-static"},
	{"/usr/sbin/iptables", "iptables"},
	{"/usr/bin/chromium", "chromium"},
	{"/usr/bin/unshare", "util-linux"},
	{"/usr/sbin/ip", "iproute2"},
	{"/usr/bin/git", "git"},
	{"/usr/bin/zstd", "zstd"},
}

// ensurePackages installs the Debian packages whose tools are missing.
func ensurePackages(ctx context.Context) error {
	var missing []string
	for _, r := range required {
		if _, err := os.Stat(r.path); err != nil {
			missing = append(missing, r.pkg)
		}
	}
	// The static busybox is what goes into the test image; a dynamic one would not run FROM scratch.
	if out, err := exec.Command("ldd", "/bin/busybox").CombinedOutput(); err == nil && !bytes.Contains(out, []byte("not a dynamic")) {
		missing = append(missing, "busybox-static")
	}
	if len(missing) == 0 {
		return nil
	}
	fmt.Println("testenv: installing", strings.Join(missing, " "))
	if err := command(ctx, "apt-get", "update", "-qq"); err != nil {
		return err
	}
	args := append([]string{"install", "-y", "-qq", "--no-install-recommends"}, missing...)
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get install %s: %w", strings.Join(missing, " "), err)
	}
	return nil
}

// staticChecks runs gofmt, go vet and the templ drift check.
func staticChecks(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "gofmt", "-l", ".").Output()
	if err != nil {
		return fmt.Errorf("gofmt: %w", err)
	}
	if files := strings.TrimSpace(string(out)); files != "" {
		return fmt.Errorf("gofmt would reformat:\n%s", files)
	}
	if err := command(ctx, "go", "vet", "./..."); err != nil {
		return err
	}
	if err := command(ctx, "go", "tool", "templ", "generate"); err != nil {
		return err
	}
	drift, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--", "*_templ.go").Output()
	if err != nil {
		return fmt.Errorf("git status: %w", err)
	}
	if d := strings.TrimSpace(string(drift)); d != "" {
		return fmt.Errorf("generated templ code is out of date (run `go tool templ generate` and commit):\n%s", d)
	}
	fmt.Println("testenv: gofmt, go vet and templ drift check passed")
	return nil
}

// command runs a tool with the suite's output and names it when it fails.
func command(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}
