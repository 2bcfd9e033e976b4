package handlers

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// benchCompose is a compose file of n services on the stack's own network.
func benchCompose(n int) string {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := range n {
		fmt.Fprintf(&b, "  svc%02d:\n    image: %s\n    command: [sleep, \"3600\"]\n    environment: {INDEX: \"%d\"}\n    deploy: {replicas: 0, endpoint_mode: dnsrr}\n",
			i, enginetest.BusyboxImage, i)
	}
	return b.String()
}

// BenchmarkStackDeploy deploys a 20-service stack through Berth's API and the same
// file with `docker stack deploy`, alternating on the same engine, and reports the
// ratio of their medians; it also times a preview (parse, Berth's rules, the boundary
// and the per-service diff) of a 50-service file. Run it with:
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench StackDeploy -benchtime 1x ./handlers/
func BenchmarkStackDeploy(b *testing.B) {
	cluster := enginetest.Shared(b)
	ts := newServer(b, cluster.Manager().Host())
	ctx := context.Background()
	if err := ts.Engine.Initialize(ctx, cluster.Manager().Addr); err != nil {
		b.Fatal(err)
	}
	u := must(ts.Store.CreateUser(ctx, "benchop", testPassword, store.RoleOperator)).value(b)
	token, _, _ := ts.Store.CreateAPIToken(ctx, u.ID, "bench")
	cli := must(cluster.Manager().Client()).value(b)
	defer cli.Close()
	file := filepath.Join(b.TempDir(), "stack.yml")
	compose := benchCompose(20)
	if err := os.WriteFile(file, []byte(compose), 0o600); err != nil {
		b.Fatal(err)
	}
	gone := func(name string) {
		ts.api(b, token, http.MethodDelete, "/api/v1/stacks/"+name, nil)
		exec.Command("docker", "-H", cluster.Manager().Host(), "stack", "rm", name).Run()
		f := filters.NewArgs(filters.Arg("label", "com.docker.stack.namespace="+name))
		waitFor(b, time.Minute, name+" to go", func() bool {
			svcs, _ := cli.ServiceList(ctx, dswarm.ServiceListOptions{Filters: f})
			nets, _ := cli.NetworkList(ctx, network.ListOptions{Filters: f})
			return len(svcs) == 0 && len(nets) == 0
		})
	}
	var berth, docker []time.Duration
	for round := range 5 {
		bn, dn := fmt.Sprintf("benchb%d", round), fmt.Sprintf("benchd%d", round)
		start := time.Now()
		ts.mustAPI(b, token, http.MethodPost, "/api/v1/stacks", map[string]string{"name": bn, "compose": compose}, http.StatusCreated)
		berth = append(berth, time.Since(start))
		start = time.Now()
		if out, err := exec.Command("docker", "-H", cluster.Manager().Host(), "stack", "deploy", "--resolve-image", "never", "-c", file, dn).CombinedOutput(); err != nil {
			b.Fatalf("docker stack deploy: %v\n%s", err, out)
		}
		docker = append(docker, time.Since(start))
		gone(bn)
		gone(dn)
	}
	mb, md := median(berth), median(docker)
	fmt.Printf("20-service stack, 5 rounds: Berth %s, docker stack deploy %s (medians): %.2fx\n", ms(mb), ms(md), float64(mb)/float64(md))

	big := benchCompose(50)
	var preview []time.Duration
	for range 20 {
		start := time.Now()
		ts.mustAPI(b, token, http.MethodPost, "/api/v1/stacks?dry_run=true", map[string]string{"name": "benchpreview", "compose": big}, http.StatusOK)
		preview = append(preview, time.Since(start))
	}
	fmt.Printf("preview of a 50-service file (parse, rules, boundary, diff, over HTTP), 20 times: median %s, slowest %s\n", ms(median(preview)), ms(slowest(preview)))
	b.ReportMetric(float64(mb)/float64(md), "berth/docker")
	b.ReportMetric(float64(median(preview).Microseconds())/1000, "preview50-ms")
}

func slowest(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)-1]
}
