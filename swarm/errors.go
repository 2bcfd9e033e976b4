package swarm

import (
	"errors"
	"fmt"
	"strings"
)

// Kind names the engine objects Berth manages by name.
type Kind string

// The kinds of named objects.
const (
	KindConfig Kind = "config"
	KindSecret Kind = "secret"
	KindVolume Kind = "volume mapping"
)

// ErrNotFound means the engine has no such object.
var ErrNotFound = errors.New("not found in the Docker environment")

// ErrUnreachable means the engine did not answer.
var ErrUnreachable = errors.New("the Docker engine is unreachable")

// ErrExists means an object with that name exists already.
var ErrExists = errors.New("the name is already in use")

// InUseError refuses to delete an object that services use, naming them.
type InUseError struct {
	Kind     Kind
	Name     string
	Services []string
	Engine   string // what the engine said, when it was the engine that refused
}

func (e *InUseError) Error() string {
	msg := fmt.Sprintf("%s %q is in use by %s: remove it from %s first", e.Kind, e.Name, strings.Join(e.Services, ", "), pronoun(len(e.Services)))
	if e.Engine != "" {
		msg += " (the engine says: " + e.Engine + ")"
	}
	return msg
}

func pronoun(n int) string {
	if n == 1 {
		return "that service"
	}
	return "those services"
}
