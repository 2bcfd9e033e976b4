package enginetest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/berthhq/berth/swarm"
	"github.com/docker/docker/api/types/build"
)

// BusyboxImage is the shell image every test engine holds (no registry is reachable).
const BusyboxImage = "berth-test/busybox:latest"

// busyboxPath is Debian's static busybox (package busybox-static).
const busyboxPath = "/bin/busybox"

// BuildBusybox builds the shell image FROM scratch on the node.
func BuildBusybox(ctx context.Context, n *Node) error {
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		return fmt.Errorf("static busybox: %w", err)
	}
	dockerfile := "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nENV PATH=/bin\n"
	return BuildImage(ctx, n, BusyboxImage, map[string][]byte{"Dockerfile": []byte(dockerfile), "busybox": bin})
}

// BuildImage builds an image on the node from the given context files.
func BuildImage(ctx context.Context, n *Node, tag string, files map[string][]byte) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data))}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	cli, err := n.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		return fmt.Errorf("build %s on %s: %w", tag, n.Name, err)
	}
	defer resp.Body.Close()
	return swarm.StreamError(resp.Body)
}
