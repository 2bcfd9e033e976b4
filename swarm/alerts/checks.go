package alerts

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm"
)

// Settings are the thresholds an admin sets; zero values take the defaults.
type Settings struct {
	DegradedFor     time.Duration // a service below its replicas this long (default 5 minutes)
	RestartFailures int           // task failures in 10 minutes that make a restart loop (default 5)
	CertDays        int           // days before a certificate's expiry (default 14)
	DiskPercent     float64       // the backup directory's disk this full (default 90)
	RepeatEvery     time.Duration // reminders of an open alert (default 4 hours)
	MemoryPercent   float64       // a service's memory against its limit (default 90)
	MemoryFor       time.Duration // ... held this long (default 5 minutes)
	Off             map[string]bool
}

// WithDefaults fills in what is not set.
func (s Settings) WithDefaults() Settings {
	if s.DegradedFor <= 0 {
		s.DegradedFor = 5 * time.Minute
	}
	if s.RestartFailures <= 0 {
		s.RestartFailures = 5
	}
	if s.CertDays <= 0 {
		s.CertDays = 14
	}
	if s.DiskPercent <= 0 {
		s.DiskPercent = 90
	}
	if s.RepeatEvery <= 0 {
		s.RepeatEvery = 4 * time.Hour
	}
	if s.MemoryPercent <= 0 {
		s.MemoryPercent = 90
	}
	if s.MemoryFor <= 0 {
		s.MemoryFor = 5 * time.Minute
	}
	return s
}

// Rules are the tracker's timing for these settings.
func (s Settings) Rules() Rules {
	s = s.WithDefaults()
	return Rules{Hold: map[string]time.Duration{KindServiceDegraded: s.DegradedFor, KindMemoryLimit: s.MemoryFor}, ResolveAfter: 30 * time.Second, Repeat: s.RepeatEvery}
}

// The kinds of alert, each on by default.
const (
	KindNodeDown        = "node_down"
	KindManagerLost     = "manager_unreachable"
	KindServiceDegraded = "service_degraded"
	KindRollout         = "rollout_stopped"
	KindRestartLoop     = "restart_loop"
	KindBackupFailed    = "backup_failed"
	KindBackupMissing   = "backup_missing"
	KindCertificate     = "certificate"
	KindSwarmLocked     = "swarm_locked"
	KindBackupDisk      = "backup_disk_full"
	KindDomainDNS       = "domain_dns"
	KindAgent           = "agent"
	KindDrillFailed     = "restore_drill_failed"
	KindOffsiteFailed   = "offsite_copy_failed"
	KindMemoryLimit     = "memory_limit"
)

// Kinds names every kind in words, for the settings and the history.
var Kinds = map[string]string{
	KindNodeDown: "a node is down", KindManagerLost: "a manager is unreachable (quorum at risk)",
	KindServiceDegraded: "a service runs fewer tasks than asked", KindRollout: "a rollout paused or rolled back",
	KindRestartLoop: "a task restarts in a loop", KindBackupFailed: "a backup failed",
	KindBackupMissing: "no complete backup for twice the interval", KindCertificate: "a certificate expires soon or is invalid",
	KindSwarmLocked: "the swarm is locked", KindBackupDisk: "the backup directory's disk is nearly full",
	KindDomainDNS:   "a mapped domain no longer points at the swarm",
	KindAgent:       "a node's agent is missing or on another version",
	KindDrillFailed: "the last restore drill failed", KindOffsiteFailed: "a snapshot's off-site copy keeps failing",
	KindMemoryLimit: "a service uses more of its memory limit than set above, for as long as set",
}

// Facts are what the checks look at, read from the live model and Berth's own records.
type Facts struct {
	Now            time.Time
	SwarmState     string
	Nodes          []swarm.NodeInfo
	Services       []swarm.Service
	LastBackup     BackupFact // the newest run
	LastComplete   time.Time  // the newest complete snapshot ("" never)
	BackupInterval time.Duration
	DiskUsed       float64 // the backup directory's disk, in percent (0 unknown)
	Certificates   []CertFact
	Domains        []swarm.DomainState // the mapped domains' DNS and presented certificates, as last checked
	AgentsDeployed bool
	Agents         map[string]swarm.AgentState // by node id
	LastDrill      DrillFact                   // the newest restore drill (zero: none)
	FailedCopies   []CopyFact                  // off-site copies that failed at least three times
	Memory         map[string]MemoryFact       // services' memory in use against their limit, by name
}

// MemoryFact is a service's memory in use and its limit, summed over its tasks (0: no limit).
type MemoryFact struct{ Used, Limit int64 }

