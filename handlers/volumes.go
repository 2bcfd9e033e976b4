package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/volumewrite"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// VolumeEngine creates and removes mapped volumes, reads their state and writes uploads into them.
type VolumeEngine interface {
	MappingStates(ctx context.Context, names []string) (map[string]swarm.MappingState, error)
	KnownMappingStates(ctx context.Context, names []string) (map[string]swarm.MappingState, error)
	VolumeMadeByBerth(ctx context.Context, volume string) (exists, made bool, err error)
	CreateMappingVolume(ctx context.Context, name string) error
	RemoveMappingVolume(ctx context.Context, name string) error
	KnownNodeVolumes(ctx context.Context, node string) ([]swarm.NodeVolume, time.Time, error)
	UploadToVolume(ctx context.Context, u swarm.Upload, body io.Reader) ([]volumewrite.Written, error)
}

// mappingStates joins Berth's mappings with what the engine knows of their volumes.
func (h *Handlers) mappingStates(c echo.Context) ([]store.VolumeMapping, map[string]swarm.MappingState, error) {
	ctx := c.Request().Context()
	maps, err := h.store.VolumeMappings(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(maps))
	for i, m := range maps {
		names[i] = m.Name
	}
	states, err := h.engine.KnownMappingStates(ctx, names)
	return maps, states, err
}

func copyRows(cs []swarm.VolumeCopy) []views.CopyRow {
	rows := make([]views.CopyRow, 0, len(cs))
	for _, c := range cs {
		size := humanSize(c.Size)
		if !c.Reachable {
			size = "size not known yet (node not reachable from Berth)"
		}
		rows = append(rows, views.CopyRow{Node: c.Node, Size: size})
	}
	return rows
}

func (h *Handlers) renderVolumes(c echo.Context, status int, edit func(*views.Volumes)) error {
	limit, err := h.store.UploadLimit(c.Request().Context())
	if err != nil {
		return err
	}
	v := views.Volumes{CanEdit: canOperate(c), CanAdopt: isAdmin(c), UploadLimit: limit, Notice: h.popNotice(c)}
	maps, states, err := h.mappingStates(c)
	if err != nil && maps == nil {
		return err
	}
	if err != nil {
		v.Error = "The engine could not be asked about the volumes: " + err.Error()
	}
	for _, m := range maps {
		st := states[m.Name]
		v.Items = append(v.Items, views.MappingRow{Name: m.Name, Created: views.FormatTime(m.CreatedAt) + " by " + m.CreatedBy,
			Copies: copyRows(st.Copies), UsedBy: usageRows(st.UsedBy)})
	}
	if edit != nil {
		edit(&v)
	}
	p := h.page(c, "Volumes", "volumes")
	return h.render(c, status, p, views.VolumesPage(p, v))
}

// VolumesPage lists the volume mappings.
func (h *Handlers) VolumesPage(c echo.Context) error { return h.renderVolumes(c, http.StatusOK, nil) }

// adoptionError refuses a mapping whose volume exists already, saying where and who uses it.
type adoptionError struct {
	name  string
	state swarm.MappingState
	admin bool
}

func (e *adoptionError) Error() string {
	var where []string
	for _, cp := range e.state.Copies {
		where = append(where, cp.Node)
	}
	msg := "A volume named " + e.name + " already exists"
	if len(where) > 0 {
		msg += " on " + strings.Join(where, ", ")
	}
	if names := swarm.ServiceNames(e.state.UsedBy); len(names) > 0 {
		msg += ", used by " + strings.Join(names, ", ")
	}
	msg += ". Berth did not create it"
	if e.admin {
		return msg + ": tick \"Adopt\" to map it as it is."
	}
	return msg + ": only an admin may adopt it."
}

