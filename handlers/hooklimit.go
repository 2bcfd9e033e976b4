package handlers

import (
	"sync"
	"time"
)

// Webhook calls allowed per token and window.
const (
	hookWindow         = time.Minute
	hookCallsPerWindow = 10
	// hookMaxKeys bounds how many keys the limiter remembers: memory stays bounded
	// however many made-up tokens or addresses call.
	hookMaxKeys = 10000
)

// rateLimiter allows at most limit events per key within a sliding window.
type rateLimiter struct {
	mu     sync.Mutex
	now    func() time.Time
	window time.Duration
	limit  int
	max    int // keys remembered at most
	events map[string][]time.Time
}

func newRateLimiter(now func() time.Time, window time.Duration, limit int) *rateLimiter {
	return &rateLimiter{now: now, window: window, limit: limit, max: hookMaxKeys, events: map[string][]time.Time{}}
}

// allow records an event for key and reports whether it is within the limit.
func (r *rateLimiter) allow(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	list, known := r.events[key]
	if !known && len(r.events) >= r.max {
		r.sweepLocked(now)
		if len(r.events) >= r.max {
			return false // full of keys still within their window: refuse new ones until they age out
		}
	}
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

// sweepLocked forgets the keys whose events are all older than the window.
func (r *rateLimiter) sweepLocked(now time.Time) {
	for k, list := range r.events {
		if len(list) == 0 || !list[len(list)-1].After(now.Add(-r.window)) {
			delete(r.events, k)
		}
	}
}

// size is how many keys the limiter remembers.
func (r *rateLimiter) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}
