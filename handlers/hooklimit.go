package handlers

import (
	"sync"
	"time"
)

// Webhook calls allowed per token and window.
const (
	hookWindow         = time.Minute
	hookCallsPerWindow = 10
)

// rateLimiter allows at most limit events per key within a sliding window.
type rateLimiter struct {
	mu     sync.Mutex
	now    func() time.Time
	window time.Duration
	limit  int
	events map[string][]time.Time
}

func newRateLimiter(now func() time.Time, window time.Duration, limit int) *rateLimiter {
	return &rateLimiter{now: now, window: window, limit: limit, events: map[string][]time.Time{}}
}

// allow records an event for key and reports whether it is within the limit.
func (r *rateLimiter) allow(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	list := r.events[key]
	i := 0
	for i < len(list) && !list[i].After(now.Add(-r.window)) {
		i++
	}
	list = list[i:]
	if len(list) >= r.limit {
		r.events[key] = list
		return false
	}
	r.events[key] = append(list, now)
	return true
}
