package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// ImageEngine reads a node's images and disk use and removes its unused images.
type ImageEngine interface {
	ImagesOf(ctx context.Context, node string) (swarm.NodeImages, error)
	PruneImages(ctx context.Context, node string, ids []string, dryRun bool) (swarm.ImagePrune, error)
}

// imagesNode finds the node a route names (hostname or id) in the live model.
func (h *Handlers) imagesNode(c echo.Context) (swarm.NodeInfo, error) {
	nodes, err := h.engine.NodeInfos(c.Request().Context())
	if err != nil {
		return swarm.NodeInfo{}, err
	}
	return swarm.FindNode(nodes, c.Param("id"))
}

// pruneImages removes a node's unused images (only ids, when given) or previews it, for the page and the API alike; removals are audited.
func (h *Handlers) pruneImages(c echo.Context, n swarm.NodeInfo, ids []string, dryRun bool) (swarm.ImagePrune, error) {
	res, err := h.engine.PruneImages(c.Request().Context(), n.Hostname, ids, dryRun)
	if dryRun {
		return res, err
	}
	detail := fmt.Sprintf("removed %d images, %s of layers freed", len(res.Images), views.Bytes(res.Freed))
	for id, why := range res.Failed {
		detail += "; kept " + shortImageID(id) + ": " + why
	}
	if err != nil {
		detail = ""
	}
	h.audit(c, "node.images.prune", "node:"+n.Hostname, outcomeOf(err), detail)
	return res, err
}

// NodeImagesPage shows a node's images and Docker's disk use there, read from the node when asked.
func (h *Handlers) NodeImagesPage(c echo.Context) error {
	n, err := h.imagesNode(c)
	if err != nil {
		return err
	}
	return h.renderImages(c, http.StatusOK, n, func(v *views.ImagesView) { v.Notice = h.popNotice(c) })
}

func (h *Handlers) renderImages(c echo.Context, status int, n swarm.NodeInfo, edit func(*views.ImagesView)) error {
	v := views.ImagesView{Node: n.Hostname, NodeID: n.ID, CanOperate: canOperate(c)}
	imgs, err := h.engine.ImagesOf(c.Request().Context(), n.Hostname)
	if err != nil {
		v.Error = err.Error()
	} else {
		v.Read = imgs.Read.Format("15:04:05 MST")
		for _, im := range imgs.Images {
			v.Images = append(v.Images, imageRow(im))
		}
		for _, d := range imgs.Disk {
			v.Disk = append(v.Disk, views.DiskRow{Kind: d.Kind, Count: strconv.Itoa(d.Count), Active: strconv.Itoa(d.Active), Size: views.Bytes(d.Size),
				Reclaimable: views.Bytes(d.Reclaimable)})
		}
	}
	if edit != nil {
		edit(&v)
	}
	p := h.page(c, "Images on "+n.Hostname, "nodes")
	return h.render(c, status, p, views.ImagesPage(p, v))
}

func imageRow(im swarm.NodeImage) views.ImageRow {
	tags := strings.Join(im.Tags, ", ")
	if tags == "" {
		tags = "(untagged)"
	}
	return views.ImageRow{ID: im.ID, ShortID: shortImageID(im.ID), Tags: tags, Size: views.Bytes(im.Size), Unique: views.Bytes(im.Unique),
		Created: im.Created.UTC().Format("2006-01-02 15:04 MST"), UsedBy: im.UsedBy, Kept: im.Kept}
}

func shortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// PruneImagesForm previews the removal of a node's unused images, or removes exactly the previewed ones once confirmed.
func (h *Handlers) PruneImagesForm(c echo.Context) error {
	n, err := h.imagesNode(c)
	if err != nil {
		return err
	}
	dryRun := c.FormValue("dry_run") == "true"
	form, _ := c.FormParams()
	ids := form["id"]
	if !dryRun && len(ids) == 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "Preview the removal first: it removes exactly the images it showed.")
	}
	res, err := h.pruneImages(c, n, ids, dryRun)
	if errors.Is(err, swarm.ErrUnreachable) || errors.Is(err, swarm.ErrAgentMissing) {
		return h.renderImages(c, http.StatusServiceUnavailable, n, func(v *views.ImagesView) { v.Error = "Nothing was removed: " + err.Error() })
	}
	if err != nil {
		return err
	}
	if dryRun {
		return h.renderImages(c, http.StatusOK, n, func(v *views.ImagesView) {
			v.Previewed, v.PreviewFrees = true, views.Bytes(res.Frees)
			for _, im := range res.Images {
				v.Preview = append(v.Preview, imageRow(im))
			}
		})
	}
	msg := fmt.Sprintf("Removed %d images from %s, freeing %s.", len(res.Images), n.Hostname, views.Bytes(res.Freed))
	if len(res.Failed) > 0 {
		msg += fmt.Sprintf(" %d were kept: a container took them up or the engine refused.", len(res.Failed))
	}
	return h.redirectNotice(c, "/nodes/"+n.ID+"/images", msg)
}

// apiImage is an image as the API shows it.
func apiImage(im swarm.NodeImage) map[string]any {
	out := map[string]any{"id": im.ID, "tags": nonNil(im.Tags), "digests": nonNil(im.Digests), "size_bytes": im.Size, "unique_bytes": im.Unique,
		"created_at": im.Created.UTC().Format(time.RFC3339), "used_by": nonNil(im.UsedBy)}
	if im.Kept != "" {
		out["kept"] = im.Kept
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readNodeImages reads the images and disk use of the node the route names.
func (h *Handlers) readNodeImages(c echo.Context) (swarm.NodeImages, error) {
	n, err := h.imagesNode(c)
	if err != nil {
		return swarm.NodeImages{}, err
	}
	return h.engine.ImagesOf(c.Request().Context(), n.Hostname)
}

// APINodeImages lists a node's images.
func (h *Handlers) APINodeImages(c echo.Context) error {
	imgs, err := h.readNodeImages(c)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(imgs.Images))
	for _, im := range imgs.Images {
		out = append(out, apiImage(im))
	}
	return c.JSON(http.StatusOK, out)
}

// APINodeDisk answers Docker's disk use on a node, as `docker system df` sums it.
func (h *Handlers) APINodeDisk(c echo.Context) error {
	imgs, err := h.readNodeImages(c)
	if err != nil {
		return err
	}
	out := map[string]any{"node": imgs.Node, "layers_bytes": imgs.Layers}
	keys := map[string]string{"Images": "images", "Containers": "containers", "Local volumes": "volumes", "Build cache": "build_cache"}
	for _, d := range imgs.Disk {
		out[keys[d.Kind]] = map[string]any{"count": d.Count, "active": d.Active, "size_bytes": d.Size, "reclaimable_bytes": d.Reclaimable}
	}
	return c.JSON(http.StatusOK, out)
}

// APIPruneImages removes a node's unused images; ?dry_run=true only lists them and what they free.
func (h *Handlers) APIPruneImages(c echo.Context) error {
	n, err := h.imagesNode(c)
	if err != nil {
		return err
	}
	dryRun := c.QueryParam("dry_run") == "true"
	res, err := h.pruneImages(c, n, c.QueryParams()["id"], dryRun)
	if err != nil {
		return err
	}
	images := make([]map[string]any, 0, len(res.Images))
	for _, im := range res.Images {
		images = append(images, apiImage(im))
	}
	out := map[string]any{"node": n.Hostname, "dry_run": dryRun, "images": images, "frees_bytes": res.Frees}
	if !dryRun {
		out["freed_bytes"], out["failed"] = res.Freed, res.Failed
	}
	return c.JSON(http.StatusOK, out)
}
