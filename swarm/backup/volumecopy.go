package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/agent"
	"github.com/berthhq/berth/swarm/volumewrite"
)

// copyMapping copies the mapping's volume from every node that holds it (other
// nodes' through their agents), stopping its services once around all copies in "stop" mode.
func (r *Runner) copyMapping(ctx context.Context, draft Draft, m *Manifest, mp Mapping, nodes []swarm.NodeInfo, ran []string) error {
	type holder struct {
		node string
		work swarm.VolumeWork
	}
	var holders []holder
	for _, n := range nodes {
		expected := n.Hostname == m.Node || slices.Contains(ran, n.Hostname)
		if !n.Ready() {
			if expected {
				m.Warnings = append(m.Warnings, fmt.Sprintf("volume %s on node %s: not copied (the node is %s)", mp.Name, n.Hostname, n.Status))
			}
			continue
		}
		w, err := r.Engine.VolumesOn(ctx, n, agent.ActBackup, mp.Name)
		var ok bool
		if err == nil {
			ok, err = w.VolumeExists(ctx, mp.Name)
		}
		switch {
		case err != nil && n.Hostname == m.Node:
			return err
		case err != nil:
			if expected {
				m.Warnings = append(m.Warnings, fmt.Sprintf("volume %s on node %s: not copied (%v)", mp.Name, n.Hostname, err))
			}
		case ok:
			holders = append(holders, holder{n.Hostname, w})
		}
	}
	if len(holders) == 0 {
		m.Warnings = append(m.Warnings, fmt.Sprintf("volume %s: on no node Berth can read (no task has used it yet)", mp.Name))
		return nil
	}
	var stopped []string
	if mp.Mode == "stop" {
		restore, names, err := r.stopUsers(ctx, mp.Name)
		defer restore()
		if err != nil {
			return err
		}
		stopped = names
	}
	for _, h := range holders {
		v := VolumeCopy{Mapping: mp.Name, Node: h.node, File: volumeFile(mp.Name, h.node, m.Node), Consistency: "live"}
		if mp.Mode == "stop" {
			v.Consistency, v.Stopped = "stopped", stopped
		}
		if err := r.copyVolume(ctx, draft, m, &v, h.work, h.node == m.Node); err != nil {
			return fmt.Errorf("on node %s: %w", h.node, err)
		}
		if err := writeSums(draft, &v); err != nil {
			return fmt.Errorf("on node %s: the list of files: %w", h.node, err)
		}
		m.Volumes = append(m.Volumes, v)
	}
	return nil
}

// volumeFile names a volume's archive in a snapshot: the copy on the node Berth's engine runs on keeps the plain name.
func volumeFile(mapping, node, local string) string {
	if node == local {
		return "volume-" + mapping + ".tar.zst"
	}
	return "volume-" + mapping + "@" + node + ".tar.zst"
}

// copyVolume compresses one volume's archive into the draft: written by a helper
// straight into the backup folder when the volume is on this engine's node, else
// streamed through the node's engine API (and agent).
func (r *Runner) copyVolume(ctx context.Context, draft Draft, m *Manifest, v *VolumeCopy, work swarm.VolumeWork, local bool) error {
	if dir, ok := draft.(interface{ Local() string }); ok && local {
		res, err := r.archiveDirect(ctx, dir.Local(), v.File, m, v.Mapping, work)
		if err == nil {
			v.Size, v.DataBytes, v.SHA256 = res.Size, res.DataBytes, res.SHA256
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		// Stream through the engine's API instead, and say why.
		os.Remove(filepath.Join(dir.Local(), v.File))
		if !strings.Contains(err.Error(), ErrNotBackupDir) {
			m.Warnings = append(m.Warnings, fmt.Sprintf("volume %s: copied through the engine's API, the direct copy failed: %v", v.Mapping, err))
		}
	}
	w, err := draft.Create(v.File)
	if err != nil {
		return err
	}
	sum := sha256.New()
	counted := &countingWriter{w: io.MultiWriter(w, sum)}
	enc, err := newEncoder(counted)
	if err != nil {
		w.Close()
		return err
	}
	p := Progress{ID: m.ID, Action: "backup", Phase: "copying volumes", Volume: v.Mapping + " on " + v.Node, StartedAt: m.Started}
	raw := &countingWriter{w: enc, progressCounter: progressCounter{report: func(n int64) { p.Done = n; r.setProgress(p) }}}
	err = withoutStaging(raw, func(w io.Writer) error { return work.ExportVolume(ctx, v.Mapping, w) })
	if err == nil {
		err = enc.Close()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	v.Size, v.DataBytes, v.SHA256 = counted.n, raw.n, hex.EncodeToString(sum.Sum(nil))
	return nil
}

// archiveDirect has a helper on the node write the volume's archive into the draft
// folder, proving with a probe file that the folder it mounts is this one.
func (r *Runner) archiveDirect(ctx context.Context, local, file string, m *Manifest, volume string, work swarm.VolumeWork) (swarm.ArchiveAnswer, error) {
	probe := ".probe-" + NewID(r.Now())
	if err := os.WriteFile(filepath.Join(local, probe), nil, 0o600); err != nil {
		return swarm.ArchiveAnswer{}, err
	}
	defer os.Remove(filepath.Join(local, probe))
	done := make(chan struct{})
	defer close(done)
	go func() { // progress: the compressed bytes written so far
		p := Progress{ID: m.ID, Action: "backup", Phase: "copying volumes (compressed bytes written)", Volume: volume, StartedAt: m.Started}
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if st, err := os.Stat(filepath.Join(local, file)); err == nil {
					p.Done = st.Size()
					r.setProgress(p)
				}
			}
		}
	}()
	// The node sees the folder at the same path when Berth runs on it or mounts it at the same path.
	return work.ArchiveVolumeInto(ctx, volume, local, file, probe)
}

