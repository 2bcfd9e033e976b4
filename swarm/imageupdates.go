package swarm

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/berthhq/berth/swarm/agent"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
)

// TaggedImage is the tag a service follows ("" when it runs a digest alone): image:tag, with "latest" when it names none.
func (s ServiceSpec) TaggedImage() string {
	switch {
	case s.Tag != "":
		return s.Image + ":" + s.Tag
	case s.Digest != "":
		return ""
	}
	return s.Image + ":latest"
}

// TagDigest asks the registry, through the engine's distribution inspect and with the
// credential, which digest the tag points at now; the image is not pulled.
func (e *Engine) TagDigest(ctx context.Context, tagged string, cred *Credential) (string, error) {
	auth, err := encodeAuth(cred)
	if err != nil {
		return "", err
	}
	d, err := e.cli.DistributionInspect(ctx, tagged, auth)
	if err != nil {
		return "", fmt.Errorf("the registry did not say what %s points at: %w", tagged, e.wrap(err))
	}
	return d.Descriptor.Digest.String(), nil
}

// RunningDigests are the digests of the image the service's running tasks run: the
// digest it is pinned to, or else each task's image as its node's engine knows it.
func (e *Engine) RunningDigests(ctx context.Context, s Service) ([]string, error) {
	if s.Spec.Digest != "" {
		return []string{s.Spec.Digest}, nil
	}
	repo, err := ImageRepository(s.Spec.Image)
	if err != nil {
		return nil, err
	}
	var out []string
	nodes := map[string]*Engine{} // one agent lookup per node, however many tasks run there
	for _, t := range s.Tasks {
		if t.State != string(dswarm.TaskStateRunning) || t.ContainerID == "" {
			continue
		}
		on, ok := nodes[t.NodeID]
		if !ok {
			if on, err = e.OnNode(ctx, t.NodeID, agent.Grant{Action: agent.ActImages}); err != nil {
				return nil, err
			}
			nodes[t.NodeID] = on
		}
		list, err := on.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("id", t.ContainerID))})
		if err != nil || len(list) == 0 {
			continue // the task ended meanwhile
		}
		img, err := on.cli.ImageInspect(ctx, list[0].ImageID)
		if err != nil {
			return nil, fmt.Errorf("read the image task %s runs on %s: %w", t.ID, t.Node, e.wrap(err))
		}
		for _, rd := range img.RepoDigests {
			name, digest, ok := strings.Cut(rd, "@")
			if r, err := ImageRepository(name); ok && err == nil && r == repo && !slices.Contains(out, digest) {
				out = append(out, digest)
			}
		}
	}
	return out, nil
}

// PinImage redeploys a service to the digest its tag now points at (image:tag@digest, as
// docker service create pins it), so every node pulls that image with the credential.
func (e *Engine) PinImage(ctx context.Context, name, digest string, cred *Credential) (Service, error) {
	if !digestPat.MatchString(digest) {
		return Service{}, &SpecError{Fields: map[string]string{"digest": "A digest reads sha256: and 64 hexadecimal digits."}}
	}
	return e.update(ctx, name, cred, dswarm.ServiceUpdateOptions{}, func(spec *dswarm.ServiceSpec) {
		if cs := spec.TaskTemplate.ContainerSpec; cs != nil {
			image, tag, _ := splitReference(cs.Image)
			if tag == "" {
				tag = "latest"
			}
			cs.Image = image + ":" + tag + "@" + digest
		}
	})
}
