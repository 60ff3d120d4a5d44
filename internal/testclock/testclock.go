// Package testclock is the settable clock tests give a tenant runtime, a
// service (alerts, reclamation, Graph change notifications) or a lease
// keeper in place of time.Now: it stands still until the test moves it.
package testclock

import (
	"sync"
	"time"
)

// Clock is a clock at a time the test sets; safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time (pass the method value as a Now option).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
