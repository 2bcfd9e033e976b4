package handlers

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/berthhq/berth/swarm"
	"github.com/labstack/echo/v4"
)

// servicesPerPage bounds the services list's page, so a browser never receives thousands of rows.
const servicesPerPage = 100

// stackLabel is the label docker stack deploy (and Berth's stacks) put on a stack's services.
const stackLabel = "com.docker.stack.namespace"

// serviceFilter is what the services list shows: a name or image part, a stack, a
// health state, a node running one of its tasks, and the page.
type serviceFilter struct {
	Q, Stack, State, Node string
	Page                  int
	PerPage               int // 0: servicesPerPage
}

// size is how many services a page holds.
func (f serviceFilter) size() int {
	if f.PerPage > 0 {
		return f.PerPage
	}
	return servicesPerPage
}

// parseServiceFilter reads the filter from the query string (page 1 unless a valid one is given).
func parseServiceFilter(c echo.Context) serviceFilter {
	f := serviceFilter{Q: strings.TrimSpace(c.QueryParam("q")), Stack: c.QueryParam("stack"), State: c.QueryParam("state"), Node: c.QueryParam("node")}
	f.Page, _ = strconv.Atoi(c.QueryParam("page"))
	f.Page = max(f.Page, 1)
	return f
}

// query is the filter as a query string, for the live stream and the paging links.
func (f serviceFilter) query(page int) string {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "stack": f.Stack, "state": f.State, "node": f.Node} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v.Encode()
}

// matches reports whether a service passes the filter.
func (f serviceFilter) matches(s *swarm.Service) bool {
	q := strings.ToLower(f.Q)
	switch {
	case q != "" && !strings.Contains(strings.ToLower(s.Spec.Name), q) && !strings.Contains(strings.ToLower(s.Spec.Image), q):
		return false
	case f.Stack != "" && s.Spec.Labels[stackLabel] != f.Stack:
		return false
	case f.State != "" && health(*s) != f.State:
		return false
	case f.Node != "" && !slices.ContainsFunc(s.Tasks, func(t swarm.Task) bool { return t.Node == f.Node && t.State == "running" }):
		return false
	}
	return true
}

// filterServices returns the page of services the filter shows, how many match in
// all, and the stacks and nodes the list's choices offer; the page points into list.
func filterServices(list []swarm.Service, f serviceFilter) (page []*swarm.Service, matched int, stacks, nodes []string) {
	seenStack, seenNode := map[string]bool{}, map[string]bool{}
	first := (f.Page - 1) * f.size()
	for i := range list {
		s := &list[i]
		if st := s.Spec.Labels[stackLabel]; st != "" && !seenStack[st] {
			seenStack[st] = true
			stacks = append(stacks, st)
		}
		for _, t := range s.Tasks {
			if t.Node != "" && !seenNode[t.Node] {
				seenNode[t.Node] = true
				nodes = append(nodes, t.Node)
			}
		}
		if !f.matches(s) {
			continue
		}
		if matched >= first && matched < first+f.size() {
			page = append(page, s)
		}
		matched++
	}
	slices.Sort(stacks)
	slices.Sort(nodes)
	return page, matched, stacks, nodes
}
