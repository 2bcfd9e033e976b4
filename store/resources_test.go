package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// tiers are swarm/metrics' resolutions, but for the last tier kept 3 days rather than 30,
// so that a run of 4 days (under the race detector, SQLite inserts slowly) reaches every rule.
var tiers = []ResourceTier{{Step: 15 * time.Second, Keep: 6 * time.Hour}, {Step: time.Minute, Keep: 48 * time.Hour}, {Step: 10 * time.Minute, Keep: 3 * 24 * time.Hour}}

// Four days of 15-second samples for a few services, written an hour at a time and
// downsampled after each hour as the collector does, end with each age at its resolution
// and the table within its bound.
func TestResourceHistoryKeepsEachAgeAtItsResolutionWithinItsBound(t *testing.T) {
	checkHistory(t, 2, 4, tiers) // the counts are per series: 50 services keep 25 times as many
}

// BenchmarkResourceHistoryThirtyDaysOfFiftyServices is the same check at full scale: 31 days
// of 15-second samples for 50 services (8.9 million rows written) at swarm/metrics' own
// resolutions, which must end with exactly the bound per series. Run it with:
//
//	go test -run '^$' -bench ResourceHistoryThirtyDays -benchtime 1x ./store/
func BenchmarkResourceHistoryThirtyDaysOfFiftyServices(b *testing.B) {
	full := append([]ResourceTier{}, tiers...)
	full[2].Keep = 30 * 24 * time.Hour
	for range b.N {
		start := time.Now()
		checkHistory(b, 50, 31, full)
		b.ReportMetric(time.Since(start).Seconds(), "s-for-31-days")
	}
}

// checkHistory writes days of samples for services an hour at a time, downsampling after
// each hour, and checks the count at each resolution, the bound and the averages.
func checkHistory(t testing.TB, services, days int, tiers []ResourceTier) {
	st, _ := openTest(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(time.Duration(days) * 24 * time.Hour)
	// Every hour's samples hold the hour of the day as their CPU, so averages can be checked.
	for hour := start; hour.Before(end); hour = hour.Add(time.Hour) {
		var batch []ResourceSample
		for i := range services {
			for t := hour; t.Before(hour.Add(time.Hour)); t = t.Add(15 * time.Second) {
				batch = append(batch, ResourceSample{Kind: "service", Name: fmt.Sprintf("svc%02d", i), T: t, Step: 15 * time.Second,
					CPU: float64(t.Hour()), Memory: 64 << 20})
			}
		}
		if err := st.SaveResourceSamples(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := st.DownsampleResources(ctx, hour.Add(time.Hour), tiers); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := st.ResourceSampleCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Per series: 6 h at 15 s, then 42 h at 1 min, then the rest of the last tier's keep at 10 min.
	want := map[int64]int{15: 6 * 240, 60: 42 * 60, 600: int(tiers[2].Keep/time.Hour-48) * 6}
	for step, n := range want {
		if counts[step] != n*services {
			t.Errorf("samples at %d s: %d, want %d", step, counts[step], n*services)
		}
	}
	bound := services * (want[15] + want[60] + want[600])
	if total := counts[15] + counts[60] + counts[600]; total > bound || len(counts) != 3 {
		t.Errorf("%d samples at %v, over the bound of %d", total, counts, bound)
	}
	// Three days in 30-minute buckets, across all three resolutions: each bucket averages one half hour of the day.
	week, err := st.ResourceSamples(ctx, "service", "svc01", 30*time.Minute, end.Add(-3*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(week) != 3*48 {
		t.Fatalf("three days in 30-minute buckets: %d", len(week))
	}
	for _, s := range week {
		if s.CPU != float64(s.T.Hour()) || s.Memory != 64<<20 {
			t.Fatalf("the bucket at %s averages %v cores and %d bytes", s.T, s.CPU, s.Memory)
		}
	}
	// The last hour is still at 15 s.
	hour, err := st.ResourceSamples(ctx, "service", "svc01", 15*time.Second, end.Add(-time.Hour))
	if err != nil || len(hour) != 240 {
		t.Errorf("the last hour at 15 s: %d samples (%v)", len(hour), err)
	}
}
