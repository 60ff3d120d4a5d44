package licensing

import (
	"fmt"
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
	e.pending.init()
}

// srcEntry is one source of a user for one SKU during the claim phase.
type srcEntry struct {
	pool  *pool
	state SourceState
}

// gatherSources appends the user's sources, sorted by SKU id, direct first
// then by group id.
func (e *Engine) gatherSources(u *user, dst []srcEntry, scratch []*group) ([]srcEntry, []*group) {
	for _, d := range u.direct {
		if p := e.pools[d.SKUID]; p != nil {
			dst = append(dst, srcEntry{p, SourceState{DisabledPlans: d.DisabledPlans, AssignedAt: d.AssignedAt}})
		}
	}
	if !(e.settings.ExcludeGuests && u.IsGuest()) {
		scratch = e.effectiveGroups(u, scratch[:0])
		for _, g := range scratch {
			for _, gl := range g.licenses {
				if p := e.pools[gl.SKUID]; p != nil {
					dst = append(dst, srcEntry{p, SourceState{AssignedByGroup: g.ID, DisabledPlans: gl.DisabledPlans, AssignedAt: gl.AssignedAt}})
				}
			}
		}
	}
	sort.SliceStable(dst, func(i, j int) bool {
		a, b := &dst[i], &dst[j]
		if a.pool.sku.ID != b.pool.sku.ID {
			return a.pool.sku.ID < b.pool.sku.ID
		}
		return a.state.AssignedByGroup < b.state.AssignedByGroup
	})
	return dst, scratch
}

// reclaim derives the user's sources and adjusts the seat claims. With bulk
// set (full recompute from loaded records), a new claim starts at the
// earliest AssignedAt of its sources instead of now, and persisted claims are
// kept as loaded.
func (e *Engine) reclaim(u *user, now time.Time, bulk bool) {
	srcs, _ := e.gatherSources(u, nil, nil)
	loc := e.usageLocation(u)
	keep := u.licenses[:0:0]
	i := 0
	for i < len(srcs) {
		p := srcs[i].pool
		j := i
		for j < len(srcs) && srcs[j].pool == p {
			j++
		}
		l := u.licenseOf(p)
		if l == nil {
			l = &license{License: License{UserID: u.ID, SKUID: p.sku.ID}, user: u, pool: p, waitIdx: -1}
		}
		in := make([]SourceState, j-i)
		earliest := time.Time{}
		for k := i; k < j; k++ {
			in[k-i] = srcs[k].state
			if at := srcs[k].state.AssignedAt; !at.IsZero() && (earliest.IsZero() || at.Before(earliest)) {
				earliest = at
			}
		}
		l.inputs = in
		l.eligible = !e.prohibited(p.sku.ID, loc)
		switch {
		case l.eligible && !l.Claimed:
			since := now
			if bulk && !earliest.IsZero() {
				since = earliest
			}
			l.Claimed, l.Since = true, since
			p.waiting.push(l)
			e.pending.pools[p] = struct{}{}
			mark(&e.delta.Licenses, Key2{u.ID, p.sku.ID}, true)
		case !l.eligible && l.Claimed:
			e.unclaim(l)
		}
		keep = append(keep, l)
		i = j
	}
	for _, l := range u.licenses {
		if !containsLicense(keep, l) {
			e.unclaim(l)
			mark(&e.delta.Licenses, Key2{u.ID, l.SKUID}, false)
			e.countErrors(l.Sources, -1)
			e.auditLicense(u, l, l.Sources, nil, e.pending.claim[u])
		}
	}
	u.licenses = keep
}

func containsLicense(ls []*license, l *license) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
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
	mark(&e.delta.Licenses, Key2{l.UserID, l.SKUID}, true)
}

// fill admits waiting claims, oldest first, while the pool has free seats.
func (e *Engine) fill(p *pool, now time.Time) {
	for p.consumed < p.units.Enabled && len(p.waiting) > 0 {
		l := p.waiting.pop()
		l.Held, l.HeldSince = true, now
		p.consumed++
		mark(&e.delta.Licenses, Key2{l.UserID, l.SKUID}, true)
		e.touchState(l.user, audit.ActorGroupLicensing,
			fmt.Sprintf("a seat of %s became free; admitted from the waiting room (waiting since %s)", p.sku.PartNumber, l.Since.Format(time.RFC3339)))
	}
}

// restate derives the state of every source of the user's licenses and
// records what changed.
func (e *Engine) restate(u *user, now time.Time, r reason) {
	next := make([][]SourceState, len(u.licenses))
	ruled := false
	allOrNone := false
	for i, l := range u.licenses {
		ss := make([]SourceState, len(l.inputs))
		copy(ss, l.inputs)
		for k := range ss {
			s := &ss[k]
			switch {
			case !l.eligible:
				s.State, s.Error = StateError, ErrProhibitedInUsageLoc
			case !l.Held:
				s.State, s.Error = StateError, ErrCountViolation
			default:
				s.State, s.Error = StateActive, ErrNone
			}
			if s.AssignedByGroup != "" {
				if g := e.groups[s.AssignedByGroup]; g != nil && g.AssignmentMode == ModeAllOrNone {
					allOrNone = true
				}
			}
		}
		if l.pool.ruled {
			ruled = true
		}
		next[i] = ss
	}
	if ruled || allOrNone {
		e.applyPlanRules(u, next)
	}
	for i, l := range u.licenses {
		e.commitStates(u, l, next[i], now, r)
	}
}

// commitStates replaces the license's source states, keeping the
// lastUpdatedDateTime of every source whose state did not change, and records
// the change.
func (e *Engine) commitStates(u *user, l *license, next []SourceState, now time.Time, r reason) {
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
	if !changed {
		return
	}
	e.countErrors(l.Sources, -1)
	e.countErrors(next, +1)
	before := l.Sources
	l.Sources = next
	mark(&e.delta.Licenses, Key2{u.ID, l.SKUID}, true)
	e.auditLicense(u, l, before, next, r)
}

// auditLicense records a "Change user license" entry for one (user, SKU).
func (e *Engine) auditLicense(u *user, l *license, before, after []SourceState, r reason) {
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
