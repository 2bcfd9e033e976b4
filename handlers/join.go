package handlers

import (
	"net/http"

	"github.com/berthhq/berth/swarm"
	"github.com/labstack/echo/v4"
)

// joinCommand reads the join command for a role, for the page and the API alike: every view is audited.
func (h *Handlers) joinCommands(c echo.Context, role string) (worker, manager swarm.JoinCommand, err error) {
	worker, manager, err = h.engine.JoinCommands(c.Request().Context())
	h.audit(c, "swarm.join-token.view", "swarm", outcomeOf(err), role)
	return worker, manager, err
}

// rotateJoinToken replaces a role's join token, for the page and the API alike, audited.
func (h *Handlers) rotateJoinToken(c echo.Context, role string) error {
	err := h.engine.RotateJoinToken(c.Request().Context(), role)
	if _, invalid := swarm.IsSpecError(err); !invalid {
		h.audit(c, "swarm.join-token.rotate", "swarm", outcomeOf(err), role)
	}
	return err
}

// removeNode removes a node that is down or has left, for the page and the API alike, audited.
func (h *Handlers) removeNode(c echo.Context, id string) error {
	err := h.engine.RemoveNode(c.Request().Context(), id)
	h.audit(c, "node.remove", "node:"+id, refusal(err), "")
	return err
}

// ShowJoinCommand shows an admin the command that joins a node in the asked role.
func (h *Handlers) ShowJoinCommand(c echo.Context) error {
	role := c.FormValue("role")
	if role != "worker" && role != "manager" {
		return echo.NewHTTPError(http.StatusBadRequest, "Choose worker or manager.")
	}
	worker, manager, err := h.joinCommands(c, role)
	if err != nil {
		return err
	}
	lock, err := h.swarmLock(c)
	if err != nil {
		return err
	}
	lock.Join, lock.JoinRole = worker.Command, role
	if role == "manager" {
		lock.Join = manager.Command
	}
	return h.renderNodes(c, http.StatusOK, lock, "")
}

// RotateJoinToken replaces a role's join token from the Nodes page.
func (h *Handlers) RotateJoinToken(c echo.Context) error {
	role := c.FormValue("role")
	if err := h.rotateJoinToken(c, role); err != nil {
		if _, invalid := swarm.IsSpecError(err); invalid {
			return echo.NewHTTPError(http.StatusBadRequest, "Choose worker or manager.")
		}
		return err
	}
	return h.redirectNotice(c, "/nodes", "Rotated the "+role+" join token: commands shown before no longer join a node.")
}

// RemoveNodePage removes a node from its page; a node still up is answered with what to do first.
func (h *Handlers) RemoveNodePage(c echo.Context) error {
	d, nodes, err := h.nodeDetail(c)
	if err != nil {
		return err
	}
	if d.Node.Role == "worker" && d.Node.Status != "down" {
		if c.FormValue("remove") == "drain" && c.FormValue("confirm") == "yes" {
			n, err := swarm.FindNode(nodes, d.Node.ID)
			if err == nil {
				err = h.drainToRemove(c, n)
			}
			if err != nil {
				return err
			}
			return h.redirectNotice(c, "/nodes/"+d.Node.ID, "Draining "+d.Node.Hostname+": Berth removes it once it is down. Run `docker swarm leave` on it or shut it down.")
		}
		d.Confirm = drainConfirm(d) // the first step, asked here with what moves
		d.Confirm.Action, d.Confirm.Value, d.Confirm.Label = "remove", "drain", "Drain "+d.Node.Hostname+", then remove it once it is down"
		d.Confirm.Warnings = append(d.Confirm.Warnings, d.Node.Hostname+" is "+d.Node.Status+": once drained, run `docker swarm leave` on it or shut it down; Berth removes it when the swarm sees it down.")
		return h.renderNode(c, http.StatusUnprocessableEntity, d)
	}
	if err := h.removeNode(c, d.Node.ID); err != nil {
		fields, invalid := swarm.IsSpecError(err)
		if !invalid {
			return err
		}
		d.Error = fields["node"]
		return h.renderNode(c, http.StatusUnprocessableEntity, d)
	}
	return h.redirectNotice(c, "/nodes", "Removed node "+d.Node.Hostname+" from the swarm.")
}

// CancelNodeRemoval calls off a pending removal from the node's page.
func (h *Handlers) CancelNodeRemoval(c echo.Context) error {
	d, nodes, err := h.nodeDetail(c)
	if err != nil {
		return err
	}
	n, err := swarm.FindNode(nodes, d.Node.ID)
	if err != nil {
		return err
	}
	if err := h.cancelRemoval(c, n); err != nil {
		return err
	}
	return h.redirectNotice(c, "/nodes/"+d.Node.ID, "Berth will not remove "+d.Node.Hostname+"; it stays drained until you make it active.")
}

// APIJoin answers both join commands (admin; audited).
func (h *Handlers) APIJoin(c echo.Context) error {
	worker, manager, err := h.joinCommands(c, "worker and manager")
	if err != nil {
		return err
	}
	one := func(j swarm.JoinCommand) map[string]string {
		return map[string]string{"token": j.Token, "command": j.Command}
	}
	return c.JSON(http.StatusOK, map[string]any{"worker": one(worker), "manager": one(manager)})
}

// APIRotateJoin replaces a role's join token ({"role": "worker"|"manager"}).
func (h *Handlers) APIRotateJoin(c echo.Context) error {
	var req struct {
		Role string `json:"role"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	err := h.rotateJoinToken(c, req.Role)
	if fields, ok := swarm.IsSpecError(err); ok {
		return fieldErrors(c, fields)
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// APIRemoveNode removes a node that is down or has left; ?drain=true drains one still up first (202).
func (h *Handlers) APIRemoveNode(c echo.Context) error {
	ctx := c.Request().Context()
	nodes, err := h.engine.Nodes(ctx)
	if err != nil {
		return err
	}
	n, err := swarm.FindNode(nodes, c.Param("id"))
	if err != nil {
		return err
	}
	if n.Status != "down" && c.QueryParam("drain") == "true" && n.Role == "worker" {
		if err := h.drainToRemove(c, n); err != nil {
			return err
		}
		return c.JSON(http.StatusAccepted, map[string]string{"message": "Draining " + n.Hostname + ": Berth removes it once it is down. Run `docker swarm leave` on it or shut it down."})
	}
	err = h.removeNode(c, n.ID)
	if fields, ok := swarm.IsSpecError(err); ok {
		return c.JSON(http.StatusConflict, map[string]string{"error": fields["node"]})
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
