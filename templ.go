// Package berth is the root of Berth's module; `go generate` here regenerates the templ views.
package berth

//go:generate go tool templ generate
