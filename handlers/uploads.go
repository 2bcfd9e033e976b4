package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/volumewrite"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// archiveKind tells an archive's kind from its file name.
func archiveKind(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return volumewrite.KindTgz
	case strings.HasSuffix(n, ".tar"):
		return volumewrite.KindTar
	case strings.HasSuffix(n, ".zip"):
		return volumewrite.KindZip
	}
	return ""
}

// APIUploadFiles streams a request body into a volume mapping on a node:
// PUT /api/v1/volumes/{mapping}/files?node=N&path=/dir&name=F[&extract=true][&overwrite=true].
func (h *Handlers) APIUploadFiles(c echo.Context) error {
	ctx := c.Request().Context()
	mapping := c.Param("name")
	if _, err := h.store.VolumeMapping(ctx, mapping); errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "No volume mapping named "+mapping+".")
	} else if err != nil {
		return err
	}
	if err := h.guardVolume(c, "volume.upload", mapping); err != nil {
		return err
	}
	u := swarm.Upload{Mapping: mapping, Dest: c.QueryParam("path"), Name: c.QueryParam("name"), Kind: volumewrite.KindFile,
		Overwrite: c.QueryParam("overwrite") == "true", Size: c.Request().ContentLength}
	if u.Dest == "" {
		u.Dest = "/"
	}
	var errs = map[string]string{}
	if strings.Contains(u.Dest, "..") {
		errs["path"] = "Use a folder inside the volume, without '..'."
	}
	if c.QueryParam("extract") == "true" {
		if u.Kind = archiveKind(u.Name); u.Kind == "" {
			errs["name"] = "Only .tar, .tar.gz, .tgz and .zip archives can be extracted."
		}
	} else if u.Name == "" || strings.ContainsAny(u.Name, "/\\") {
		errs["name"] = "Name the file (no folders: give them in path)."
	}
	if u.Size <= 0 {
		errs["body"] = "Send the file with its length (Content-Length); an empty file is refused."
	}
	limit, err := h.store.UploadLimit(ctx)
	if err != nil {
		return err
	}
	if u.Size > limit {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("%s; this one is %.1f GB.", views.UploadLimitText(limit), float64(u.Size)/(1<<30)))
	}
	u.MaxTotal = limit // an archive may not unpack to more than the upload limit
	if u.Node = c.QueryParam("node"); u.Node == "" {
		u.Node = h.engine.Cached().NodeName
	}
	if len(errs) > 0 {
		return fieldErrors(c, errs)
	}
	body := io.LimitReader(c.Request().Body, u.Size)
	written, err := h.engine.UploadToVolume(ctx, u, body)
	object := "volume:" + mapping + " (" + u.Node + ")"
	switch {
	case errors.Is(err, swarm.ErrNoNode):
		return fieldErrors(c, map[string]string{"node": err.Error()})
	case errors.Is(err, swarm.ErrAgentMissing), errors.Is(err, swarm.ErrUnreachable):
		h.audit(c, "volume.upload", object, "failed: "+err.Error(), u.Name)
		return echo.NewHTTPError(http.StatusConflict, "Nothing was written: "+err.Error())
	case errors.As(err, new(*volumewrite.TooLargeError)):
		h.audit(c, "volume.upload", object, "refused: "+err.Error(), u.Name)
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "Nothing was written: "+err.Error())
	case err != nil:
		h.audit(c, "volume.upload", object, "failed: "+err.Error(), u.Name)
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Nothing was written: "+err.Error())
	}
	var total int64
	for _, w := range written {
		total += w.Size
	}
	h.audit(c, "volume.upload", object, "ok", fmt.Sprintf("%s into %s: %d files, %d bytes", u.Name, u.Dest, len(written), total))
	return c.JSON(http.StatusCreated, map[string]any{"mapping": mapping, "node": u.Node, "written": written})
}

// UploadNodes offers the nodes where a running task mounts the mapping (the form's node choice follows the mapping).
func (h *Handlers) UploadNodes(c echo.Context) error {
	mapping := c.QueryParam("mapping")
	services, err := h.engine.Services(c.Request().Context())
	if err != nil {
		return err
	}
	manager := h.engine.Cached().NodeName
	_, agents, err := h.engine.Agents(c.Request().Context())
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var nodes []views.UploadNode
	for _, s := range services {
		mounts := false
		for _, v := range s.Spec.Volumes {
			mounts = mounts || v.Mapping == mapping
		}
		if !mounts {
			continue
		}
		for _, t := range s.Tasks {
			if t.State == "running" && t.DesiredState == "running" && !seen[t.Node] {
				seen[t.Node] = true
				nodes = append(nodes, views.UploadNode{Name: t.Node, Reachable: t.Node == manager || agents[t.NodeID].State == "running"})
			}
		}
	}
	return fragment(c, http.StatusOK, views.UploadNodes(nodes))
}
