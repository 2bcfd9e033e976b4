package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/a-h/templ"
	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// NodeEngine lists nodes and their tasks, changes a node, and locks or unlocks the swarm.
type NodeEngine interface {
	Nodes(ctx context.Context) ([]swarm.NodeInfo, error)
	NodeInfos(ctx context.Context) ([]swarm.NodeInfo, error)
	NodeTasks(ctx context.Context, id string) ([]swarm.Task, error)
	UpdateNode(ctx context.Context, id, stamp string, change swarm.NodeChange) error
	Autolock(ctx context.Context) (bool, error)
	SetAutolock(ctx context.Context, on bool) (string, error)
	RotateUnlockKey(ctx context.Context) (string, error)
	Unlock(ctx context.Context, key string) error
	JoinCommands(ctx context.Context) (worker, manager swarm.JoinCommand, err error)
	RotateJoinToken(ctx context.Context, role string) error
	RemoveNode(ctx context.Context, idOrName string) error
}

// nodeRow turns a node into the page's row.
func nodeRow(n swarm.NodeInfo) views.NodeRow {
	r := views.NodeRow{ID: n.ID, Version: n.SpecStamp, Hostname: n.Hostname, Role: n.Role, Leader: n.Leader,
		Status: n.Status, Availability: n.Availability, Reachability: n.Reachability, Addr: n.Addr, Engine: n.EngineVersion,
		CPUs: strconv.FormatFloat(n.CPUs, 'f', -1, 64), Memory: views.Bytes(n.MemoryBytes), Running: n.RunningTasks}
	for _, k := range sortedKeys(n.Labels) {
		r.Labels = append(r.Labels, views.KV{Key: k, Value: n.Labels[k]})
	}
	return r
}

// nodeRows lists the nodes with their agents' states.
func (h *Handlers) nodeRows(c echo.Context) ([]views.NodeRow, error) {
	rows, _, err := h.nodeRowsAndAgents(c)
	return rows, err
}

func (h *Handlers) nodeRowsAndAgents(c echo.Context) ([]views.NodeRow, views.AgentsPanel, error) {
	ctx := c.Request().Context()
	nodes, err := h.engine.NodeInfos(ctx)
	if err != nil {
		return nil, views.AgentsPanel{}, err
	}
	deployed, agents, err := h.engine.Agents(ctx)
	if err != nil {
		return nil, views.AgentsPanel{}, err
	}
	panel := views.AgentsPanel{Deployed: deployed, Current: deployed, Local: h.engine.Cached().NodeName, CanDeploy: h.engine.AgentsUnavailable(ctx),
		HelperProblem: h.engine.HelperProblem()}
	rows := make([]views.NodeRow, 0, len(nodes))
	pending := h.pendingRemovals(ctx)
	for _, n := range nodes {
		r := nodeRow(n)
		r.Removal, r.CanRemove = removalText(pending, n.ID), n.Status == "down" && isAdmin(c)
		r.Agent = "missing"
		if a, ok := agents[n.ID]; ok {
			r.Agent = a.State
			if !a.Current {
				r.Agent += " (another version)"
			}
		}
		panel.Current = panel.Current && agents[n.ID].Current
		rows = append(rows, r)
	}
	return rows, panel, h.addNodeUse(ctx, rows)
}

// swarmLock reads whether this manager is locked and whether autolock is on.
func (h *Handlers) swarmLock(c echo.Context) (views.SwarmLock, error) {
	lock := views.SwarmLock{Locked: h.engine.Cached().SwarmState == "locked"} // the status loop keeps it current
	if u := currentUser(c); u != nil {
		lock.IsAdmin = u.Role == store.RoleAdmin
	}
	if lock.Locked {
		return lock, nil
	}
	on, err := h.engine.Autolock(c.Request().Context())
	lock.Autolock = on
	return lock, err
}

func (h *Handlers) renderNodes(c echo.Context, status int, lock views.SwarmLock, agentsError string) error {
	var rows []views.NodeRow
	var agents views.AgentsPanel
	if !lock.Locked {
		var err error
		if rows, agents, err = h.nodeRowsAndAgents(c); err != nil {
			return err
		}
	}
	agents.IsAdmin, agents.Error = lock.IsAdmin, agentsError
	p := h.page(c, "Nodes", "nodes")
	return h.render(c, status, p, views.NodesPage(p, rows, lock, agents, h.popNotice(c)))
}

