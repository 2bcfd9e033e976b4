package enginetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"
)

// serverProcess is a real server a test runs as its own process: started, waited for
// until its port answers, and stopped (then started again on the same ports and data).
type serverProcess struct {
	name string
	args []string      // the binary, then its arguments
	addr string        // host:port it answers on when up
	log  string        // the file its output goes to ("": discarded)
	wait time.Duration // how long it may take to answer
	cmd  *exec.Cmd
	out  *os.File
}

// Start runs the server and waits until its port answers.
func (p *serverProcess) Start() error {
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	if p.log != "" {
		out, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		p.out, p.cmd.Stdout, p.cmd.Stderr = out, out, out
	}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	for deadline := time.Now().Add(p.wait); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("%s did not answer on %s (its output: %s)", p.name, p.addr, p.log)
}

// Stop ends the server.
func (p *serverProcess) Stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		p.cmd = nil
	}
	if p.out != nil {
		p.out.Close()
		p.out = nil
	}
}
