package swarm

import (
	"context"
	"io"
	"sort"

	"github.com/berthhq/berth/swarm/agent"
	"github.com/docker/docker/api/types"
)

// NodeVolume is a volume on one node, with its size.
type NodeVolume struct {
	Name    string
	Driver  string
	Size    int64 // bytes; -1 when the engine does not say
	Users   int64 // containers mounting it (running or not); -1 when unknown
	Managed bool  // created by Berth
}

// NodeVolumes lists the volumes on a node (hostname or id), through its agent when it is not this engine's node.
func (e *Engine) NodeVolumes(ctx context.Context, node string) ([]NodeVolume, error) {
	on, err := e.OnNode(ctx, node, agent.Grant{Action: agent.ActVolumes})
	if err != nil {
		return nil, err
	}
	return on.localVolumes(ctx)
}

// volumesOf is NodeVolumes for a listed node.
func (e *Engine) volumesOf(ctx context.Context, n NodeInfo) ([]NodeVolume, error) {
	on, err := e.On(ctx, n, agent.Grant{Action: agent.ActVolumes})
	if err != nil {
		return nil, err
	}
	return on.localVolumes(ctx)
}

// localVolumes lists the volumes of this engine's node with their sizes, by name.
func (e *Engine) localVolumes(ctx context.Context) ([]NodeVolume, error) {
	du, err := e.cli.DiskUsage(ctx, types.DiskUsageOptions{Types: []types.DiskUsageObject{types.VolumeObject}})
	if err != nil {
		return nil, e.wrap(err)
	}
	out := make([]NodeVolume, 0, len(du.Volumes))
	for _, v := range du.Volumes {
		nv := NodeVolume{Name: v.Name, Driver: v.Driver, Size: -1, Users: -1, Managed: v.Labels[ManagedLabel] == "true"}
		if v.UsageData != nil {
			nv.Size, nv.Users = v.UsageData.Size, v.UsageData.RefCount
		}
		out = append(out, nv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// VolumeWork is node-local work on volumes: this engine's node, or another node's through its agent.
type VolumeWork interface {
	Cached() Status
	ExportVolume(ctx context.Context, volume string, w io.Writer) error
	ImportVolume(ctx context.Context, volume string, r io.Reader) error
	VolumeExists(ctx context.Context, volume string) (bool, error)
	ArchiveVolumeInto(ctx context.Context, volume, hostDir, name, probe string) (ArchiveAnswer, error)
	RestoreArchiveInto(ctx context.Context, volume, hostDir, name, sha256 string) (int64, error)
	RemoveMappingVolume(ctx context.Context, name string) error
}

// VolumesOn returns volume work on a listed node allowed one action (agent.ActBackup,
// ActRestore or ActUpload) on one volume.
func (e *Engine) VolumesOn(ctx context.Context, n NodeInfo, action, volume string) (VolumeWork, error) {
	on, err := e.On(ctx, n, agent.Grant{Action: action, Volume: volume})
	if err != nil {
		return nil, err
	}
	return on, nil
}
