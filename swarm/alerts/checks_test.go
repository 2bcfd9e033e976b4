package alerts

import (
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/swarm"
)

// Each check against facts that show its problem, and against facts that do not.
func TestChecksNameEachProblemAndItsObject(t *testing.T) {
	now := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	svc := func(name string, running, desired int, state string, tasks ...swarm.Task) swarm.Service {
		return swarm.Service{Spec: swarm.ServiceSpec{Name: name}, Running: running, Desired: desired, UpdateState: state, Tasks: tasks}
	}
	failed := func(ago time.Duration) swarm.Task {
		return swarm.Task{State: "failed", Error: "task: non-zero exit (3)", UpdatedAt: now.Add(-ago)}
	}
	for _, tc := range []struct {
		name  string
		facts Facts
		want  string // "kind object" of every condition, or ""
		says  string
	}{
		{"all well", Facts{Nodes: []swarm.NodeInfo{{Hostname: "m1", Role: "manager", Status: "ready", Reachability: "reachable"}},
			Services: []swarm.Service{svc("web", 2, 2, "completed")}, LastBackup: BackupFact{Status: "complete"}, LastComplete: now.Add(-time.Hour), BackupInterval: time.Hour, DiskUsed: 40}, "", ""},
		{"a node down", Facts{Nodes: []swarm.NodeInfo{{Hostname: "w1", Role: "worker", Status: "down"}}}, "node_down node:w1", "Node w1 is down"},
		{"a manager lost", Facts{Nodes: []swarm.NodeInfo{{Hostname: "m2", Role: "manager", Status: "ready", Reachability: "unreachable"}}}, "manager_unreachable node:m2", "unreachable"},
		{"a service below its replicas", Facts{Services: []swarm.Service{svc("web", 1, 3, "")}}, "service_degraded service:web", "web runs 1 of 3 tasks"},
		{"an update in progress is no degraded service", Facts{Services: []swarm.Service{svc("web", 1, 3, "updating")}}, "", ""},
		{"a paused rollout", Facts{Services: []swarm.Service{svc("web", 2, 2, "paused")}}, "rollout_stopped service:web", "paused"},
		{"a rolled back rollout", Facts{Services: []swarm.Service{svc("web", 2, 2, "rollback_completed")}}, "rollout_stopped service:web", "rolled back"},
		{"a restart loop", Facts{Services: []swarm.Service{svc("job", 0, 1, "", failed(time.Minute), failed(2*time.Minute), failed(3*time.Minute), failed(4*time.Minute), failed(5*time.Minute), failed(6*time.Minute))}},
			"service_degraded service:job, restart_loop service:job", "non-zero exit"},
		{"old failures are no loop", Facts{Services: []swarm.Service{svc("job", 1, 1, "", failed(11*time.Minute), failed(12*time.Minute), failed(13*time.Minute), failed(14*time.Minute), failed(15*time.Minute), failed(16*time.Minute))}}, "", ""},
		{"a failed backup", Facts{LastBackup: BackupFact{ID: "20261203T020000Z", Status: "failed", Error: "write /backups/x: no space left on device"}}, "backup_failed backups", "no space left"},
		{"no backup for two intervals", Facts{LastComplete: now.Add(-3 * time.Hour), BackupInterval: time.Hour}, "backup_missing backups", "No complete backup since"},
		{"a certificate with 10 days left", Facts{Certificates: []CertFact{{Name: "shop.example", NotAfter: now.Add(10 * 24 * time.Hour)}}}, "certificate domain:shop.example", "expires in 10 days"},
		{"a certificate with 30 days left", Facts{Certificates: []CertFact{{Name: "shop.example", NotAfter: now.Add(30 * 24 * time.Hour)}}}, "", ""},
		{"the swarm locked", Facts{SwarmState: "locked"}, "swarm_locked swarm", "locked"},
		{"the backup disk nearly full", Facts{DiskUsed: 93}, "backup_disk_full backups", "93 % full"},
		{"a service near its memory limit", Facts{Memory: map[string]MemoryFact{"db": {Used: 950 << 20, Limit: 1 << 30}, "web": {Used: 800 << 20, Limit: 1 << 30}, "free": {Used: 5 << 30}}},
			"memory_limit service:db", "950 MiB in use of 1024 MiB"},
		{"a failed restore drill", Facts{LastDrill: DrillFact{Snapshot: "20261203T020000Z-abc", Status: "failed", Detail: "data/a.txt: missing"}}, "restore_drill_failed restore-drills", "data/a.txt: missing"},
		{"an off-site copy failing", Facts{FailedCopies: []CopyFact{{Snapshot: "s1", Error: "connection refused", Attempts: 4}}}, "offsite_copy_failed backup:s1", "connection refused"},
		{"an agent missing on a ready node", Facts{AgentsDeployed: true, Nodes: []swarm.NodeInfo{{ID: "n1", Hostname: "w1", Status: "ready"}},
			Agents: map[string]swarm.AgentState{"n1": {State: "failed", Error: "image not found"}}}, "agent node:w1", "image not found"},
		{"an agent of another version", Facts{AgentsDeployed: true, Nodes: []swarm.NodeInfo{{ID: "n1", Hostname: "w1", Status: "ready"}},
			Agents: map[string]swarm.AgentState{"n1": {State: "running", Image: "berth:0.9"}}}, "agent node:w1", "berth:0.9"},
		{"agents fine", Facts{AgentsDeployed: true, Nodes: []swarm.NodeInfo{{ID: "n1", Hostname: "w1", Status: "ready"}},
			Agents: map[string]swarm.AgentState{"n1": {State: "running", Current: true}}}, "", ""},
		{"a domain pointing elsewhere", Facts{Domains: []swarm.DomainState{{Domain: swarm.Domain{Host: "shop.example", Port: 80}, Service: "web", Addresses: []string{"203.0.113.9"}}}},
			"domain_dns domain:shop.example", "203.0.113.9"},
		{"a presented certificate not valid", Facts{Domains: []swarm.DomainState{{Domain: swarm.Domain{Host: "shop.example"}, Service: "web", PointsHere: true, CertProblem: "issued for another name"}}},
			"certificate domain:shop.example", "another name"},
		{"a presented certificate with 5 days left", Facts{Domains: []swarm.DomainState{{Domain: swarm.Domain{Host: "shop.example"}, Service: "web", PointsHere: true, CertTrusted: true, CertNotAfter: now.Add(5 * 24 * time.Hour)}}},
			"certificate domain:shop.example", "expires in 5 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.facts.Now = now
			got := Check(tc.facts, Settings{})
			var keys, text []string
			for _, c := range got {
				keys = append(keys, c.Kind+" "+c.Object)
				text = append(text, c.Title+" "+c.Detail)
			}
			if strings.Join(keys, ", ") != tc.want {
				t.Errorf("conditions %v, want %q", keys, tc.want)
			}
			if tc.says != "" && !strings.Contains(strings.Join(text, " | "), tc.says) {
				t.Errorf("the words %q do not say %q", text, tc.says)
			}
		})
	}
	if got := Check(Facts{Now: now, SwarmState: "locked"}, Settings{Off: map[string]bool{KindSwarmLocked: true}}); len(got) != 0 {
		t.Errorf("a kind turned off still alerts: %v", got)
	}
}

func TestAServiceOverItsMemoryLimitWaitsFiveMinutes(t *testing.T) {
	if got := (Settings{}).Rules().Hold[KindMemoryLimit]; got != 5*time.Minute {
		t.Errorf("the memory limit alert holds for %s", got)
	}
}
