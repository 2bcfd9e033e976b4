package enginetest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// CheckBesideAHostEngine proves on a machine with no engine of its own that the test
// command works beside one: it makes the host's firewall look as a host engine leaves
// it (FORWARD policy DROP, a DOCKER-USER chain that FORWARD jumps to first), brings a
// two-node swarm up, tears it down, and checks that the host's rules are then exactly
// as it found them; the host's own rules are put back in any case.
func CheckBesideAHostEngine(ctx context.Context) (err error) {
	original, err := iptablesRules()
	if err != nil {
		return err
	}
	saved, err := exec.Command("iptables-save", "-t", "filter").Output()
	if err != nil {
		return err
	}
	defer func() {
		restore := exec.Command("iptables-restore", "-T", "filter")
		restore.Stdin = strings.NewReader(string(saved))
		if out, rerr := restore.CombinedOutput(); rerr != nil && err == nil {
			err = fmt.Errorf("putting the host's rules back: %v: %s", rerr, out)
		}
		if now, _ := iptablesRules(); now != original && err == nil {
			err = fmt.Errorf("the host's rules are not as they were:\n%s\nnow:\n%s", original, now)
		}
	}()
	for _, s := range [][]string{
		{"iptables", "-P", "FORWARD", "DROP"},
		{"iptables", "-N", "DOCKER-USER"},
		{"iptables", "-A", "DOCKER-USER", "-j", "RETURN"},
		{"iptables", "-I", "FORWARD", "1", "-j", "DOCKER-USER"},
	} {
		if err := run(s...); err != nil {
			return err
		}
	}
	hostStyle, err := iptablesRules()
	if err != nil {
		return err
	}
	c, err := StartCluster(ctx, 2)
	if err != nil {
		return fmt.Errorf("a swarm beside a host engine's firewall: %w", err)
	}
	c.Destroy()
	RemoveBridge()
	after, err := iptablesRules()
	if err != nil {
		return err
	}
	if after != hostStyle {
		return fmt.Errorf("the test command left the host engine's rules changed:\nbefore:\n%s\nafter:\n%s", hostStyle, after)
	}
	return nil
}
