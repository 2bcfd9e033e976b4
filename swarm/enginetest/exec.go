package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"
)

// Exec runs a command in a container on the node and returns its standard output.
func Exec(ctx context.Context, n *Node, containerID string, cmd ...string) (string, error) {
	cli, err := n.Client()
	if err != nil {
		return "", err
	}
	defer cli.Close()
	created, err := cli.ContainerExecCreate(ctx, containerID, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", err
	}
	att, err := cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return "", err
	}
	defer att.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); err != nil {
		return "", err
	}
	res, err := cli.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return stdout.String(), fmt.Errorf("%v exited %d: %s", cmd, res.ExitCode, stderr.String())
	}
	return stdout.String(), nil
}

// RunningContainer finds a running container of a swarm service on any node of the cluster.
func (c *Cluster) RunningContainer(ctx context.Context, service string) (*Node, string, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range c.Nodes {
			cli, err := n.Client()
			if err != nil {
				return nil, "", err
			}
			list, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
				filters.Arg("label", "com.docker.swarm.service.name="+service), filters.Arg("status", "running"))})
			cli.Close()
			if err == nil && len(list) > 0 {
				return n, list[0].ID, nil
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	return nil, "", fmt.Errorf("no running container of service %s within 60s", service)
}