// DrillFact is a restore drill's outcome.
type DrillFact struct{ Snapshot, Status, Detail string }

// CopyFact is an off-site copy that keeps failing.
type CopyFact struct {
	Snapshot, Error string
	Attempts        int
}

// BackupFact is one backup run's outcome.
type BackupFact struct {
	ID, Status, Error string
	Finished          time.Time
}

// CertFact is a certificate the load balancer presents.
type CertFact struct {
	Name     string // the domain
	NotAfter time.Time
	Problem  string // why it is invalid ("" when it is valid)
}

// Check lists the problems the facts show.
func Check(f Facts, s Settings) []Condition {
	s = s.WithDefaults()
	var out []Condition
	add := func(c Condition) {
		if !s.Off[c.Kind] {
			out = append(out, c)
		}
	}
	if f.SwarmState == "locked" {
		add(Condition{Kind: KindSwarmLocked, Object: "swarm", Title: "The swarm is locked", Detail: "The manager restarted with autolock on: unlock it on the Nodes page with the unlock key."})
	}
	for _, n := range f.Nodes {
		if !n.Ready() {
			add(Condition{Kind: KindNodeDown, Object: "node:" + n.Hostname, Title: "Node " + n.Hostname + " is " + n.Status,
				Detail: fmt.Sprintf("The swarm reports node %s (%s, %s) as %s; its tasks are rescheduled on the other nodes.", n.Hostname, n.Role, n.Addr, n.Status)})
		}
		if n.Manager() && n.Reachability == "unreachable" {
			add(Condition{Kind: KindManagerLost, Object: "node:" + n.Hostname, Title: "Manager " + n.Hostname + " is unreachable",
				Detail: "One manager fewer: the swarm keeps working while a majority of its managers answer."})
		}
	}
	for _, svc := range f.Services {
		checkService(f, s, svc, add)
	}
	if f.AgentsDeployed {
		for _, n := range f.Nodes {
			a, ok := f.Agents[n.ID]
			switch {
			case !n.Ready():
			case !ok || a.State == "missing" || a.State == "failed":
				add(Condition{Kind: KindAgent, Object: "node:" + n.Hostname, Title: "Berth's agent is not running on " + n.Hostname,
					Detail: strings.TrimSpace("Uploads, restores and terminals on that node wait for it. " + a.Error)})
			case a.State == "running" && !a.Current:
				add(Condition{Kind: KindAgent, Object: "node:" + n.Hostname, Title: "Berth's agent on " + n.Hostname + " runs another version",
					Detail: "It runs " + a.Image + ": Berth upgrades its agents at start; check the Nodes page."})
			}
		}
	}
	checkBackups(f, s, add)
	checkMemory(f, s.WithDefaults().MemoryPercent, add)
	for _, c := range f.Certificates {
		switch left := c.NotAfter.Sub(f.Now); {
		case c.Problem != "":
			add(Condition{Kind: KindCertificate, Object: "domain:" + c.Name, Title: "The certificate for " + c.Name + " is invalid", Detail: c.Problem})
		case left < time.Duration(s.CertDays)*24*time.Hour:
			add(Condition{Kind: KindCertificate, Object: "domain:" + c.Name, Title: fmt.Sprintf("The certificate for %s expires in %d days", c.Name, daysLeft(left)),
				Detail: "It expires " + c.NotAfter.UTC().Format("2006-01-02 15:04 UTC") + "."})
		}
	}
	for _, d := range f.Domains {
		host := d.Host + d.Path
		if !d.PointsHere {
			why := d.DNSError
			if why == "" {
				why = "It resolves to " + strings.Join(d.Addresses, ", ") + ", not to this swarm's public address."
			}
			add(Condition{Kind: KindDomainDNS, Object: "domain:" + host, Title: "The domain " + host + " of " + d.Service + " no longer points at the swarm", Detail: why})
		}
		switch left := d.CertNotAfter.Sub(f.Now); {
		case d.CertProblem != "":
			add(Condition{Kind: KindCertificate, Object: "domain:" + host, Title: "The certificate for " + host + " is not valid", Detail: d.CertProblem})
		case !d.CertNotAfter.IsZero() && left < time.Duration(s.CertDays)*24*time.Hour:
			add(Condition{Kind: KindCertificate, Object: "domain:" + host, Title: fmt.Sprintf("The certificate for %s expires in %d days", host, daysLeft(left)),
				Detail: "The load balancer presents one that expires " + d.CertNotAfter.UTC().Format("2006-01-02 15:04 UTC") + "."})
		}
	}
	if f.DiskUsed >= s.DiskPercent {
		add(Condition{Kind: KindBackupDisk, Object: "backups", Title: fmt.Sprintf("The backup directory's disk is %.0f %% full", f.DiskUsed),
			Detail: "Free space, or move old snapshots off the machine, before a backup fails for want of room."})
	}
	return out
}

