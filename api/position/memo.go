package positionapi

import (
	"sync"
	"sync/atomic"

	"allot/position"
	"allot/tenant"
	"allot/usage"
)

// lastPosition is the tenant-wide position the API computed last (GET
// /position without a delegated owner's scope, or for a what-if of the
// position's fixes), with the tenant copy it is of: a what-if on the same
// commit, day and window starts from it instead of computing it again —
// seconds at a million users. One position is kept (the API computes one
// at a time); a position is never changed once computed, so readers share
// it.
var lastPosition positionMemo

type positionMemo struct {
	mu     sync.Mutex
	t      *tenant.Tenant
	commit uint64
	asOf   usage.Day
	window int
	p      *position.Position
}

// computed counts the positions the API computed (tests check reuse).
var computed atomic.Int64

func windowOf(o position.Options) int {
	if o.WindowDays <= 0 {
		return position.DefaultWindowDays
	}
	return o.WindowDays
}

// get returns the position of t's copy of commit with o's day and window,
// if it is the one kept (nil otherwise).
func (m *positionMemo) get(t *tenant.Tenant, commit uint64, o position.Options) *position.Position {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.p != nil && m.t == t && m.commit == commit && m.asOf == o.AsOf && m.window == windowOf(o) {
		return m.p
	}
	return nil
}

// put keeps p, the tenant-wide position of t's copy of commit with o.
func (m *positionMemo) put(t *tenant.Tenant, commit uint64, o position.Options, p *position.Position) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t, m.commit, m.asOf, m.window, m.p = t, commit, o.AsOf, windowOf(o), p
}
