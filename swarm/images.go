package swarm

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm/agent"
	"github.com/docker/docker/api/types"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// NodeImage is one image on a node, as the node's Images page shows it.
type NodeImage struct {
	ID      string
	Tags    []string
	Digests []string // repository@sha256:… the image was pulled or pushed as
	Size    int64    // bytes, its layers shared with other images included
	Unique  int64    // bytes only this image holds (what removing it alone frees)
	Created time.Time
	UsedBy  []string // the services (or containers) whose containers on the node use it, running or not
	Kept    string   // why "remove unused images" leaves it ("" when it would go)
}

// Name is the image's first tag, or its id when it has none.
func (im NodeImage) Name() string {
	if len(im.Tags) > 0 {
		return im.Tags[0]
	}
	return im.ID
}

// DiskPart is one line of `docker system df`: how many, how many in use, their size and what removing the unused frees.
type DiskPart struct {
	Kind              string
	Count, Active     int
	Size, Reclaimable int64
}

// NodeImages is a node's images and Docker's disk use there, read in one call.
type NodeImages struct {
	Node   string
	Images []NodeImage
	Disk   []DiskPart
	Layers int64 // bytes of image layers on the node's disk
	Read   time.Time
}

// keptForBerth is why an image of Berth's own services is never removed.
const keptForBerth = "it is Berth's own (its agent, its load balancer or Berth itself)"

// swarmServiceLabel names the service a task container belongs to.
const swarmServiceLabel = "com.docker.swarm.service.name"

// ImagesOf reads a node's images and disk use: this engine's node directly, another's through its agent.
func (e *Engine) ImagesOf(ctx context.Context, node string) (NodeImages, error) {
	on, err := e.OnNode(ctx, node, agent.Grant{Action: agent.ActImages})
	if err != nil {
		return NodeImages{}, err
	}
	return e.readImages(ctx, on, node)
}

// readImages reads the images on the node behind on, marking the ones Berth keeps.
func (e *Engine) readImages(ctx context.Context, on *Engine, node string) (NodeImages, error) {
	du, err := on.cli.DiskUsage(ctx, types.DiskUsageOptions{})
	if err != nil {
		return NodeImages{}, e.wrap(err)
	}
	out := NodeImages{Node: node, Layers: du.LayersSize, Read: time.Now()}
	if out.Node == "" {
		out.Node = e.LocalNode(ctx)
	}
	users := map[string][]string{}
	for _, c := range du.Containers {
		who := c.Labels[swarmServiceLabel]
		if who == "" && len(c.Names) > 0 {
			who = "container " + strings.TrimPrefix(c.Names[0], "/")
		}
		if !slices.Contains(users[c.ImageID], who) {
			users[c.ImageID] = append(users[c.ImageID], who)
		}
	}
	berths := e.berthImageRefs()
	for _, im := range du.Images {
		ni := NodeImage{ID: im.ID, Tags: named(im.RepoTags), Digests: named(im.RepoDigests), Size: im.Size, Unique: im.Size, Created: time.Unix(im.Created, 0), UsedBy: users[im.ID]}
		if im.SharedSize > 0 {
			ni.Unique = im.Size - im.SharedSize
		}
		sort.Strings(ni.UsedBy)
		switch {
		case berthImage(ni, berths):
			ni.Kept = keptForBerth
		case len(ni.UsedBy) > 0:
			ni.Kept = "in use"
		}
		out.Images = append(out.Images, ni)
	}
	sort.Slice(out.Images, func(i, j int) bool { return out.Images[i].Created.After(out.Images[j].Created) })
	out.Disk = diskParts(du, out.Images)
	return out, nil
}

// diskParts sums disk use the way `docker system df` does.
func diskParts(du types.DiskUsage, images []NodeImage) []DiskPart {
	img := DiskPart{Kind: "Images", Count: len(images), Size: du.LayersSize}
	for _, im := range images {
		if len(im.UsedBy) > 0 {
			img.Active++
		} else {
			img.Reclaimable += im.Unique
		}
	}
	ctr := DiskPart{Kind: "Containers", Count: len(du.Containers)}
	for _, c := range du.Containers {
		ctr.Size += c.SizeRw
		if c.State == "running" {
			ctr.Active++
		} else {
			ctr.Reclaimable += c.SizeRw
		}
	}
	vol := DiskPart{Kind: "Local volumes", Count: len(du.Volumes)}
	for _, v := range du.Volumes {
		if v.UsageData == nil || v.UsageData.Size < 0 {
			continue
		}
		vol.Size += v.UsageData.Size
		if v.UsageData.RefCount > 0 {
			vol.Active++
		} else {
			vol.Reclaimable += v.UsageData.Size
		}
	}
	cache := DiskPart{Kind: "Build cache", Count: len(du.BuildCache)}
	for _, b := range du.BuildCache {
		cache.Size += b.Size
		if b.InUse {
			cache.Active++
		} else if !b.Shared {
			cache.Reclaimable += b.Size
		}
	}
	return []DiskPart{img, ctr, vol, cache}
}

// berthImageRefs are the images Berth's own services run, from the live model (or the engine).
func (e *Engine) berthImageRefs() []string {
	var refs []string
	add := func(name string, labels map[string]string, img string) {
		if reservedService(name, labels) != "" {
			refs = append(refs, img)
		}
	}
	if m := e.liveModel(); m != nil {
		m.readServices(func(s dswarm.Service) {
			if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
				add(s.Spec.Name, s.Spec.Labels, cs.Image)
			}
		})
	}
	return refs
}

// berthImage says whether an image is one of refs (by tag, digest or id).
func berthImage(im NodeImage, refs []string) bool {
	for _, ref := range refs {
		name, digest, _ := strings.Cut(ref, "@")
		if digest != "" && (im.ID == digest || slices.ContainsFunc(im.Digests, func(d string) bool { return strings.HasSuffix(d, "@"+digest) })) {
			return true
		}
		if slices.Contains(im.Tags, name) || (!strings.Contains(lastPart(name), ":") && slices.Contains(im.Tags, name+":latest")) || im.ID == name {
			return true
		}
	}
	return false
}

// named drops the engine's "<none>" placeholders from an image's tags or digests.
func named(refs []string) []string {
	return slices.DeleteFunc(slices.Clone(refs), func(r string) bool { return strings.HasPrefix(r, "<none>") })
}

func lastPart(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }
