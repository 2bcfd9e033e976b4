package handlers

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/swarm/enginetest"
)

// BenchmarkAlertChecksCPU runs a whole test server (its live model, status loop and
// background reads) with the alert monitor checking every 5 s, as serve does, against
// the 3-node swarm holding 300 services, and reports the process's CPU time over the
// run as a share of one core, next to the same server without the monitor measured in
// the same run for half as long. Run it with:
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench AlertChecksCPU -benchtime 1x ./handlers/
//
// BERTH_BENCH_SECONDS (600) sets how long the checks run (the baseline half that), BERTH_BENCH_SERVICES (300) the scale.
func BenchmarkAlertChecksCPU(b *testing.B) {
	services, seconds := benchEnv("BERTH_BENCH_SERVICES", 300), benchEnv("BERTH_BENCH_SECONDS", 600)
	cluster := enginetest.Shared(b)
	ts := newServer(b, cluster.Manager().Host())
	cli := must(cluster.Manager().Client()).value(b)
	defer cli.Close()
	createPendingServices(b, ts, cli, services, 2)
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	measure := func(withAlerts bool, seconds int) float64 {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if withAlerts {
			go ts.Alerts.Run(ctx, 5*time.Second)
		}
		start, used := time.Now(), cpu()
		time.Sleep(time.Duration(seconds) * time.Second)
		return 100 * float64(cpu()-used) / float64(time.Since(start))
	}
	idle := measure(false, seconds/2) // the baseline needs less time to settle than the checks
	alerting := measure(true, seconds)
	checks := 0
	for range 20 {
		start := time.Now()
		if err := ts.Alerts.CheckOnce(context.Background()); err != nil {
			b.Fatal(err)
		}
		checks += int(time.Since(start).Microseconds())
	}
	fmt.Printf("%d services: the server idles at %.2f %% of one core without alerts (%d s), %.2f %% with checks every 5 s (%d s): %.2f %% for the checks; one check takes %.1f ms\n",
		services, idle, seconds/2, alerting, seconds, alerting-idle, float64(checks)/20/1000)
	b.ReportMetric(alerting, "cpu-%-with-alerts")
	b.ReportMetric(alerting-idle, "cpu-%-of-checks")
}
