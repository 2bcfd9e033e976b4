package handlers

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
)

// listCacheFor is how long a rendered services list is reused while the live model
// holds still: long enough that many clients share one render, short enough that the
// times it shows ("12 s ago") and the domains' checks stay current.
const listCacheFor = time.Second

// listCacheMost bounds how many filters' renders are kept.
const listCacheMost = 256

// serviceListCache keeps each filter's services list, rendered, for as long as the
// live model's snapshot it came from is current (at most listCacheFor), so fifty tabs
// pushed the same change, or fifty clients reading the same page, cost one render.
type serviceListCache struct {
	mu      sync.Mutex
	entries map[string]renderedList
}

// renderedList is one filter's list and its table's HTML.
type renderedList struct {
	from  *swarm.Service // the first service of the snapshot it was built from (held, so never reused)
	count int
	stale string
	at    time.Time
	list  views.ServiceList
	html  string
}

// get returns the list rendered for key from this snapshot, if it is fresh.
func (c *serviceListCache) get(key string, snapshot []swarm.Service, stale string, now time.Time) (renderedList, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.entries[key]
	return r, ok && r.from == first(snapshot) && r.count == len(snapshot) && r.stale == stale && now.Sub(r.at) < listCacheFor
}

func (c *serviceListCache) put(key string, r renderedList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= listCacheMost {
		c.entries = map[string]renderedList{}
	}
	for k, old := range c.entries {
		if old.from != r.from || old.count != r.count {
			delete(c.entries, k) // built from an older snapshot: it would keep that snapshot alive
		}
	}
	c.entries[key] = r
}

func first(list []swarm.Service) *swarm.Service {
	if len(list) == 0 {
		return nil
	}
	return &list[0]
}

// renderedServiceList is the filter's list and its rendered table, from the cache
// when the live model has not changed since it was rendered.
func (h *Handlers) renderedServiceList(ctx context.Context, f serviceFilter) (views.ServiceList, templ.Component, error) {
	snapshot, err := h.engine.Services(ctx)
	if err != nil {
		return views.ServiceList{}, nil, err
	}
	key, stale, now := f.query(f.Page), h.staleNote(), time.Now()
	if h.cfg.Resources != nil {
		key += "@" + h.cfg.Resources.Latest().At.String() // new figures render anew
	}
	if r, ok := h.listCache.get(key, snapshot, stale, now); ok {
		return r.list, templ.Raw(r.html), nil
	}
	l := h.serviceList(snapshot, f, stale, now)
	var buf bytes.Buffer
	if err := views.ServicesTable(l).Render(ctx, &buf); err != nil {
		return views.ServiceList{}, nil, err
	}
	html := buf.String()
	h.listCache.put(key, renderedList{from: first(snapshot), count: len(snapshot), stale: stale, at: now, list: l, html: html})
	return l, templ.Raw(html), nil
}
