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

// TraefikVersion is the Traefik release the load balancer tests build and run.
const TraefikVersion = "v3.6.12"

// TraefikImage is the load balancer image tests deploy (built from the cached binary).
const TraefikImage = "berth-test/traefik:" + TraefikVersion

// EnvTraefik names the static Traefik binary testenv built.
const EnvTraefik = "BERTH_TEST_TRAEFIK"

// BuildTraefik builds the Traefik image on the node, unless it is there already.
func BuildTraefik(ctx context.Context, n *Node) error {
	cli, err := n.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, _, err := cli.ImageInspectWithRaw(ctx, TraefikImage); err == nil {
		return nil
	}
	path := os.Getenv(EnvTraefik)
	if path == "" {
		return fmt.Errorf("%s is not set: run the suite through `go run ./cmd/testenv`, which builds Traefik", EnvTraefik)
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("traefik binary: %w", err)
	}
	dockerfile := "FROM scratch\nCOPY traefik /traefik\nENTRYPOINT [\"/traefik\"]\n"
	return BuildImage(ctx, n, TraefikImage, map[string][]byte{"Dockerfile": []byte(dockerfile), "traefik": bin})
}