// createMapping records the mapping and creates its volume on the manager; a failed
// volume creation removes the record again. A volume Berth did not create is mapped
// only when an admin adopts it, and never one of Berth's own.
func (h *Handlers) createMapping(c echo.Context, name string, adopt bool) error {
	ctx := c.Request().Context()
	if err := h.guardVolume(c, "volume.create", name); err != nil {
		return err
	}
	if _, err := h.store.VolumeMapping(ctx, name); err == nil {
		return store.ErrMappingExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	states, err := h.engine.MappingStates(ctx, []string{name})
	if err != nil {
		return err
	}
	st := states[name]
	local, made, err := h.engine.VolumeMadeByBerth(ctx, name)
	if err != nil {
		return err
	}
	// A volume Berth made (a restore's new volume) maps as it is; any other that exists somewhere is adopted.
	exists := !made && (local || len(st.Copies) > 0 || len(st.UsedBy) > 0)
	action, detail := "volume.create", ""
	if exists {
		if !adopt || !isAdmin(c) {
			h.audit(c, "volume.create", "volume:"+name, "denied: the volume exists and was not adopted by an admin", "")
			return &adoptionError{name: name, state: st, admin: isAdmin(c)}
		}
		action, detail = "volume.adopt", "existing volume, used by "+strings.Join(append(swarm.ServiceNames(st.UsedBy), "no service"), ", ")
	}
	if _, err := h.store.CreateVolumeMapping(ctx, name, currentUser(c).Username); err != nil {
		return err
	}
	if err := h.engine.CreateMappingVolume(ctx, name); err != nil {
		if rmErr := h.store.DeleteVolumeMapping(ctx, name); rmErr != nil {
			return fmt.Errorf("creating the volume failed (%v) and the mapping record could not be removed: %v", err, rmErr)
		}
		h.audit(c, action, "volume:"+name, "failed: "+err.Error(), detail)
		return fmt.Errorf("the engine could not create the volume: %w", err)
	}
	h.audit(c, action, "volume:"+name, "ok", detail)
	return nil
}

// CreateMapping adds a volume mapping.
func (h *Handlers) CreateMapping(c echo.Context) error {
	f := views.ObjectForm{Name: strings.TrimSpace(c.FormValue("name"))}
	f.Errors.Add("name", swarm.ValidateName(f.Name))
	if !f.Errors.Any() {
		var adoption *adoptionError
		if err := h.createMapping(c, f.Name, c.FormValue("adopt") == "true"); errors.Is(err, store.ErrMappingExists) {
			f.Errors.Add("name", "A volume mapping with this name exists.")
		} else if errors.As(err, &adoption) || errors.Is(err, swarm.ErrRefused) {
			f.Errors.Add("name", err.Error())
		} else if err != nil {
			f.Errors.Add("name", err.Error())
		}
	}
	if f.Errors.Any() {
		return h.renderVolumes(c, http.StatusUnprocessableEntity, func(v *views.Volumes) { v.Form = f })
	}
	return h.redirectNotice(c, "/volumes", "Created volume mapping "+f.Name+".")
}

// deleteMapping removes the manager's volume (refused while services mount it) and then the record.
func (h *Handlers) deleteMapping(c echo.Context, name string) error {
	ctx := c.Request().Context()
	if _, err := h.store.VolumeMapping(ctx, name); err != nil {
		return err
	}
	if err := h.guardVolume(c, "volume.delete", name); err != nil {
		return err
	}
	if err := h.engine.RemoveMappingVolume(ctx, name); err != nil {
		h.audit(c, "volume.delete", "volume:"+name, refusal(err), "")
		return err
	}
	if err := h.store.DeleteVolumeMapping(ctx, name); err != nil {
		return err
	}
	h.audit(c, "volume.delete", "volume:"+name, "ok", "volume removed on the manager")
	return nil
}

// DeleteMapping deletes a volume mapping nobody mounts.
func (h *Handlers) DeleteMapping(c echo.Context) error {
	name := c.Param("name")
	if ok, err := h.askFirst(c, "Delete mapping "+name+" and its volume on the manager? Its data there is lost.", "/volumes"); !ok {
		return err
	}
	if err := h.deleteMapping(c, name); errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "No volume mapping named "+name+".")
	} else if errors.Is(err, swarm.ErrRefused) {
		return err
	} else if err != nil {
		return h.renderVolumes(c, http.StatusConflict, func(v *views.Volumes) { v.Error = "Not deleted: " + err.Error() })
	}
	return h.redirectNotice(c, "/volumes", "Deleted volume mapping "+name+".")
}
