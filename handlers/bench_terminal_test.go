package handlers

import (
	"bytes"
	"context"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	dockerclient "github.com/docker/docker/client"
	"nhooyr.io/websocket"
)

// terminalBytes is the output each throughput round moves: 100 MB.
const terminalBytes = 100 << 20

// BenchmarkTerminal measures, in one run on an engine of its own, the throughput of
// 10 MB of output through Berth's terminal against `docker exec` of the same
// command, and the keystroke round trip (a key sent, its echo back) at the median
// and 99th percentile. Run it with:
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench Terminal -benchtime 3x ./handlers/
func BenchmarkTerminal(b *testing.B) {
	node := enginetest.Dedicated(b)
	ctx := context.Background()
	ts := newServer(b, node.Host())
	if err := ts.Engine.Initialize(ctx, node.Addr); err != nil {
		b.Fatal(err)
	}
	cli, err := node.Client()
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	spec := serviceSpec("bench-term")
	if _, err := cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{}); err != nil {
		b.Fatal(err)
	}
	one := &enginetest.Cluster{Nodes: []*enginetest.Node{node}}
	_, id, err := one.RunningContainer(ctx, "bench-term")
	if err != nil {
		b.Fatal(err)
	}
	c := ts.signedIn("op", store.RoleOperator)
	c.get("/terminal/" + id)
	// cat of a file written once: yes(1) writes two bytes at a time, which measures the pseudo-terminal, not the path.
	if _, err := enginetest.Exec(ctx, node, id, "sh", "-c", "yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz | head -c 104857600 > /big"); err != nil {
		b.Fatal(err)
	}
	command := "cat /big"

	var raw, berth []float64 // MB/s
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		n := dockerExec(b, cli, id, command)
		raw = append(raw, mbps(n, time.Since(start)))

		ws := openTerminal(b, ts, c, id)
		start = time.Now()
		n = runInTerminal(b, ws, command+"; exit 0\r")
		berth = append(berth, mbps(n, time.Since(start)))
	}
	b.StopTimer()
	tc := openTerminal(b, ts, c, id)
	defer tc.ws.CloseNow()
	rtts := keystrokes(b, tc, 500)
	b.ReportMetric(medianF(raw), "exec-MB/s")
	b.ReportMetric(medianF(berth), "terminal-MB/s")
	b.ReportMetric(medianF(berth)/medianF(raw), "terminal/exec")
	b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds())/1000, "key-p50-ms")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds())/1000, "key-p99-ms")
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / (1 << 20) / d.Seconds() }

func medianF(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// dockerExec runs the command with a TTY straight through the engine and returns the bytes read.
func dockerExec(b *testing.B, cli *dockerclient.Client, id, command string) int64 {
	b.Helper()
	ctx := context.Background()
	created, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: []string{"sh", "-c", command}, Tty: true, AttachStdout: true})
	if err != nil {
		b.Fatal(err)
	}
	att, err := cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: true})
	if err != nil {
		b.Fatal(err)
	}
	defer att.Close()
	n, _ := io.Copy(io.Discard, att.Reader)
	if n < terminalBytes {
		b.Fatalf("docker exec moved %d bytes", n)
	}
	return n
}

// termConn reads a terminal websocket on its own goroutine, so waiting never cancels a read
// (which would close the connection).
type termConn struct {
	ws   *websocket.Conn
	msgs chan termMsg
}

type termMsg struct {
	binary bool
	data   []byte
}

func openTerminal(b *testing.B, ts *testServer, c *client, id string) *termConn {
	b.Helper()
	ws, _, err := dialTerminal(b, ts, c, id, "")
	if err != nil {
		b.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	tc := &termConn{ws: ws, msgs: make(chan termMsg, 1024)}
	go func() {
		defer close(tc.msgs)
		for {
			typ, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			tc.msgs <- termMsg{binary: typ == websocket.MessageBinary, data: data}
		}
	}()
	return tc
}

func (tc *termConn) send(b *testing.B, data string) {
	if err := tc.ws.Write(context.Background(), websocket.MessageText, []byte(`{"type":"input","data":`+quote(data)+`}`)); err != nil {
		b.Fatal(err)
	}
}

// runInTerminal types a command and counts output bytes until the shell exits.
func runInTerminal(b *testing.B, tc *termConn, line string) int64 {
	b.Helper()
	tc.send(b, line)
	var n int64
	for m := range tc.msgs {
		if m.binary {
			n += int64(len(m.data))
		} else if bytes.Contains(m.data, []byte(`"exit"`)) {
			break
		}
	}
	if n < terminalBytes {
		b.Fatalf("the terminal moved %d bytes", n)
	}
	return n
}

// keystrokes sends single keys and times each until its echo comes back.
func keystrokes(b *testing.B, tc *termConn, count int) []time.Duration {
	b.Helper()
	tc.drain(500 * time.Millisecond) // the prompt
	var out []time.Duration
	for i := 0; i < count; i++ {
		key := "x"
		if i%2 == 1 {
			key = "\u007f" // backspace keeps the line short
		}
		start := time.Now()
		tc.send(b, key)
		select {
		case <-tc.msgs:
		case <-time.After(5 * time.Second):
			b.Fatal("no echo within 5s")
		}
		out = append(out, time.Since(start))
		tc.drain(2 * time.Millisecond) // the rest of an echo that came in two frames
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// drain discards whatever arrives within d.
func (tc *termConn) drain(d time.Duration) {
	for {
		select {
		case <-tc.msgs:
		case <-time.After(d):
			return
		}
	}
}

func quote(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u00`)
			b.WriteString(hex2(byte(r)))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hex2(c byte) string { return string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15]) }
