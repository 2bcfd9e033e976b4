package backup

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/agent"
)

// DrillResult is what a restore drill found: what it restored and compared, and the
// first difference ("" when every file matched).
type DrillResult struct {
	Volumes    int
	Files      int
	Bytes      int64
	Difference string
	Duration   time.Duration
}

// Drill restores each volume archive of a snapshot into a scratch volume on the node
// it came from, compares every file's checksum with the snapshot's list, and removes
// the scratch volume. An error means the drill could not run; a difference that it ran and failed.
func (r *Runner) Drill(ctx context.Context, id string) (DrillResult, error) {
	start := time.Now()
	var res DrillResult
	s, err := r.Load(id)
	if err != nil {
		return res, err
	}
	if s.Problem != "" {
		res.Difference = manifestFile + ": " + s.Problem
		return res, nil
	}
	for _, v := range s.Volumes {
		files, n, diff, err := r.drillVolume(ctx, s, v)
		if err != nil {
			return res, fmt.Errorf("volume %s on %s: %w", v.Mapping, v.Node, err)
		}
		res.Volumes, res.Files, res.Bytes = res.Volumes+1, res.Files+files, res.Bytes+n
		if diff != "" {
			res.Difference = fmt.Sprintf("volume %s on %s: %s", v.Mapping, v.Node, diff)
			break
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// drillVolume restores one archive into a scratch volume and compares it file by file.
func (r *Runner) drillVolume(ctx context.Context, s Snapshot, v VolumeCopy) (int, int64, string, error) {
	if v.Sums == nil {
		return 0, 0, v.File + ": the snapshot holds no list of its files (taken before Berth kept them), so it cannot be compared", nil
	}
	raw, err := r.readAll(s.ID, v.Sums.File)
	if err != nil {
		return 0, 0, "", err
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != v.Sums.SHA256 {
		return 0, 0, v.Sums.File + " " + ErrChecksum + " (tampered with or damaged)", nil
	}
	var want []FileSum
	if err := json.Unmarshal(raw, &want); err != nil {
		return 0, 0, "", err
	}
	scratch := scratchVolume()
	files, n, diff, err := r.compareInScratch(ctx, s, v, want, scratch)
	if rerr := r.removeScratch(context.WithoutCancel(ctx), v.Node, scratch); rerr != nil && err == nil {
		err = fmt.Errorf("the scratch volume %s could not be removed: %w", scratch, rerr)
	}
	return files, n, diff, err
}

// compareInScratch restores one archive into the scratch volume and compares its files with want.
func (r *Runner) compareInScratch(ctx context.Context, s Snapshot, v VolumeCopy, want []FileSum, scratch string) (int, int64, string, error) {
	restored, err := r.RestoreVolume(ctx, VolumeRestore{Snapshot: s.ID, Mapping: v.Mapping, Node: v.Node, From: v.Node, Volume: scratch, InUseOK: true})
	if err != nil {
		var req *RequestError
		if errors.As(err, &req) || errors.Is(err, ErrBusy) {
			return 0, 0, "", err
		}
		return 0, 0, v.File + ": " + err.Error(), nil // the archive did not restore: that is what the drill is for
	}
	work, err := r.volumeWork(ctx, v.Node, agent.ActBackup, scratch)
	if err != nil {
		return 0, 0, "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(work.ExportVolume(ctx, scratch, pw)) }()
	got, err := tarSums(pr)
	pr.CloseWithError(err)
	if err != nil {
		return 0, 0, "", fmt.Errorf("reading the restored volume back: %w", err)
	}
	return len(want), restored.Bytes, firstDifference(want, got), nil
}

// scratchVolume names a drill's throw-away volume.
func scratchVolume() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "berth-drill-" + hex.EncodeToString(b)
}

// removeScratch removes a drill's volume from its node, waiting up to 30 s for the
// helper containers that read and wrote it to be gone.
func (r *Runner) removeScratch(ctx context.Context, node, volume string) error {
	work, err := r.volumeWork(ctx, node, agent.ActRestore, volume)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := work.RemoveMappingVolume(ctx, volume)
		var inUse *swarm.InUseError
		if err == nil || !errors.As(err, &inUse) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// volumeWork is one volume's work on a node by its name.
func (r *Runner) volumeWork(ctx context.Context, node, action, volume string) (swarm.VolumeWork, error) {
	nodes, err := r.Engine.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if n.Hostname == node {
			return r.Engine.VolumesOn(ctx, n, action, volume)
		}
	}
	return nil, fmt.Errorf("there is no node named %s", node)
}
