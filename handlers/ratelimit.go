package handlers

import (
	"strings"
	"sync"
	"time"
)

// Failed sign-ins allowed per window before the account or the address is held back.
const (
	loginWindow         = 15 * time.Minute
	loginFailPerAccount = 5
	loginFailPerAddress = 20
)

// loginLimiter counts recent failed sign-ins per account and per client address.
type loginLimiter struct {
	mu       sync.Mutex
	now      func() time.Time
	failures map[string][]time.Time
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, failures: map[string][]time.Time{}}
}

func accountKey(username string) string { return "u:" + strings.ToLower(username) }
func addressKey(ip string) string       { return "ip:" + ip }

// retryAfter says how long the account or address must wait, or 0 if it may try now.
func (l *loginLimiter) retryAfter(username, ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := l.waitLocked(accountKey(username), loginFailPerAccount)
	if w := l.waitLocked(addressKey(ip), loginFailPerAddress); w > wait {
		wait = w
	}
	return wait
}

func (l *loginLimiter) waitLocked(key string, limit int) time.Duration {
	recent := l.recentLocked(key)
	if len(recent) < limit {
		return 0
	}
	return recent[len(recent)-limit].Add(loginWindow).Sub(l.now())
}

// recentLocked drops failures older than the window and returns the rest.
func (l *loginLimiter) recentLocked(key string) []time.Time {
	cutoff := l.now().Add(-loginWindow)
	list := l.failures[key]
	i := 0
	for i < len(list) && !list[i].After(cutoff) {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(l.failures, key)
	} else {
		l.failures[key] = list
	}
	return list
}

// fail records a failed sign-in for the account and the address.
func (l *loginLimiter) fail(username, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range []string{accountKey(username), addressKey(ip)} {
		l.failures[k] = append(l.recentLocked(k), now)
	}
}

// succeed clears the account's failures after a good sign-in.
func (l *loginLimiter) succeed(username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, accountKey(username))
}
