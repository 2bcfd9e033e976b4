package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
)

// Swarm is what the checks read: the live model and the cached engine state, never a
// listing per check.
type Swarm interface {
	Current() swarm.Status
	NodeInfos(ctx context.Context) ([]swarm.NodeInfo, error)
	Services(ctx context.Context) ([]swarm.Service, error)
	LoadBalancer(ctx context.Context) (swarm.LoadBalancer, swarm.Service, bool, error)
	Agents(ctx context.Context) (bool, map[string]swarm.AgentState, error)
}

// Monitor checks for problems, keeps the alerts in the store and delivers their messages.
type Monitor struct {
	Swarm     Swarm
	Store     *store.Store
	BackupDir string
	Link      string // Berth's address, for the link in each message ("" for none)
	Interval  func(context.Context) time.Duration
	Log       *slog.Logger
	Client    *http.Client
	// Domains checks the mapped domains' DNS and certificates (nil: not checked); its
	// answer is kept for DomainsEvery.
	Domains func(context.Context) ([]swarm.DomainState, error)
	// Memory is each service's memory in use against its limit, from the resource collection (nil: not checked).
	Memory func() map[string]MemoryFact
	// Backoff is the wait before each retry of a failed delivery; after the last, it is failed.
	Backoff []time.Duration
	Now     func() time.Time
	tracker *Tracker
	domains []swarm.DomainState
	checked time.Time
	version atomic.Uint64
}

// Version changes whenever an alert or a delivery changes, so open pages know to redraw.
func (m *Monitor) Version() uint64 { return m.version.Load() }

// Touch marks a change made outside the monitor (an acknowledgement).
func (m *Monitor) Touch() { m.version.Add(1) }

// DomainsEvery is how long a check of the domains' DNS and certificates stands.
const DomainsEvery = time.Minute

// DefaultBackoff retries a failed delivery after 30 s, 2, 10 and 30 minutes, then 2 hours.
var DefaultBackoff = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, 2 * time.Hour}

// SettingsKey is where the alert settings are kept.
const SettingsKey = "alerts"

// Settings reads the admin's alert settings.
func (m *Monitor) Settings(ctx context.Context) (Settings, error) {
	return LoadSettings(ctx, m.Store)
}

// LoadSettings reads the alert settings from the store (defaults when none were saved).
func LoadSettings(ctx context.Context, st *store.Store) (Settings, error) {
	raw, err := st.Setting(ctx, SettingsKey, "")
	var s Settings
	if err == nil && raw != "" {
		err = json.Unmarshal([]byte(raw), &s)
	}
	return s.WithDefaults(), err
}

// Run checks and delivers every period until ctx ends.
func (m *Monitor) Run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := m.CheckOnce(ctx); err != nil && ctx.Err() == nil {
			m.Log.Warn("alert check", "error", err)
		}
		m.DeliverDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// CheckOnce looks at the facts once and opens, repeats or resolves alerts.
func (m *Monitor) CheckOnce(ctx context.Context) error {
	if m.tracker == nil {
		m.tracker = NewTracker()
	}
	settings, err := m.Settings(ctx)
	if err != nil {
		return err
	}
	facts, err := m.facts(ctx)
	if err != nil {
		return err
	}
	open, err := m.Store.Alerts(ctx, store.AlertFilter{State: "open"})
	if err != nil {
		return err
	}
	known := make([]Known, 0, len(open))
	for _, a := range open {
		known = append(known, Known{ID: a.ID, Kind: a.Kind, Object: a.Object, LastSentAt: a.LastSentAt, Acked: a.AckedBy != ""})
	}
	actions := m.tracker.Step(facts.Now, Check(facts, settings), known, settings.Rules())
	if len(actions) == 0 {
		return nil
	}
	channels, err := m.Store.AlertChannels(ctx)
	if err != nil {
		return err
	}
	for _, a := range actions {
		switch a.Do {
		case "open":
			_, err = m.Store.OpenAlert(ctx, store.Alert{Kind: a.Condition.Kind, Object: a.Condition.Object, Title: a.Condition.Title,
				Detail: a.Condition.Detail, OpenedAt: facts.Now}, channels)
		case "repeat":
			err = m.Store.RepeatAlert(ctx, a.ID, facts.Now, channels)
		case "resolve":
			err = m.Store.ResolveAlert(ctx, a.ID, facts.Now, channels)
		}
		if err != nil {
			return err
		}
		m.Log.Info("alert "+a.Do, "kind", a.Condition.Kind, "object", a.Condition.Object)
		m.Touch()
	}
	return nil
}

