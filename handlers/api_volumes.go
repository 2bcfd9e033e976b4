package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// APIMapping is a volume mapping in the API.
type APIMapping struct {
	Name      string          `json:"name"`
	CreatedAt string          `json:"created_at"`
	CreatedBy string          `json:"created_by"`
	Nodes     []APIVolumeCopy `json:"nodes"`
	UsedBy    []APIUsage      `json:"used_by"`
}

// APIVolumeCopy is the mapping's volume on one node; size is null when unknown.
type APIVolumeCopy struct {
	Node string `json:"node"`
	Size *int64 `json:"size_bytes"`
}

// APIVolumes lists the volume mappings.
func (h *Handlers) APIVolumes(c echo.Context) error {
	maps, states, err := h.mappingStates(c)
	if err != nil {
		return err
	}
	out := make([]APIMapping, 0, len(maps))
	for _, m := range maps {
		st := states[m.Name]
		a := APIMapping{Name: m.Name, CreatedAt: apiTime(m.CreatedAt), CreatedBy: m.CreatedBy, Nodes: []APIVolumeCopy{}, UsedBy: apiUsages(st.UsedBy)}
		for _, cp := range st.Copies {
			vc := APIVolumeCopy{Node: cp.Node}
			if cp.Reachable && cp.Size >= 0 {
				size := cp.Size
				vc.Size = &size
			}
			a.Nodes = append(a.Nodes, vc)
		}
		out = append(out, a)
	}
	return c.JSON(http.StatusOK, out)
}

// APICreateVolume creates a volume mapping.
func (h *Handlers) APICreateVolume(c echo.Context) error {
	var req struct {
		Name  string `json:"name"`
		Adopt bool   `json:"adopt"` // admins: map a volume that exists already
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	if msg := swarm.ValidateName(req.Name); msg != "" {
		return fieldErrors(c, views.FieldErrors{"name": msg})
	}
	var adoption *adoptionError
	if err := h.createMapping(c, req.Name, req.Adopt); errors.Is(err, store.ErrMappingExists) {
		return echo.NewHTTPError(http.StatusConflict, "A volume mapping named "+req.Name+" exists.")
	} else if errors.As(err, &adoption) {
		return c.JSON(http.StatusConflict, map[string]any{"error": err.Error(), "services": swarm.ServiceNames(adoption.state.UsedBy)})
	} else if err != nil {
		return err
	}
	m, err := h.store.VolumeMapping(c.Request().Context(), req.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, APIMapping{Name: m.Name, CreatedAt: apiTime(m.CreatedAt), CreatedBy: m.CreatedBy, Nodes: []APIVolumeCopy{}, UsedBy: []APIUsage{}})
}

// APIDeleteVolume deletes a volume mapping; 409 names the services mounting it.
func (h *Handlers) APIDeleteVolume(c echo.Context) error {
	err := h.deleteMapping(c, c.Param("name"))
	var inUse *swarm.InUseError
	switch {
	case errors.As(err, &inUse):
		return c.JSON(http.StatusConflict, map[string]any{"error": err.Error(), "services": inUse.Services})
	case errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "No volume mapping named "+c.Param("name")+".")
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