// NodesPage lists the nodes, or offers to unlock a locked manager.
func (h *Handlers) NodesPage(c echo.Context) error {
	lock, err := h.swarmLock(c)
	if err != nil {
		return err
	}
	return h.renderNodes(c, http.StatusOK, lock, "")
}

// SetAutolock turns autolock on or off, or rotates the key; a new key is shown once and never kept.
func (h *Handlers) SetAutolock(c echo.Context) error {
	ctx := c.Request().Context()
	var key string
	var err error
	action := c.FormValue("action")
	switch action {
	case "on":
		key, err = h.engine.SetAutolock(ctx, true)
	case "off":
		_, err = h.engine.SetAutolock(ctx, false)
	case "rotate":
		key, err = h.engine.RotateUnlockKey(ctx)
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "Choose on, off or rotate.")
	}
	lock, lerr := h.swarmLock(c)
	if lerr != nil {
		return lerr
	}
	if err != nil {
		h.audit(c, "swarm.autolock", "swarm", "failed: "+err.Error(), action)
		lock.Error = "The swarm refused: " + err.Error()
		return h.renderNodes(c, http.StatusUnprocessableEntity, lock, "")
	}
	h.audit(c, "swarm.autolock", "swarm", "ok", action+" (the key is shown to the admin once, not recorded)")
	lock.NewKey = key
	c.Response().Header().Set("Cache-Control", "no-store")
	return h.renderNodes(c, http.StatusOK, lock, "")
}

// UnlockSwarm gives a locked manager its unlock key; Berth neither keeps nor logs it.
func (h *Handlers) UnlockSwarm(c echo.Context) error {
	err := h.engine.Unlock(c.Request().Context(), c.FormValue("unlock_key"))
	lock, lerr := h.swarmLock(c)
	if lerr != nil {
		return lerr
	}
	if err != nil {
		h.audit(c, "swarm.unlock", "node:"+h.engine.Cached().NodeName, "failed: "+err.Error(), "")
		lock.Error = err.Error()
		return h.renderNodes(c, http.StatusUnprocessableEntity, lock, "")
	}
	h.audit(c, "swarm.unlock", "node:"+h.engine.Cached().NodeName, "ok", "")
	return h.redirectNotice(c, "/nodes", "Unlocked.")
}

// NodesLive is the nodes table, polled by the page.
func (h *Handlers) NodesLive(c echo.Context) error {
	rows, err := h.nodeRows(c)
	if err != nil {
		return err
	}
	return fragment(c, http.StatusOK, views.NodesTable(rows))
}

// NodesEvents pushes the nodes table again whenever a node or a task changes, or new figures are collected.
func (h *Handlers) NodesEvents(c echo.Context) error {
	return h.streamFragments(c, "nodes", func(ch swarm.Change) bool { return ch.Kind == "node" || ch.Kind == "task" || ch.Kind == "resources" },
		func() (templ.Component, error) {
			rows, err := h.nodeRows(c)
			return views.NodesTable(rows), err
		})
}

// NodeEvents pushes one node's state again whenever it or a task changes, and its
// graphs (over ?range=) after every collection.
func (h *Handlers) NodeEvents(c echo.Context) error {
	rg := rangeOf(c)
	return h.streamParts(c, fragmentSource{event: "node", relevant: func(ch swarm.Change) bool { return ch.Kind == "node" || ch.Kind == "task" },
		render: func() (templ.Component, error) {
			d, _, err := h.nodeDetail(c)
			return views.NodeState(d), err
		}}, fragmentSource{event: "usage", relevant: func(ch swarm.Change) bool { return ch.Kind == "resources" },
		render: func() (templ.Component, error) {
			d, _, err := h.nodeDetail(c)
			if err != nil {
				return nil, err
			}
			u, err := h.nodeUsage(c.Request().Context(), d.Node, rg)
			return views.ServiceUsageBody(u), err
		}})
}