// facts gathers what the checks look at, from the live model and Berth's own records.
func (m *Monitor) facts(ctx context.Context) (Facts, error) {
	f := Facts{Now: m.now(), SwarmState: m.Swarm.Current().SwarmState}
	if f.SwarmState == "active" {
		var err error
		if f.Nodes, err = m.Swarm.NodeInfos(ctx); err != nil {
			return f, err
		}
		if f.Services, err = m.Swarm.Services(ctx); err != nil {
			return f, err
		}
		if f.AgentsDeployed, f.Agents, err = m.Swarm.Agents(ctx); err != nil {
			return f, err
		}
		if lb, _, ok, err := m.Swarm.LoadBalancer(ctx); err == nil && ok && lb.CertMode == "uploaded" && !lb.CertNotAfter.IsZero() {
			f.Certificates = append(f.Certificates, CertFact{Name: strings.Join(lb.CertNames, ", "), NotAfter: lb.CertNotAfter})
		}
	}
	runs, err := m.Store.BackupRuns(ctx, 50)
	if err != nil {
		return f, err
	}
	for i, r := range runs {
		if i == 0 {
			f.LastBackup = BackupFact{ID: r.ID, Status: r.Status, Error: r.Error, Finished: r.Finished}
		}
		if r.Status == "complete" && f.LastComplete.IsZero() {
			f.LastComplete = r.Finished
		}
	}
	if drills, err := m.Store.RestoreDrills(ctx, 1); err != nil {
		return f, err
	} else if len(drills) > 0 {
		f.LastDrill = DrillFact{Snapshot: drills[0].Snapshot, Status: drills[0].Status, Detail: drills[0].Detail}
	}
	copies, err := m.Store.OffsiteCopies(ctx)
	if err != nil {
		return f, err
	}
	for _, c := range copies {
		if c.State == "failed" && c.Attempts >= 3 {
			f.FailedCopies = append(f.FailedCopies, CopyFact{Snapshot: c.Snapshot, Error: c.Error, Attempts: c.Attempts})
		}
	}
	if m.Interval != nil {
		f.BackupInterval = m.Interval(ctx)
	}
	if m.Memory != nil {
		f.Memory = m.Memory()
	}
	f.DiskUsed = diskUsed(m.BackupDir)
	if m.Domains != nil && f.SwarmState == "active" {
		if f.Now.Sub(m.checked) >= DomainsEvery {
			if states, err := m.Domains(ctx); err == nil {
				m.domains, m.checked = states, f.Now
			}
		}
		f.Domains = m.domains
	}
	return f, nil
}

// diskUsed is how full, in percent, the disk holding dir is (0 when unknown).
func diskUsed(dir string) float64 {
	var st syscall.Statfs_t
	if dir == "" || syscall.Statfs(dir, &st) != nil || st.Blocks == 0 {
		return 0
	}
	return 100 * float64(st.Blocks-st.Bavail) / float64(st.Blocks)
}

// DeliverDue sends every delivery whose time has come, recording each outcome.
func (m *Monitor) DeliverDue(ctx context.Context) {
	due, err := m.Store.DueDeliveries(ctx, m.now())
	if err != nil {
		m.Log.Warn("alert deliveries", "error", err)
		return
	}
	for _, d := range due {
		m.deliver(ctx, d)
	}
}

func (m *Monitor) deliver(ctx context.Context, d store.AlertDelivery) {
	defer m.Touch()
	a, err := m.Store.Alert(ctx, d.AlertID)
	if err != nil {
		return
	}
	ch, err := m.Store.AlertChannel(ctx, d.ChannelID)
	if err != nil {
		m.Store.DeliveryFailed(ctx, d.ID, "the channel was deleted", time.Time{})
		return
	}
	msg := Message{Event: d.Event, AlertID: a.ID, Kind: a.Kind, Object: a.Object, Title: a.Title, Detail: a.Detail, OpenedAt: a.OpenedAt, Resolved: a.ResolvedAt}
	if m.Link != "" {
		msg.Link = strings.TrimRight(m.Link, "/") + "/alerts"
	}
	if _, err := m.Send(ctx, ch, msg); err != nil {
		next := time.Time{}
		backoff := m.Backoff
		if backoff == nil {
			backoff = DefaultBackoff
		}
		if d.Attempts < len(backoff) {
			next = m.now().Add(backoff[d.Attempts])
		}
		m.Store.DeliveryFailed(ctx, d.ID, err.Error(), next)
		m.Log.Warn("alert delivery failed", "channel", ch.Name, "alert", a.ID, "attempt", d.Attempts+1, "error", err)
		return
	}
	m.Store.DeliverySent(ctx, d.ID)
}

// Send delivers one message through a channel and returns the server's answer.
func (m *Monitor) Send(ctx context.Context, ch store.AlertChannel, msg Message) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	switch ch.Kind {
	case "email":
		var s EmailSettings
		if err := json.Unmarshal(ch.Settings, &s); err != nil {
			return "", err
		}
		return SendEmail(ctx, s, msg)
	case "webhook":
		var s WebhookSettings
		if err := json.Unmarshal(ch.Settings, &s); err != nil {
			return "", err
		}
		client := m.Client
		if client == nil {
			client = &http.Client{Timeout: 15 * time.Second}
		}
		return SendWebhook(ctx, client, s, msg)
	}
	return "", fmt.Errorf("unknown channel kind %s", ch.Kind)
}
