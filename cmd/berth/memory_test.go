package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/swarm/enginetest"
)

// idleLimitMiB is the most `berth serve` may hold resident before anyone signs in.
const idleLimitMiB = 40

// idleResidentMiB builds Berth as the README's run command does, starts `berth serve`
// against an engine of its own (a Berth starting on the shared swarm would upgrade the
// other tests' agents and clear their helpers) with a fresh data folder, waits until it
// answers and its status loop and live model have run, and reads its resident memory from /proc.
func idleResidentMiB(tb testing.TB) float64 {
	tb.Helper()
	node := enginetest.Dedicated(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(tb.TempDir(), "berth")
	_, env, err := enginetest.READMERunEnv("../../README.md")
	if err != nil {
		tb.Fatal(err)
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = []string{"BERTH_ADDR=" + addr, "BERTH_DATA=" + filepath.Join(tb.TempDir(), "data"), "DOCKER_HOST=" + node.Host(), "PATH=" + os.Getenv("PATH")}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if ctx.Err() != nil {
			tb.Fatalf("berth serve never answered on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // the live model's first listing and the status loop have run
	kib, err := residentKiB(cmd.Process.Pid)
	if err != nil {
		tb.Fatal(err)
	}
	return float64(kib) / 1024
}

// residentKiB reads VmRSS of a process.
func residentKiB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func TestIdleServeHoldsUnder40MiB(t *testing.T) {
	mib := idleResidentMiB(t)
	t.Logf("berth serve, idle after start: %.1f MiB resident", mib)
	if mib > idleLimitMiB {
		t.Errorf("berth serve holds %.1f MiB resident before anyone signs in; the bound is %d MiB", mib, idleLimitMiB)
	}
}

// BenchmarkIdleServeMemory reports the idle resident memory (go test -bench IdleServeMemory ./cmd/berth/).
func BenchmarkIdleServeMemory(b *testing.B) {
	var total float64
	for i := 0; i < b.N; i++ {
		total += idleResidentMiB(b)
	}
	b.ReportMetric(total/float64(b.N), "MiB-resident")
}
