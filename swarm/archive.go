package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/berthhq/berth/swarm/agent"
)

// archiveBuffer is how much the upload hands on at a time: big writes to the
// engine mean fewer system calls and wake-ups on both sides of the socket.
const archiveBuffer = 1 << 20

// archiveWriteBuffer gathers chunk headers and small tar entries; larger writes bypass it.
const archiveWriteBuffer = 64 << 10

// putArchive streams a tar archive into a container's folder through the engine's
// archive endpoint (what docker cp uses), as the Docker client's CopyToContainer
// does, but over a transport that writes the stream in large chunks.
func (e *Engine) putArchive(ctx context.Context, id, dir string, body io.Reader) error {
	// The API version is negotiated already: the helper container was created through the client.
	dial := e.cli.Dialer()
	transport := &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		WriteBufferSize:   archiveWriteBuffer,
		DisableKeepAlives: true,
	}
	defer transport.CloseIdleConnections()
	q := url.Values{"path": {dir}, "noOverwriteDirNonDir": {"true"}}
	u := "http://docker/v" + e.cli.ClientVersion() + "/containers/" + url.PathEscape(id) + "/archive?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, body)
	if err != nil {
		return err
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/x-tar")
	if e.remote != nil {
		req.Header.Set(agent.Header, e.remote.grant)
	}
	res, err := transport.RoundTrip(req)
	if err != nil {
		return e.wrap(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 == 2 {
		return nil
	}
	var answer struct {
		Message string `json:"message"`
	}
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if json.Unmarshal(raw, &answer) != nil || answer.Message == "" {
		answer.Message = fmt.Sprintf("the engine answered %s", res.Status)
	}
	out := &engineError{msg: answer.Message}
	if res.StatusCode == http.StatusNotFound {
		out.kind = ErrNotFound
	}
	return out
}
