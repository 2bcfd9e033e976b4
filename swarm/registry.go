package swarm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
)

// dockerHub is the registry host images without one come from.
const dockerHub = "docker.io"

// NormalizeRegistryURL checks a registry URL typed by a user (a host, an optional
// port and an optional namespace path, no scheme) and returns it in canonical form.
func NormalizeRegistryURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return "", errors.New("Enter the registry, for example ghcr.io/acme or registry.example.com:5000/team.")
	case strings.Contains(s, "://"):
		return "", errors.New("Leave out the scheme (https://): enter host and path only, for example ghcr.io/acme.")
	case strings.ContainsAny(s, " \t\n"):
		return "", errors.New("The registry URL cannot contain spaces.")
	case strings.Contains(s, "@"):
		return "", errors.New("Leave credentials out of the URL: use the username and password fields.")
	}
	s = strings.TrimRight(s, "/")
	host, path, _ := strings.Cut(s, "/")
	host = strings.ToLower(host)
	if host == "index.docker.io" || host == "registry-1.docker.io" {
		host = dockerHub
	}
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return "", fmt.Errorf("%q is not a registry host: include the domain, for example docker.io/%s.", host, s)
	}
	candidate := host
	if path != "" {
		candidate += "/" + path
	}
	// The URL must read as the start of an image reference.
	if _, err := reference.ParseNormalizedNamed(candidate + "/x"); err != nil && path != "" {
		return "", fmt.Errorf("%q is not a valid registry path: use lower-case letters, digits, '.', '_', '-' and '/'.", path)
	}
	if _, err := reference.ParseNormalizedNamed(host + "/x"); err != nil {
		return "", fmt.Errorf("%q is not a valid registry host.", host)
	}
	return candidate, nil
}

// ImageRepository returns an image reference's full repository name (host/path,
// Docker Hub spelled out), without tag or digest.
func ImageRepository(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(strings.TrimSpace(ref))
	if err != nil {
		return "", fmt.Errorf("%q is not a valid image reference: %v", ref, err)
	}
	return named.Name(), nil
}

// MatchCredential returns the index of the URL that is the longest prefix of the
// image's repository at a path boundary, or -1 when none matches.
func MatchCredential(imageRef string, urls []string) int {
	repo, err := ImageRepository(imageRef)
	if err != nil {
		return -1
	}
	best, bestLen := -1, -1
	for i, u := range urls {
		if (repo == u || strings.HasPrefix(repo, u+"/")) && len(u) > bestLen {
			best, bestLen = i, len(u)
		}
	}
	return best
}

// RegistryHost is the part of a registry URL the engine authenticates against.
func RegistryHost(url string) string {
	host, _, _ := strings.Cut(url, "/")
	return host
}

// serverAddress is what the engine expects as the auth server for a host.
func serverAddress(host string) string {
	if host == dockerHub {
		return "https://index.docker.io/v1/"
	}
	return host
}

// Credential is a registry login to use for one operation.
type Credential struct {
	URL      string
	Username string
	Password string
}

// RegistryLogin checks a credential against its registry through the engine and returns the registry's answer.
func (e *Engine) RegistryLogin(ctx context.Context, c Credential) (string, error) {
	res, err := e.cli.RegistryLogin(ctx, registry.AuthConfig{Username: c.Username, Password: c.Password, ServerAddress: serverAddress(RegistryHost(c.URL))})
	if err != nil {
		return "", e.wrap(err)
	}
	if res.Status == "" {
		return "Login Succeeded", nil
	}
	return res.Status, nil
}

// PullImage pulls an image onto the engine's node with the given credential (nil for anonymous).
func (e *Engine) PullImage(ctx context.Context, ref string, c *Credential) error {
	opts := image.PullOptions{}
	if c != nil {
		auth, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: c.Username, Password: c.Password, ServerAddress: serverAddress(RegistryHost(c.URL))})
		if err != nil {
			return err
		}
		opts.RegistryAuth = auth
	}
	rc, err := e.cli.ImagePull(ctx, ref, opts)
	if err != nil {
		return e.wrap(err)
	}
	defer rc.Close()
	return StreamError(rc)
}

// StreamError reads the engine's JSON message stream (pull, build, load) and returns the error it reports, if any.
func StreamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
