package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// nodeRemovalSweep is how often pending removals are looked at besides the live model's node changes.
const nodeRemovalSweep = time.Minute

// drainToRemove drains a worker that is up and has Berth remove it once it is down, for the page and the API alike, audited.
func (h *Handlers) drainToRemove(c echo.Context, n swarm.NodeInfo) error {
	ctx := c.Request().Context()
	if n.Availability != "drain" {
		err := h.engine.UpdateNode(ctx, n.ID, n.SpecStamp, swarm.NodeChange{Availability: "drain"})
		h.audit(c, "node.availability", "node:"+n.Hostname, outcomeOf(err), n.Availability+" -> drain, to remove it")
		if err != nil {
			return err
		}
	}
	asked := h.auditLater(c, "node.remove", "node:"+n.Hostname)
	if err := h.store.AddNodeRemoval(ctx, store.NodeRemoval{NodeID: n.ID, Hostname: n.Hostname, Asked: asked}); err != nil {
		return err
	}
	h.audit(c, "node.remove-requested", "node:"+n.Hostname, "ok", "Berth removes it once it is down")
	return nil
}

// cancelRemoval calls off a pending removal, audited (the node stays drained).
func (h *Handlers) cancelRemoval(c echo.Context, n swarm.NodeInfo) error {
	err := h.store.DeleteNodeRemoval(c.Request().Context(), n.ID)
	h.audit(c, "node.remove-cancelled", "node:"+n.Hostname, outcomeOf(err), "")
	return err
}

// pendingRemovals are the nodes waiting to be removed once down, by node id.
func (h *Handlers) pendingRemovals(ctx context.Context) map[string]store.NodeRemoval {
	list, err := h.store.NodeRemovals(ctx)
	if err != nil {
		h.log.Warn("read pending node removals", "error", err)
	}
	out := map[string]store.NodeRemoval{}
	for _, r := range list {
		out[r.NodeID] = r
	}
	return out
}

// removalText says that Berth removes the node once it is down, and who asked ("" when nobody did).
func removalText(pending map[string]store.NodeRemoval, id string) string {
	r, ok := pending[id]
	if !ok {
		return ""
	}
	return "removed by Berth once down (asked by " + r.Asked.Actor + ", " + views.FormatTime(r.AskedAt) + ")"
}

// removeDownNodes removes the nodes an admin asked to remove that are now down, audited as that admin.
func (h *Handlers) removeDownNodes(ctx context.Context) {
	pending := h.pendingRemovals(ctx)
	if len(pending) == 0 {
		return
	}
	nodes, err := h.engine.NodeInfos(ctx)
	if err != nil {
		return
	}
	for id, r := range pending {
		n, err := swarm.FindNode(nodes, id)
		if errors.Is(err, swarm.ErrNotFound) {
			h.store.DeleteNodeRemoval(ctx, id) // removed some other way
			continue
		}
		if err != nil || n.Status != "down" {
			continue
		}
		err = h.engine.RemoveNode(ctx, n.ID)
		if _, refused := swarm.IsSpecError(err); err != nil && !refused {
			h.log.Warn("remove a node that is down", "node", n.Hostname, "error", err)
			continue // the engine did not answer: tried again at the next change or sweep
		}
		rec := r.Asked
		rec.Action, rec.Object = "node.remove", "node:"+n.Hostname
		rec.Outcome, rec.Detail = refusal(err), "once it was down, as asked at "+r.AskedAt.UTC().Format(time.RFC3339)
		h.writeAudit(ctx, rec)
		h.store.DeleteNodeRemoval(ctx, id)
	}
}

// runNodeRemovals removes pending nodes as soon as the live model sees them down, and at least every minute.
func (h *Handlers) runNodeRemovals(ctx context.Context) {
	changes, stop := h.engine.Subscribe()
	defer stop()
	tick := time.NewTicker(nodeRemovalSweep)
	defer tick.Stop()
	h.removeDownNodes(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-changes:
			if !ok {
				return
			}
			if ch.Kind == "node" {
				h.removeDownNodes(ctx)
			}
		case <-tick.C:
			h.removeDownNodes(ctx)
		}
	}
}

// RunBackground runs the handlers' own background work until ctx ends: image checks and pending node removals.
func (h *Handlers) RunBackground(ctx context.Context) {
	go h.runNodeRemovals(ctx)
	h.runImageChecks(ctx)
}
