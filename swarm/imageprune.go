package swarm

import (
	"context"
	"slices"
	"strings"

	"github.com/berthhq/berth/swarm/agent"
	"github.com/docker/docker/api/types/image"
)

// ImagePrune is what removing a node's unused images did, or would do.
type ImagePrune struct {
	Node   string
	DryRun bool
	Images []NodeImage       // removed (or, previewing, that would be)
	Frees  int64             // the images' own bytes: what the preview promises
	Freed  int64             // measured after removing: the node's image layers before less after
	Failed map[string]string // image id → the engine's reason, for any it would not remove
}

// PruneImages removes the node's images that no container uses and Berth does not
// keep (only those among ids when ids are given: the ones a preview showed), or only
// says which when dryRun. Removal is never forced: the engine itself refuses an image
// a container took up in the meantime.
func (e *Engine) PruneImages(ctx context.Context, node string, ids []string, dryRun bool) (ImagePrune, error) {
	on, err := e.OnNode(ctx, node, agent.Grant{Action: agent.ActImages})
	if err != nil {
		return ImagePrune{}, err
	}
	before, err := e.readImages(ctx, on, node)
	if err != nil {
		return ImagePrune{}, err
	}
	out := ImagePrune{Node: before.Node, DryRun: dryRun, Failed: map[string]string{}}
	for _, im := range before.Images {
		asked := slices.Contains(ids, im.ID)
		switch {
		case asked && im.Kept == keptForBerth:
			return ImagePrune{}, &Refusal{Kind: "image", Name: im.Name(), Reason: keptForBerth}
		case asked && im.Kept != "":
			out.Failed[im.ID] = "used by " + strings.Join(im.UsedBy, ", ")
		case im.Kept == "" && (len(ids) == 0 || asked):
			out.Images = append(out.Images, im)
			out.Frees += im.Unique
		}
	}
	for _, id := range ids {
		if !slices.ContainsFunc(before.Images, func(im NodeImage) bool { return im.ID == id }) {
			out.Failed[id] = "it is not on the node (any more)"
		}
	}
	if dryRun || len(out.Images) == 0 {
		return out, nil
	}
	removed := out.Images[:0:0]
	for _, im := range out.Images {
		if err := on.removeImage(ctx, im); err != nil {
			out.Failed[im.ID] = e.wrap(err).Error()
			continue
		}
		removed = append(removed, im)
	}
	out.Images = removed
	if after, err := e.readImages(ctx, on, node); err == nil {
		out.Freed = before.Layers - after.Layers
	}
	return out, nil
}

// removeImage removes an image by each of its tags (the last one deletes it) or, untagged, by id; never forced.
func (e *Engine) removeImage(ctx context.Context, im NodeImage) error {
	refs := im.Tags
	if len(refs) == 0 {
		refs = []string{im.ID}
	}
	for _, ref := range refs {
		if _, err := e.cli.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true}); err != nil {
			return err
		}
	}
	return nil
}