// stopUsers scales the services that mount a mapping to zero and waits for their tasks
// to stop; the returned function scales them back.
func (r *Runner) stopUsers(ctx context.Context, mapping string) (func(), []string, error) {
	services, err := r.Engine.Services(ctx)
	if err != nil {
		return func() {}, nil, err
	}
	was := map[string]uint64{}
	for _, s := range services {
		for _, vol := range s.Spec.Volumes {
			if vol.Mapping == mapping && s.Spec.Replicas != nil && *s.Spec.Replicas > 0 {
				was[s.Spec.Name] = *s.Spec.Replicas
			}
		}
	}
	restore := func() {
		for name, n := range was {
			r.Engine.ScaleService(context.WithoutCancel(ctx), name, n)
		}
	}
	var names []string
	for name := range was {
		names = append(names, name)
		if _, err := r.Engine.ScaleService(ctx, name, 0); err != nil {
			return restore, names, fmt.Errorf("scaling %s to zero: %w", name, err)
		}
	}
	sort.Strings(names)
	deadline := time.Now().Add(2 * time.Minute)
	for _, name := range names {
		for {
			s, err := r.Engine.Service(ctx, name)
			if err != nil {
				return restore, names, err
			}
			if s.Running == 0 {
				break
			}
			if time.Now().After(deadline) {
				return restore, names, fmt.Errorf("%s still has running tasks after 2 minutes", name)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	return restore, names, nil
}

// nodesThatRan names, per mapping, the nodes where tasks mounting it were placed (so its volume is expected there).
func (r *Runner) nodesThatRan(ctx context.Context) (map[string][]string, error) {
	services, err := r.Engine.Services(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, s := range services {
		for _, v := range s.Spec.Volumes {
			for _, t := range s.Tasks {
				if v.Mapping != "" && t.Node != "" && !slices.Contains(out[v.Mapping], t.Node) {
					out[v.Mapping] = append(out[v.Mapping], t.Node)
				}
			}
		}
	}
	return out, nil
}

// progressCounter counts bytes on their way and reports them every 4 MiB.
type progressCounter struct {
	n, last int64
	report  func(int64)
}

func (c *progressCounter) add(n int) {
	c.n += int64(n)
	if c.report != nil && c.n-c.last >= 4<<20 {
		c.last = c.n
		c.report(c.n)
	}
}

// countingWriter counts what is written through it.
type countingWriter struct {
	progressCounter
	w io.Writer
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.add(n)
	return n, err
}

// countingReader counts what is read through it.
type countingReader struct {
	progressCounter
	r io.Reader
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(n)
	return n, err
}

// withoutStaging copies the tar stream export writes into w, leaving out uploads' staging folders.
func withoutStaging(w io.Writer, export func(io.Writer) error) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(export(pw)) }()
	defer pr.Close()
	tr, tw := tar.NewReader(pr), tar.NewWriter(w)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		if volumewrite.InStaging(h.Name) {
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}
