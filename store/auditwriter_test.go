package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// Many requests audited at once each get their own committed record, and a closed
// store refuses a record rather than dropping it silently.
func TestConcurrentAuditRecordsAllLand(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Audit(ctx, AuditRecord{Actor: "alice", Action: "backup.export", Object: fmt.Sprintf("export:%d", i)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.AuditRecords(ctx, AuditFilter{Action: "backup.export", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range list {
		seen[r.Object] = true
	}
	if len(list) != 300 || len(seen) != 300 {
		t.Fatalf("%d records, %d distinct objects; want 300 of each", len(list), len(seen))
	}
	s.Close()
	if err := s.Audit(ctx, AuditRecord{Actor: "alice", Action: "late"}); err == nil {
		t.Fatal("a record audited after Close was accepted")
	}
}