// nodeDetail builds a node's page; it answers the listing too, for the quorum check.
func (h *Handlers) nodeDetail(c echo.Context) (views.NodeDetail, []swarm.NodeInfo, error) {
	ctx := c.Request().Context()
	nodes, err := h.engine.NodeInfos(ctx)
	if err != nil {
		return views.NodeDetail{}, nil, err
	}
	n, err := swarm.FindNode(nodes, c.Param("id"))
	if err != nil {
		return views.NodeDetail{}, nil, err
	}
	tasks, err := h.engine.NodeTasks(ctx, n.ID)
	if err != nil {
		return views.NodeDetail{}, nil, err
	}
	d := views.NodeDetail{Node: nodeRow(n)}
	d.Node.Removal = removalText(h.pendingRemovals(ctx), n.ID)
	for _, t := range tasks {
		d.Tasks = append(d.Tasks, views.TaskRow{ID: t.ID, Service: t.Service, State: t.State, Desired: t.DesiredState, Error: t.Error})
	}
	if u := currentUser(c); u != nil {
		d.IsAdmin = u.Role == store.RoleAdmin
	}
	return d, nodes, nil
}

// renderNode renders the node page; every answer (a refusal's too) lists the node's volumes.
func (h *Handlers) renderNode(c echo.Context, status int, d views.NodeDetail) error {
	if err := h.nodeVolumes(c, &d); err != nil {
		return err
	}
	var err error
	if d.Usage, err = h.nodeUsage(c.Request().Context(), d.Node, rangeOf(c)); err != nil {
		return err
	}
	p := h.page(c, "Node "+d.Node.Hostname, "nodes")
	return h.render(c, status, p, views.NodePage(p, d))
}

// NodePage shows one node.
func (h *Handlers) NodePage(c echo.Context) error {
	d, _, err := h.nodeDetail(c)
	if err != nil {
		return err
	}
	d.Notice = h.popNotice(c)
	return h.renderNode(c, http.StatusOK, d)
}

// nodeVolumes lists the node's volumes with their sizes (through its agent on other nodes), or says why it cannot.
func (h *Handlers) nodeVolumes(c echo.Context, d *views.NodeDetail) error {
	ctx := c.Request().Context()
	vols, _, err := h.engine.KnownNodeVolumes(ctx, d.Node.Hostname)
	if err != nil {
		d.VolumesError = err.Error()
		return nil
	}
	maps, err := h.store.VolumeMappings(ctx)
	if err != nil {
		return err
	}
	mapped := map[string]bool{}
	for _, m := range maps {
		mapped[m.Name] = true
	}
	for _, v := range vols {
		row := views.NodeVolumeRow{Name: v.Name, Size: "unknown", Users: "unknown", Mapping: mapped[v.Name]}
		if v.Size >= 0 {
			row.Size = views.Bytes(v.Size)
		}
		if v.Users >= 0 {
			row.Users = strconv.FormatInt(v.Users, 10)
		}
		d.Volumes = append(d.Volumes, row)
	}
	return nil
}

// NodeLive is a node's state and tasks, polled by its page.
func (h *Handlers) NodeLive(c echo.Context) error {
	d, _, err := h.nodeDetail(c)
	if err != nil {
		return err
	}
	return fragment(c, http.StatusOK, views.NodeState(d))
}

// changeNode applies a change the admin confirmed, based on the version their page showed;
// a stale version re-reads the node and asks again.
func (h *Handlers) changeNode(c echo.Context, d views.NodeDetail, action, detail string, change swarm.NodeChange) error {
	object := "node:" + d.Node.Hostname
	err := h.engine.UpdateNode(c.Request().Context(), d.Node.ID, c.FormValue("version"), change)
	if errors.Is(err, swarm.ErrStale) {
		h.audit(c, action, object, "denied: the node changed meanwhile", detail)
		d.Error = "Someone changed " + d.Node.Hostname + " since you loaded this page; it is shown as it is now: check it and try again."
		return h.renderNode(c, http.StatusConflict, d)
	}
	if err != nil {
		h.audit(c, action, object, "failed: "+err.Error(), detail)
		d.Error = "The swarm refused: " + err.Error()
		return h.renderNode(c, http.StatusUnprocessableEntity, d)
	}
	h.audit(c, action, object, "ok", detail)
	return nil
}

