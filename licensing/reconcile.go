package licensing

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"allot/audit"
)

// Reconciliation runs in two phases after every command:
//
//  1. claim: for each user whose sources may have changed, derive the sources
//     per SKU, and add or drop the user's seat claims; then fill every pool
//     whose seats or claims changed from its waiting room, oldest first.
//  2. state: for each user whose claims, seats or sources changed, derive
//     the state and error of every source (count, usage location,
//     dependencies, exclusions, all-or-none groups).
//
// Phase 2 never feeds back into phase 1: a source in a dependency or
// exclusion error keeps its seat reserved, so the set of seat holders depends
// only on sources, usage locations and the order of claims. That is what
// makes the result independent of the order of the work, and a full
// recompute equal to the incremental state.

// reason says why a user is being reconciled, for the audit log.
type reason struct {
	actor string
	why   string
}

type pendingWork struct {
	claim map[*user]reason
	state map[*user]reason
	pools map[*pool]struct{}
}

func (w *pendingWork) init() {
	w.claim = make(map[*user]reason)
	w.state = make(map[*user]reason)
	w.pools = make(map[*pool]struct{})
}

// reset empties the pending work, keeping the maps' memory for the next
// command (maps that grew large are dropped instead).
func (w *pendingWork) reset() {
	if len(w.claim) > 4096 || len(w.state) > 4096 {
		w.init()
		return
	}
	clear(w.claim)
	clear(w.state)
	clear(w.pools)
}

// touch schedules a user for both phases.
func (e *Engine) touch(u *user, actor, why string) {
	if _, ok := e.pending.claim[u]; !ok {
		e.pending.claim[u] = reason{actor, why}
	}
}

// touchState schedules a user for the state phase only.
func (e *Engine) touchState(u *user, actor, why string) {
	if _, ok := e.pending.state[u]; !ok {
		e.pending.state[u] = reason{actor, why}
	}
}

func sortedUsers(m map[*user]reason) []*user {
	us := make([]*user, 0, len(m))
	for u := range m {
		us = append(us, u)
	}
	sort.Slice(us, func(i, j int) bool { return us[i].ID < us[j].ID })
	return us
}

// settle runs both phases for the pending work.
func (e *Engine) settle(now time.Time) {
	for _, u := range sortedUsers(e.pending.claim) {
		r := e.pending.claim[u]
		if e.users[u.ID] != u { // deleted in this command
			continue
		}
		e.reclaim(u, now, false)
		e.touchState(u, r.actor, r.why)
	}
	pools := make([]*pool, 0, len(e.pending.pools))
	for p := range e.pending.pools {
		pools = append(pools, p)
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].sku.ID < pools[j].sku.ID })
	for _, p := range pools {
		e.fill(p, now)
	}
	for _, u := range sortedUsers(e.pending.state) {
		if e.users[u.ID] != u {
			continue
		}
		r := e.pending.state[u]
		e.restate(u, now, r)
	}
	e.pending.reset()
}

// srcEntry is one source of a user for one SKU.
type srcEntry struct {
	pool  *pool
	state SourceState
}

func srcLess(a, b *srcEntry) bool {
	if a.pool.key != b.pool.key {
		return a.pool.key < b.pool.key
	}
	return a.state.AssignedByGroup < b.state.AssignedByGroup
}

// sourcePool is the pool a source draws from: its allotment's, or the
// SKU's general pool. nil when the tenant has no units of the SKU.
func (e *Engine) sourcePool(l *LicenseSource) *pool {
	if l.AllotmentID != "" {
		if a := e.allotments[l.AllotmentID]; a != nil {
			return a.pool
		}
		return nil
	}
	return e.pools[l.SKUID]
}

