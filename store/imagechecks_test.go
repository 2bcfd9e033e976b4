package store

import (
	"context"
	"testing"
	"time"
)

func TestImageChecksKeepWhenTheTagWasFirstSeenAtADigest(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	save := func(latest, errMsg string, at time.Time, running ...string) ImageCheck {
		t.Helper()
		c, err := s.SaveImageCheck(ctx, ImageCheck{ServiceID: "svc1", Service: "web", Tagged: "reg/web:1", Running: running, Latest: latest, Error: errMsg, CheckedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := save("sha256:a", "", t0, "sha256:a"); c.UpdateAvailable() || !c.LatestSeenAt.Equal(t0) {
		t.Errorf("first check: %+v", c)
	}
	c := save("sha256:b", "", t0.Add(time.Hour), "sha256:a")
	if !c.UpdateAvailable() || !c.LatestSeenAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("the tag moved: %+v", c)
	}
	if c := save("sha256:b", "", t0.Add(2*time.Hour), "sha256:a"); !c.LatestSeenAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("seen again: since %v, want the first sighting", c.LatestSeenAt)
	}
	if c := save("", "registry unreachable", t0.Add(3*time.Hour), "sha256:a"); c.Latest != "sha256:b" || c.UpdateAvailable() {
		t.Errorf("a failed check keeps the digest but claims nothing: %+v", c)
	}
	all, err := s.ImageChecks(ctx)
	if err != nil || all["svc1"].Error != "registry unreachable" || len(all["svc1"].Running) != 1 {
		t.Fatalf("read back: %+v %v", all, err)
	}
	if err := s.ForgetImageChecks(ctx, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.ImageChecks(ctx); len(all) != 0 {
		t.Errorf("a removed service's check is kept: %+v", all)
	}
}