// ChangeNodeRole promotes or demotes a node after the quorum check and the admin's confirmation.
func (h *Handlers) ChangeNodeRole(c echo.Context) error {
	d, nodes, err := h.nodeDetail(c)
	if err != nil {
		return err
	}
	role := c.FormValue("role")
	if role != "manager" && role != "worker" {
		return echo.NewHTTPError(http.StatusBadRequest, "Choose manager or worker.")
	}
	check := swarm.CheckRoleChange(nodes, d.Node.ID, role)
	if check.Refusal != "" {
		h.audit(c, "node.role", "node:"+d.Node.Hostname, "denied: "+check.Refusal, "to "+role)
		d.Error = check.Refusal
		return h.renderNode(c, http.StatusUnprocessableEntity, d)
	}
	if c.FormValue("confirm") != "yes" {
		d.Confirm = &views.NodeConfirm{Action: "role", Value: role, Warnings: check.Warnings}
		return h.renderNode(c, http.StatusOK, d)
	}
	if err := h.changeNode(c, d, "node.role", "to "+role, swarm.NodeChange{Role: role}); err != nil || c.Response().Committed {
		return err
	}
	notice := d.Node.Hostname + " is being demoted to worker."
	if role == "manager" {
		notice = d.Node.Hostname + " is joining the managers: this page shows it once it is a reachable manager."
	}
	return h.redirectNotice(c, "/nodes/"+d.Node.ID, notice)
}

// SetNodeAvailability sets active, pause or drain; draining asks first, listing what will move.
func (h *Handlers) SetNodeAvailability(c echo.Context) error {
	d, _, err := h.nodeDetail(c)
	if err != nil {
		return err
	}
	a := c.FormValue("availability")
	if a != "active" && a != "pause" && a != "drain" {
		d.Errors = views.FieldErrors{"availability": "Choose active, pause or drain."}
		return h.renderNode(c, http.StatusUnprocessableEntity, d)
	}
	if a == "drain" && c.FormValue("confirm") != "yes" {
		d.Confirm = drainConfirm(d)
		return h.renderNode(c, http.StatusOK, d)
	}
	if err := h.changeNode(c, d, "node.availability", d.Node.Availability+" -> "+a, swarm.NodeChange{Availability: a}); err != nil || c.Response().Committed {
		return err
	}
	return h.redirectNotice(c, "/nodes/"+d.Node.ID, fmt.Sprintf("%s is now %s.", d.Node.Hostname, a))
}

// SetNodeLabel adds or changes one label.
func (h *Handlers) SetNodeLabel(c echo.Context) error {
	d, _, err := h.nodeDetail(c)
	if err != nil {
		return err
	}
	key, value := c.FormValue("key"), c.FormValue("value")
	if field, msg := swarm.ValidateNodeLabel(key, value); field != "" {
		d.Errors, d.LabelKey, d.LabelVal = views.FieldErrors{field: msg}, key, value
		return h.renderNode(c, http.StatusUnprocessableEntity, d)
	}
	if err := h.changeNode(c, d, "node.label", key+"="+value, swarm.NodeChange{SetLabel: key, LabelValue: value}); err != nil || c.Response().Committed {
		return err
	}
	return h.redirectNotice(c, "/nodes/"+d.Node.ID, "Label "+key+" set.")
}

// DeleteNodeLabel removes one label.
func (h *Handlers) DeleteNodeLabel(c echo.Context) error {
	d, _, err := h.nodeDetail(c)
	if err != nil {
		return err
	}
	key := c.FormValue("key")
	if ok, err := h.askFirst(c, "Remove the label "+key+"? Services placed by it may move.", "/nodes/"+c.Param("id")); !ok {
		return err
	}
	if err := h.changeNode(c, d, "node.label-remove", key, swarm.NodeChange{RemoveLabel: key}); err != nil || c.Response().Committed {
		return err
	}
	return h.redirectNotice(c, "/nodes/"+d.Node.ID, "Label "+key+" removed.")
}

// drainConfirm asks before draining a node, listing the tasks that will move.
func drainConfirm(d views.NodeDetail) *views.NodeConfirm {
	conf := &views.NodeConfirm{Action: "availability", Value: "drain"}
	for _, t := range d.Tasks {
		conf.Moving = append(conf.Moving, t.Service)
	}
	if len(conf.Moving) == 0 {
		conf.Warnings = []string{"No task runs on " + d.Node.Hostname + ": nothing moves, and no new task starts there."}
	}
	return conf
}
