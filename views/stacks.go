package views

import (
	"fmt"
	"strings"
)

// StackPreview is what deploying a compose file would do, item by item.
type StackPreview struct {
	Services, Objects, Networks, Mappings []StackItem
	Warnings                              []StackWarning
}

// StackItem is one object of a stack and what the deploy does to it.
type StackItem struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`
	Change string   `json:"change"`           // create, update, unchanged, remove, external, new version (replaces …)
	Fields []string `json:"fields,omitempty"` // for an update: the spec's fields that change
}

// StackWarning is a compose key Berth does not apply.
type StackWarning struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Summary counts the changes, for the audit log and the page's notice.
func (p StackPreview) Summary() string {
	count := map[string]int{}
	for _, list := range [][]StackItem{p.Services, p.Objects, p.Networks, p.Mappings} {
		for _, it := range list {
			if it.Change != "unchanged" && it.Change != "external" {
				count[strings.SplitN(it.Change, " ", 2)[0]]++
			}
		}
	}
	var parts []string
	for _, k := range []string{"create", "update", "new", "remove"} {
		if n := count[k]; n > 0 {
			word := map[string]string{"create": "created", "update": "updated", "new": "new versions", "remove": "removed"}[k]
			parts = append(parts, fmt.Sprintf("%d %s", n, word))
		}
	}
	if len(parts) == 0 {
		return "nothing changes"
	}
	return strings.Join(parts, ", ")
}

// StackForm is the compose text a user deploys or updates a stack with.
type StackForm struct {
	Name, Compose, Env string
	Update             bool
	Errors             FieldErrors
	Preview            *StackPreview
}

// StackRow is one stack on the list.
type StackRow struct {
	Name              string
	Services          int
	Running, Desired  int
	Berth             bool // deployed through Berth (its compose text is kept)
	Owner, UpdatedAgo string
}

// StackDetail is one stack's page.
type StackDetail struct {
	Name       string
	Services   []ServiceRow
	Compose    string
	Env        bool // a .env text was given (not shown: it may hold values)
	Berth      bool
	Owner      string
	Updated    string
	Revision   int
	CanOperate bool
	Notice     string
	Form       StackForm
}