// gatherSources returns the user's sources, sorted by SKU id, direct first
// then by group id, in the engine's scratch buffer (valid until the next
// call).
func (e *Engine) gatherSources(u *user) []srcEntry {
	dst := e.scratch.srcs[:0]
	for i := range u.direct {
		d := &u.direct[i]
		if p := e.sourcePool(d); p != nil {
			dst = append(dst, srcEntry{p, SourceState{AllotmentID: d.AllotmentID, DisabledPlans: d.DisabledPlans, AssignedAt: d.AssignedAt}})
		}
	}
	if !(e.settings.ExcludeGuests && u.IsGuest()) {
		gs := u.groups
		if e.settings.NestedGroups {
			e.scratch.groups = e.effectiveGroups(u, e.scratch.groups[:0])
			gs = e.scratch.groups
		}
		for _, g := range gs {
			for i := range g.licenses {
				gl := &g.licenses[i]
				if p := e.sourcePool(gl); p != nil {
					dst = append(dst, srcEntry{p, SourceState{AssignedByGroup: g.ID, AllotmentID: gl.AllotmentID, DisabledPlans: gl.DisabledPlans, AssignedAt: gl.AssignedAt}})
				}
			}
		}
	}
	// Insertion sort: a user has a handful of sources.
	for i := 1; i < len(dst); i++ {
		for j := i; j > 0 && srcLess(&dst[j], &dst[j-1]); j-- {
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	e.scratch.srcs = dst
	return dst
}

// reclaim derives the user's sources and adjusts the seat claims. With bulk
// set (full recompute from loaded records), a new claim starts at the
// earliest AssignedAt of its sources instead of now.
func (e *Engine) reclaim(u *user, now time.Time, bulk bool) {
	srcs := e.gatherSources(u)
	loc := e.usageLocation(u)
	n := 0 // licenses kept, compacted at the front of u.licenses
	old := u.licenses
	oi := 0
	var fresh []*license
	for i := 0; i < len(srcs); {
		p := srcs[i].pool
		j := i
		earliest := time.Time{}
		for ; j < len(srcs) && srcs[j].pool == p; j++ {
			if at := srcs[j].state.AssignedAt; !at.IsZero() && (earliest.IsZero() || at.Before(earliest)) {
				earliest = at
			}
		}
		// Licenses of SKUs without sources any more are dropped.
		for oi < len(old) && old[oi].pool.key < p.key {
			e.dropLicense(u, old[oi])
			oi++
		}
		var l *license
		isNew := false
		if oi < len(old) && old[oi].pool == p {
			l = old[oi]
			oi++
		} else {
			l = e.newLicense()
			*l = license{License: License{UserID: u.ID, SKUID: p.sku.ID}, user: u, pool: p, waitIdx: -1}
			if p.allot != nil {
				l.AllotmentID = p.allot.ID
			}
			fresh = append(fresh, l)
			isNew = true
		}
		l.eligible = !e.prohibited(p.sku.ID, loc)
		switch {
		case l.eligible && !l.Claimed:
			since := now
			if bulk && !earliest.IsZero() {
				since = earliest
			}
			l.Claimed, l.Since = true, since
			if bulk {
				p.waiting.appendUnordered(l)
			} else {
				p.waiting.push(l)
			}
			e.pending.pools[p] = struct{}{}
			e.dirtyLicense(l)
		case !l.eligible && l.Claimed:
			e.unclaim(l)
		}
		if !isNew {
			old[n] = l // compact in place: n <= oi
			n++
		}
		i = j
	}
	for ; oi < len(old); oi++ {
		e.dropLicense(u, old[oi])
	}
	u.licenses = old[:n]
	if len(fresh) > 0 {
		// Merge the new records in one allocation (both lists are sorted).
		merged := make([]*license, 0, n+len(fresh))
		i, j := 0, 0
		for i < n || j < len(fresh) {
			if j == len(fresh) || (i < n && u.licenses[i].pool.key < fresh[j].pool.key) {
				merged = append(merged, u.licenses[i])
				i++
			} else {
				merged = append(merged, fresh[j])
				j++
			}
		}
		u.licenses = merged
	}
}

// dropLicense forgets a license whose last source is gone.
func (e *Engine) dropLicense(u *user, l *license) {
	e.unclaim(l)
	e.deletedLicense(l)
	e.countErrors(l.Sources, -1)
	e.auditLicense(u, l, l.Sources, nil, e.pending.claim[u])
}

// unclaim drops a claim: the seat is released, or the user leaves the
// waiting room.
func (e *Engine) unclaim(l *license) {
	if !l.Claimed {
		return
	}
	p := l.pool
	if l.Held {
		p.consumed--
		l.Held, l.HeldSince = false, time.Time{}
	} else if l.waitIdx >= 0 {
		p.waiting.remove(l.waitIdx)
	}
	l.Claimed, l.Since = false, time.Time{}
	e.pending.pools[p] = struct{}{}
	e.dirtyLicense(l)
}

// fill admits waiting claims, oldest first, while the pool has free seats.
func (e *Engine) fill(p *pool, now time.Time) {
	if e.bulk {
		// A full recompute adds every claim at once, unordered. If everybody
		// fits, no order is needed; otherwise sort once (a sorted array is a
		// valid heap) and admit the oldest.
		n := len(p.waiting)
		if free := p.free(); n > free {
			slices.SortFunc(p.waiting, func(a, b *license) int {
				if waitLess(a, b) {
					return -1
				}
				if waitLess(b, a) {
					return 1
				}
				return 0
			})
			n = max(free, 0)
		}
		for _, l := range p.waiting[:n] {
			l.waitIdx = -1
			l.Held, l.HeldSince = true, now
			e.dirtyLicense(l)
		}
		p.consumed += n
		rest := p.waiting[n:]
		copy(p.waiting, rest)
		p.waiting = p.waiting[:len(rest)]
		for i, l := range p.waiting {
			l.waitIdx = i
		}
		return
	}
	for p.consumed < p.capacity() && len(p.waiting) > 0 {
		l := p.waiting.pop()
		l.Held, l.HeldSince = true, now
		p.consumed++
		e.dirtyLicense(l)
		if !e.bulk {
			e.touchState(l.user, audit.ActorGroupLicensing,
				fmt.Sprintf("a seat of %s became free; admitted from the waiting room (waiting since %s)", p.sku.PartNumber, l.Since.Format(time.RFC3339)))
		}
	}
}

// restate derives the state of every source of the user's licenses and
// records what changed. The sources are gathered again (cheap, and they
// have not changed since the claim phase), states are computed in scratch
// buffers, and a license's state slice is only replaced when it changed.
func (e *Engine) restate(u *user, now time.Time, r reason) {
	srcs := e.gatherSources(u)
	states := e.scratch.states[:0]
	rows := e.scratch.rows[:0]
	ruled, allOrNone := false, false
	k := 0
	for _, l := range u.licenses {
		start := len(states)
		for ; k < len(srcs) && srcs[k].pool == l.pool; k++ {
			s := srcs[k].state
			switch {
			case !l.eligible:
				s.State, s.Error = StateError, ErrProhibitedInUsageLoc
			case !l.Held:
				s.State, s.Error = StateError, ErrCountViolation
			default:
				s.State, s.Error = StateActive, ErrNone
			}
			if s.AssignedByGroup != "" && !allOrNone {
				if g := e.groups[s.AssignedByGroup]; g != nil && g.AssignmentMode == ModeAllOrNone {
					allOrNone = true
				}
			}
			states = append(states, s)
		}
		ruled = ruled || l.pool.ruled
		rows = append(rows, states[start:len(states):len(states)])
	}
	// states may have been reallocated while growing: re-slice the rows.
	off := 0
	for i, row := range rows {
		rows[i] = states[off : off+len(row) : off+len(row)]
		off += len(row)
	}
	e.scratch.states, e.scratch.rows = states, rows
	if ruled || allOrNone {
		e.applyPlanRules(u, rows)
	}
	// Sources of changed licenses share one new backing array (they are
	// never changed in place, only replaced).
	var backing []SourceState
	for i, l := range u.licenses {
		if !e.statesChanged(l, rows[i], now) {
			continue
		}
		if backing == nil {
			backing = make([]SourceState, 0, len(states))
		}
		start := len(backing)
		backing = append(backing, rows[i]...)
		e.commitStates(u, l, backing[start:len(backing):len(backing)], r)
	}
}

// commitStates replaces the license's source states and records the change.
func (e *Engine) commitStates(u *user, l *license, next []SourceState, r reason) {
	e.countErrors(l.Sources, -1)
	e.countErrors(next, +1)
	before := l.Sources
	l.Sources = next
	e.dirtyLicense(l)
	e.auditLicense(u, l, before, next, r)
}

// statesChanged sets the lastUpdatedDateTime of the new source states —
// kept from the old state of the same source when nothing changed, now
// otherwise — and reports whether the license's states changed.
func (e *Engine) statesChanged(l *license, next []SourceState, now time.Time) bool {
	changed := len(next) != len(l.Sources)
	for k := range next {
		n := &next[k]
		var old *SourceState
		for m := range l.Sources {
			if l.Sources[m].AssignedByGroup == n.AssignedByGroup {
				old = &l.Sources[m]
				break
			}
		}
		if old != nil && old.State == n.State && old.Error == n.Error && equalStrings(old.DisabledPlans, n.DisabledPlans) && old.AssignedAt.Equal(n.AssignedAt) {
			n.LastUpdated = old.LastUpdated
		} else {
			n.LastUpdated = now
			changed = true
		}
	}
	return changed
}

// auditLicense records a "Change user license" entry for one (user, SKU).
func (e *Engine) auditLicense(u *user, l *license, before, after []SourceState, r reason) {
	if e.bulk {
		e.bulkChanges++
		return
	}
	groupID := ""
	for _, list := range [][]SourceState{after, before} {
		for _, s := range list {
			if s.AssignedByGroup != "" && groupID == "" {
				groupID = s.AssignedByGroup
			}
		}
	}
	e.delta.Audit = append(e.delta.Audit, audit.Entry{
		At: e.clock, Actor: r.actor, Action: "Change user license",
		UserID: u.ID, GroupID: groupID, SKUID: l.SKUID, Why: r.why,
		Detail: "before: " + summarize(before) + "; after: " + summarize(after),
	})
}

func summarize(ss []SourceState) string {
	if len(ss) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		if s.AssignedByGroup == "" {
			b.WriteString("direct ")
		} else {
			b.WriteString("group " + s.AssignedByGroup + " ")
		}
		b.WriteString(s.State)
		if s.Error != ErrNone && s.Error != "" {
			b.WriteString("/" + s.Error)
		}
	}
	return b.String()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// newLicense hands out license records from slabs of 1,024, so that a bulk
// load allocates a few thousand times instead of once per record. A slab
// stays alive while any of its records does.
func (e *Engine) newLicense() *license {
	if len(e.slab) == 0 {
		e.slab = make([]license, 1024)
	}
	l := &e.slab[0]
	e.slab = e.slab[1:]
	return l
}
