package enginetest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/berthhq/berth/swarm/agent"
	"github.com/docker/docker/client"
)

// RemotePort is where each test engine also answers over TCP with mutual TLS, as a
// remote Docker host would: the baseline for work Berth does on other nodes.
const RemotePort = 2376

// remoteKeys are the test engines' TLS keys (an authority, a server and a client certificate), made once.
func remoteKeys() (agent.Keys, error) {
	path := filepath.Join(dataRoot, "remote-tls.json")
	if raw, err := os.ReadFile(path); err == nil {
		return agent.UnmarshalKeys(raw)
	}
	k, err := agent.NewKeys(time.Now())
	if err != nil {
		return agent.Keys{}, err
	}
	raw, err := k.Marshal()
	if err != nil {
		return agent.Keys{}, err
	}
	if err := os.MkdirAll(dataRoot, 0o700); err != nil {
		return agent.Keys{}, err
	}
	return k, os.WriteFile(path, raw, 0o600)
}

// remoteArgs are dockerd's flags for its TLS listener, with the key files written into dir.
func (n *Node) remoteArgs() ([]string, error) {
	k, err := remoteKeys()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{"ca.pem": k.CA, "cert.pem": k.AgentCert, "key.pem": k.AgentKey}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(n.dir(), name), data, 0o600); err != nil {
			return nil, err
		}
	}
	return []string{"-H", fmt.Sprintf("tcp://%s:%d", n.Addr, RemotePort), "--tlsverify",
		"--tlscacert", filepath.Join(n.dir(), "ca.pem"), "--tlscert", filepath.Join(n.dir(), "cert.pem"), "--tlskey", filepath.Join(n.dir(), "key.pem")}, nil
}

// RemoteClient reaches the engine over TCP with mutual TLS, as the docker CLI does with DOCKER_HOST=tcp://...:2376.
func (n *Node) RemoteClient() (*client.Client, error) {
	k, err := remoteKeys()
	if err != nil {
		return nil, err
	}
	conf, err := k.ClientTLS()
	if err != nil {
		return nil, err
	}
	conf.MinVersion = 0 // whatever dockerd offers
	tr := &http.Transport{TLSClientConfig: conf}
	return client.NewClientWithOpts(client.WithHost("tcp://"+net.JoinHostPort(n.Addr, fmt.Sprint(RemotePort))),
		client.WithHTTPClient(&http.Client{Transport: tr}), client.WithAPIVersionNegotiation())
}
