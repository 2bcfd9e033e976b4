package stack

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParseAndCheck50 reads and checks a 50-service compose file (compose-go's
// loader, the conversion, Berth's rules), without the engine.
func BenchmarkParseAndCheck50(b *testing.B) {
	var f strings.Builder
	f.WriteString("services:\n")
	for i := range 50 {
		fmt.Fprintf(&f, "  svc%02d:\n    image: busybox:1.36\n    command: [sleep, \"3600\"]\n    environment: {INDEX: \"%d\"}\n    ports: [\"%d:80\"]\n    deploy: {replicas: 2}\n", i, i, 10000+i)
	}
	in := Input{Name: "bench", Compose: f.String()}
	for b.Loop() {
		p, err := Parse(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		if errs := p.Check(); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
