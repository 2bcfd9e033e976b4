package metrics

import "time"

// TaskPoint is one task's figures at one collection, at the finest step.
type TaskPoint struct {
	T time.Time
	TaskUse
}

// taskHistory keeps each service's task figures for a while, in memory only.
type taskHistory struct {
	by map[string][]TaskPoint // by service, oldest first
}

// add appends a collection's task figures and drops what is older than keep.
func (h *taskHistory) add(cur Current, step, keep time.Duration) {
	if h.by == nil {
		h.by = map[string][]TaskPoint{}
	}
	t := cur.At.Truncate(step)
	for _, u := range cur.Tasks {
		h.by[u.Service] = append(h.by[u.Service], TaskPoint{T: t, TaskUse: u})
	}
	cut := cur.At.Add(-keep)
	for svc, pts := range h.by {
		i := 0
		for i < len(pts) && pts[i].T.Before(cut) {
			i++
		}
		switch {
		case i == len(pts):
			delete(h.by, svc)
		case i > 0:
			h.by[svc] = append(pts[:0:0], pts[i:]...)
		}
	}
}

// of copies a service's points from a time on.
func (h *taskHistory) of(service string, from time.Time) []TaskPoint {
	var out []TaskPoint
	for _, p := range h.by[service] {
		if !p.T.Before(from) {
			out = append(out, p)
		}
	}
	return out
}
