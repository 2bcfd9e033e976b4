package enginetest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"
)

var (
	sharedOnce sync.Once
	shared     *Cluster
	sharedErr  error
)

// Available reports whether the test command prepared engines for this process.
func Available() bool { return os.Getenv(EnvCluster) != "" }

// requireHarness skips (or, under CI, fails) a test when no engines were prepared.
func requireHarness(t testing.TB) {
	t.Helper()
	if Available() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: run the suite through `go run ./cmd/testenv`", EnvCluster)
	}
	t.Skipf("no test engines (%s unset): run the suite through `go run ./cmd/testenv`", EnvCluster)
}

// Shared returns the swarm the test command started for the whole run; tests
// that use it must leave it as they found it and name what they create uniquely.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	requireHarness(t)
	sharedOnce.Do(func() { shared, sharedErr = Load(os.Getenv(EnvCluster)) })
	if sharedErr != nil {
		t.Fatalf("load shared cluster: %v", sharedErr)
	}
	return shared
}

// Dedicated starts an engine of the test's own (outside any swarm) for tests
// that stop, break or re-initialise it, and destroys it when the test ends.
func Dedicated(t testing.TB) *Node {
	t.Helper()
	requireHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := StartNode(ctx, "solo")
	if err != nil {
		t.Fatalf("start dedicated engine: %v", err)
	}
	t.Cleanup(n.Destroy)
	return n
}