func checkService(f Facts, s Settings, svc swarm.Service, add func(Condition)) {
	name := svc.Spec.Name
	switch svc.UpdateState {
	case "paused", "rollback_started", "rollback_paused", "rollback_completed":
		add(Condition{Kind: KindRollout, Object: "service:" + name, Title: "The rollout of " + name + " " + strings.ReplaceAll(rolloutWords[svc.UpdateState], "_", " "),
			Detail: svc.UpdateMessage})
	}
	if svc.Desired > 0 && svc.Running < svc.Desired && svc.UpdateState != "updating" {
		add(Condition{Kind: KindServiceDegraded, Object: "service:" + name, Title: fmt.Sprintf("%s runs %d of %d tasks", name, svc.Running, svc.Desired),
			Detail: lastTaskError(svc)})
	}
	failures := 0
	for _, t := range svc.Tasks {
		if (t.State == "failed" || t.State == "rejected") && f.Now.Sub(t.UpdatedAt) <= 10*time.Minute {
			failures++
		}
	}
	if failures > s.RestartFailures && svc.Running < svc.Desired { // fixed once its tasks keep running
		add(Condition{Kind: KindRestartLoop, Object: "service:" + name, Title: fmt.Sprintf("%s restarts in a loop: %d task failures in 10 minutes", name, failures),
			Detail: lastTaskError(svc)})
	}
}

var rolloutWords = map[string]string{"paused": "paused", "rollback_started": "is rolling back", "rollback_paused": "paused while rolling back", "rollback_completed": "rolled back"}

// lastTaskError is the newest task's error of a service, in the engine's words.
func lastTaskError(svc swarm.Service) string {
	var last swarm.Task
	for _, t := range svc.Tasks {
		if (t.Error != "" || t.Message != "") && t.UpdatedAt.After(last.UpdatedAt) {
			last = t
		}
	}
	if last.Error != "" {
		return "Last task error: " + last.Error
	}
	return last.Message
}

func checkBackups(f Facts, s Settings, add func(Condition)) {
	if f.LastDrill.Status == "failed" {
		add(Condition{Kind: KindDrillFailed, Object: "restore-drills", Title: "The restore drill of " + f.LastDrill.Snapshot + " failed",
			Detail: f.LastDrill.Detail})
	}
	for _, c := range f.FailedCopies {
		add(Condition{Kind: KindOffsiteFailed, Object: "backup:" + c.Snapshot, Title: fmt.Sprintf("The off-site copy of %s failed %d times", c.Snapshot, c.Attempts),
			Detail: c.Error})
	}
	if f.LastBackup.Status == "failed" || f.LastBackup.Status == "interrupted" {
		add(Condition{Kind: KindBackupFailed, Object: "backups", Title: "The backup " + f.LastBackup.ID + " " + f.LastBackup.Status,
			Detail: f.LastBackup.Error})
	}
	if f.BackupInterval > 0 && !f.LastComplete.IsZero() && f.Now.Sub(f.LastComplete) > 2*f.BackupInterval {
		add(Condition{Kind: KindBackupMissing, Object: "backups", Title: "No complete backup since " + f.LastComplete.UTC().Format("2006-01-02 15:04 UTC"),
			Detail: fmt.Sprintf("Backups run every %s; the newest complete one is %s old.", f.BackupInterval, f.Now.Sub(f.LastComplete).Round(time.Minute))})
	}
}

// daysLeft counts a part of a day as a day: ten days less a minute is 10 days left.
func daysLeft(d time.Duration) int { return int(math.Ceil(d.Hours() / 24)) }

// checkMemory names every service over percent of its memory limit.
func checkMemory(f Facts, percent float64, add func(Condition)) {
	names := make([]string, 0, len(f.Memory))
	for name := range f.Memory {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := f.Memory[name]
		if m.Limit > 0 && float64(m.Used) > percent/100*float64(m.Limit) {
			add(Condition{Kind: KindMemoryLimit, Object: "service:" + name, Title: fmt.Sprintf("%s uses %d %% of its memory limit", name, m.Used*100/m.Limit),
				Detail: fmt.Sprintf("%d MiB in use of %d MiB allowed: at the limit its tasks are stopped and started again.", m.Used>>20, m.Limit>>20)})
		}
	}
}
