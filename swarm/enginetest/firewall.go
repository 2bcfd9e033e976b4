package enginetest

import (
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// ruleComment marks the only firewall rules the test command adds to the host.
const ruleComment = "berth-test"

// bridgeRule accepts forwarding between the test namespaces on the test bridge, and nothing else.
var bridgeRule = []string{"-i", bridgeName, "-o", bridgeName, "-m", "comment", "--comment", ruleComment, "-j", "ACCEPT"}

// forwardChain is where the rule goes: a host engine's DOCKER-USER chain when there is one
// (FORWARD jumps to it before the engine's own DROP rules), else the top of FORWARD.
func forwardChain() string {
	if exec.Command("iptables", "-n", "-L", "DOCKER-USER").Run() == nil {
		return "DOCKER-USER"
	}
	return "FORWARD"
}

// allowBridgeTraffic lets the host forward the test engines' traffic however its
// FORWARD policy is set (a host engine sets it to DROP), once.
func allowBridgeTraffic() error {
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil // no firewall to pass
	}
	chain := forwardChain()
	if exec.Command("iptables", append([]string{"-C", chain}, bridgeRule...)...).Run() == nil {
		return nil
	}
	return run(append([]string{"iptables", "-I", chain, "1"}, bridgeRule...)...)
}

// removeBridgeRules deletes every rule the test command added, from whichever chain holds it.
func removeBridgeRules() {
	out, err := exec.Command("iptables", "-S").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "-A ") && strings.Contains(line, "--comment "+ruleComment) {
			_ = run(append([]string{"iptables", "-D"}, strings.Fields(line)[1:]...)...)
		}
	}
}

// firewallHint says, when the host's forwarding policy drops traffic, which rule lets the test engines talk.
func firewallHint() string {
	out, _ := exec.Command("iptables", "-S", "FORWARD").Output()
	if !strings.Contains(string(out), "-P FORWARD DROP") {
		return ""
	}
	return fmt.Sprintf("the host's firewall drops the test engines' traffic (FORWARD policy DROP): allow it with `iptables -I %s -i %s -o %s -j ACCEPT`",
		forwardChain(), bridgeName, bridgeName)
}

// reachable reports whether a TCP port answers from inside the namespace within timeout (a port still opening is tried again).
func reachable(namespace, addr string, timeout time.Duration) bool {
	script := fmt.Sprintf("exec 3<>/dev/tcp/%s", strings.Replace(addr, ":", "/", 1))
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if exec.Command("ip", "netns", "exec", namespace, "timeout", "2", "bash", "-c", script).Run() == nil {
			return true
		}
	}
	return false
}

// iptablesRules is the host's filter rules as iptables-save writes them, without counters and comments.
func iptablesRules() (string, error) {
	out, err := exec.Command("iptables-save", "-t", "filter").Output()
	if err != nil {
		return "", fmt.Errorf("iptables-save: %w", err)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, ":") { // ":FORWARD DROP [12:345]"
			if i := strings.LastIndex(l, " ["); i > 0 {
				l = l[:i]
			}
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n"), nil
}
