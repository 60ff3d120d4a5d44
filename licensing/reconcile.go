package licensing

import (
	"runtime"
	"slices"
	"strings"
	"sync"
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
// Phase 2 never feeds back into phase 1. What decides claims — sources
// blocked by a usage location or a mutual exclusion, sources kept while a
// dependent or a replacement needs them (keep.go), all-or-none claims taken
// together (bundle.go) — is derived in phase 1 from each user's own sources
// and license records; a source in a dependency error keeps its seat
// reserved. So the seat holders depend only on sources, usage locations,
// the users' records and the order of claims. That is what makes the result
// independent of the order of the work, and a full recompute equal to the
// incremental state (docs/ARCHITECTURE.md explains why it cannot cycle).

// reason says why a user is being reconciled, for the audit log.
type reason struct {
	actor string
	why   string
}

type pendingWork struct {
	claim map[*user]reason
	state map[*user]reason
	pools map[*pool]struct{}
	// recheck lists users admitted to a seat who have kept sources: their
	// kept sources may go now (see retain), so they are reclaimed again.
	recheck map[*user]struct{}
	// replaced records, for the command's group license changes, the
	// products each removed product was replaced by: group id -> removed
	// pool key -> added pool keys.
	replaced map[string]map[string][]string
}

func (w *pendingWork) init() {
	w.claim = make(map[*user]reason)
	w.state = make(map[*user]reason)
	w.pools = make(map[*pool]struct{})
	w.recheck = make(map[*user]struct{})
	w.replaced = nil
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
	clear(w.recheck)
	w.replaced = nil
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

// sortedUsers lists the users of m by id in buf (reused between commands).
func sortedUsers(m map[*user]reason, buf []*user) []*user {
	us := buf[:0]
	for u := range m {
		us = append(us, u)
	}
	slices.SortFunc(us, func(a, b *user) int { return strings.Compare(a.ID, b.ID) })
	return us
}

// settle runs both phases for the pending work.
func (e *Engine) settle(now time.Time) {
	e.w.scratch.users = sortedUsers(e.pending.claim, e.w.scratch.users)
	for _, u := range e.w.scratch.users {
		r := e.pending.claim[u]
		if e.users[u.ID] != u { // deleted in this command
			continue
		}
		e.w.reclaim(u, now, false)
		e.touchState(u, r.actor, r.why)
	}
	// Fill the pools; users admitted who have kept sources are reclaimed
	// again (a kept source goes once what it waited for is held), which
	// may free seats to fill; then bundled claims (all-or-none groups) are
	// admitted together where they fit. Kept sources only ever go, and
	// seats are only taken, in this loop, so it ends.
	var filled []*pool
	for {
		pools := e.w.scratch.pools[:0]
		for p := range e.pending.pools {
			pools = append(pools, p)
			if !slices.Contains(filled, p) {
				filled = append(filled, p)
			}
		}
		clear(e.pending.pools)
		slices.SortFunc(pools, func(a, b *pool) int { return strings.Compare(a.key, b.key) })
		for _, p := range pools {
			e.fill(p, now)
		}
		clear(pools)
		e.w.scratch.pools = pools[:0]
		if len(e.pending.recheck) > 0 {
			users := make([]*user, 0, len(e.pending.recheck))
			for u := range e.pending.recheck {
				users = append(users, u)
			}
			clear(e.pending.recheck)
			slices.SortFunc(users, func(a, b *user) int { return strings.Compare(a.ID, b.ID) })
			for _, u := range users {
				if e.users[u.ID] != u {
					continue
				}
				e.w.reclaim(u, now, false)
				e.touchState(u, audit.ActorGroupLicensing, "a seat was admitted; sources kept until then are re-evaluated")
			}
			continue
		}
		if len(e.pending.pools) > 0 {
			continue
		}
		if bp := e.bundledPools(filled); len(bp) == 0 || !e.fillBundles(bp, now) {
			break
		}
	}
	e.w.scratch.users = sortedUsers(e.pending.state, e.w.scratch.users)
	for _, u := range e.w.scratch.users {
		if e.users[u.ID] != u {
			continue
		}
		r := e.pending.state[u]
		e.w.restate(u, now, r)
	}
	if cap(e.w.scratch.users) > 4096 {
		e.w.scratch.users = nil
	} else {
		clear(e.w.scratch.users)
	}
	e.pending.reset()
}

// srcEntry is one source of a user for one SKU.
type srcEntry struct {
	pool  *pool
	state SourceState
	// blocked is the error of a source that cannot be used whatever the
	// seats (decided from the user's sources alone, see block):
	// ProhibitedInUsageLocationViolation or MutuallyExclusiveViolation.
	// A license whose sources are all blocked claims no seat.
	blocked SourceErrorCode
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
// then by group id, in the worker's scratch buffer (valid until the next
// call). With kept, the sources kept in the user's license records
// (License.Kept) are included. Each source's AppliesSince is taken from the
// user's license record; a source the record does not list applies from
// now (in a full recompute: unknown, so its AssignedAt stands in).
func (w *worker) gatherSources(u *user, now time.Time, kept bool) []srcEntry {
	e := w.e
	dst := w.scratch.srcs[:0]
	for i := range u.direct {
		d := &u.direct[i]
		if p := e.sourcePool(d); p != nil {
			dst = append(dst, srcEntry{pool: p, state: SourceState{DisabledPlans: d.DisabledPlans, AssignedAt: InstantOf(d.AssignedAt), AppliesSince: w.appliesSince(u, p, "", now)}})
		}
	}
	if !(e.settings.ExcludeGuests && u.IsGuest()) {
		gs := u.groups
		if e.settings.NestedGroups {
			w.scratch.groups = e.effectiveGroups(u, w.scratch.groups[:0])
			gs = w.scratch.groups
		}
		for _, g := range gs {
			for i := range g.licenses {
				gl := &g.licenses[i]
				if p := e.sourcePool(gl); p != nil {
					dst = append(dst, srcEntry{pool: p, state: SourceState{AssignedByGroup: g.ID, DisabledPlans: gl.DisabledPlans, AssignedAt: InstantOf(gl.AssignedAt), AppliesSince: w.appliesSince(u, p, g.ID, now)}})
				}
			}
		}
	}
	if kept {
		for _, l := range u.licenses {
			for _, k := range l.Retained() {
				dst = append(dst, srcEntry{pool: l.pool, state: k})
			}
		}
	}
	// Insertion sort: a user has a handful of sources.
	for i := 1; i < len(dst); i++ {
		for j := i; j > 0 && srcLess(&dst[j], &dst[j-1]); j-- {
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	w.scratch.srcs = dst
	return dst
}

// appliesSince is the AppliesSince of the user's source from group (""
// for direct) in pool p: as recorded, or now for a new source (zero in a
// full recompute).
func (w *worker) appliesSince(u *user, p *pool, group string, now time.Time) Instant {
	if l := u.licenseOf(p); l != nil {
		for i := range l.Sources {
			if l.Sources[i].AssignedByGroup == group {
				return l.Sources[i].AppliesSince
			}
		}
	}
	if w.e.bulk {
		return 0
	}
	return InstantOf(now)
}

// hasKept reports whether any license record of the user keeps a source.
func (u *user) hasKept() bool {
	for _, l := range u.licenses {
		if len(l.Retained()) > 0 {
			return true
		}
	}
	return false
}

// reclaim derives the user's sources and adjusts the seat claims. With bulk
// set (full recompute from loaded records), a new claim starts at the
// earliest AssignedAt of its sources instead of now, and pools are not
// touched: Recompute seats the claims of all users afterwards. Steps: the
// sources with blocked and kept decided (settleSources); per SKU (srcs are
// sorted by pool), the user's record of it, existing or new (licenseFor,
// which drops the records of SKUs without sources on the way), and its
// claim (setClaim); the records of SKUs left without sources dropped; the
// new records merged into the sorted list (mergeLicenses); bundles marked.
func (w *worker) reclaim(u *user, now time.Time, bulk bool) {
	srcs := w.settleSources(u, now)
	n := 0 // licenses kept, compacted at the front of u.licenses
	old := u.licenses
	oi := 0
	fresh := w.scratch.fresh[:0]
	defer func() { clear(fresh); w.scratch.fresh = fresh[:0] }()
	for i := 0; i < len(srcs); {
		p := srcs[i].pool
		j, earliest, usable := skuSources(srcs, i)
		l, isNew := w.licenseFor(u, p, old, &oi)
		w.setClaim(l, usable, earliest, now, bulk)
		if isNew {
			fresh = append(fresh, l)
		} else {
			old[n] = l // compact in place: n <= oi
			n++
		}
		i = j
	}
	for ; oi < len(old); oi++ {
		w.dropLicense(u, old[oi])
	}
	clear(old[n:]) // records dropped or moved: let them go
	u.licenses = mergeLicenses(old[:n], fresh)
	w.markBundled(u, srcs)
}

// settleSources gathers the user's sources and decides which are blocked
// and which gone ones are kept; a kept source that cannot be used (usage
// location, exclusion) goes, as it would keep nothing, until none does.
func (w *worker) settleSources(u *user, now time.Time) []srcEntry {
	srcs := w.gatherSources(u, now, false)
	loc := w.e.usageLocation(u)
	w.block(srcs, loc) // what retain reads: the current sources alone
	if w.retain(u, srcs) {
		for {
			srcs = w.gatherSources(u, now, true)
			w.block(srcs, loc)
			if !w.dropBlockedKept(u, srcs) {
				break
			}
		}
	}
	return srcs
}

// skuSources reads the run of sources of one SKU starting at srcs[i]: it
// returns where the run ends, the earliest AssignedAt among them (zero
// when none has one) and whether any of them is not blocked.
func skuSources(srcs []srcEntry, i int) (end int, earliest time.Time, usable bool) {
	p := srcs[i].pool
	j := i
	for ; j < len(srcs) && srcs[j].pool == p; j++ {
		if at := srcs[j].state.AssignedAt; !at.IsZero() && (earliest.IsZero() || at.Before(InstantOf(earliest))) {
			earliest = at.Time()
		}
		usable = usable || srcs[j].blocked == ErrUnset
	}
	return j, earliest, usable
}

// licenseFor returns the user's record of pool p: old[*oi] when it is p's
// (advancing *oi), else a new one (isNew). Records in old before p (sorted
// by pool key) are of SKUs without sources any more: they are dropped.
func (w *worker) licenseFor(u *user, p *pool, old []*license, oi *int) (l *license, isNew bool) {
	for *oi < len(old) && old[*oi].pool.key < p.key {
		w.dropLicense(u, old[*oi])
		*oi++
	}
	if *oi < len(old) && old[*oi].pool == p {
		l = old[*oi]
		*oi++
		return l, false
	}
	l = w.newLicense()
	*l = license{user: u, pool: p, waitIdx: -1}
	return l, true
}

// setClaim makes a record claim a seat exactly when one of its sources is
// usable: a new claim is timed now (bulk: at its sources' earliest
// AssignedAt, if any) and, outside bulk, waits in the pool's waiting room;
// a record without usable sources releases its claim.
func (w *worker) setClaim(l *license, usable bool, earliest, now time.Time, bulk bool) {
	l.eligible = usable
	switch {
	case l.eligible && !l.Claimed:
		since := now
		if bulk && !earliest.IsZero() {
			since = earliest
		}
		l.Claimed, l.Since = true, InstantOf(since)
		if !bulk {
			l.pool.waiting.push(l)
			w.e.pending.pools[l.pool] = struct{}{}
		}
		w.dirtyLicense(l)
	case !l.eligible && l.Claimed:
		w.unclaim(l)
	}
}

// mergeLicenses merges fresh into kept, both sorted by pool key: in
// place, from the back, when kept's array has room, else in one
// allocation.
func mergeLicenses(kept, fresh []*license) []*license {
	n := len(kept)
	if len(fresh) == 0 {
		return kept
	}
	if cap(kept) >= n+len(fresh) {
		all := kept[:n+len(fresh)]
		i, j := n-1, len(fresh)-1
		for k := len(all) - 1; j >= 0; k-- {
			if i >= 0 && all[i].pool.key > fresh[j].pool.key {
				all[k] = all[i]
				i--
			} else {
				all[k] = fresh[j]
				j--
			}
		}
		return all
	}
	merged := make([]*license, 0, n+len(fresh))
	i, j := 0, 0
	for i < n || j < len(fresh) {
		if j == len(fresh) || (i < n && kept[i].pool.key < fresh[j].pool.key) {
			merged = append(merged, kept[i])
			i++
		} else {
			merged = append(merged, fresh[j])
			j++
		}
	}
	return merged
}

// dropLicense forgets a license whose last source is gone.
func (w *worker) dropLicense(u *user, l *license) {
	w.unclaim(l)
	w.deletedLicense(l)
	w.countErrors(l.Sources, -1)
	w.auditLicense(u, l, l.Sources, nil, w.e.pending.claim[u])
}

// unclaim drops a claim: the seat is released, or the user leaves the
// waiting room. In a full recompute only the record changes: pools are
// rebuilt from the records afterwards.
func (w *worker) unclaim(l *license) {
	if !l.Claimed {
		return
	}
	if w.e.bulk {
		l.Held, l.HeldSince, l.GrantedAt = false, 0, 0
		l.Claimed, l.Since = false, 0
		w.dirtyLicense(l)
		return
	}
	e := w.e
	p := l.pool
	if l.Held {
		p.consumed--
		l.Held, l.HeldSince, l.GrantedAt = false, 0, 0
	} else if l.waitIdx >= 0 {
		p.waiting.remove(int(l.waitIdx))
	}
	l.Claimed, l.Since = false, 0
	e.pending.pools[p] = struct{}{}
	w.dirtyLicense(l)
}

// fill admits waiting claims, oldest first, while the pool has free seats.
// Bundled claims are left for fillBundles.
func (e *Engine) fill(p *pool, now time.Time) {
	var aside []*license
	for p.free() > 0 && len(p.waiting) > 0 {
		l := p.waiting.pop()
		if l.bundled {
			aside = append(aside, l)
			continue
		}
		e.admit(l, now)
	}
	for _, l := range aside {
		p.waiting.push(l)
	}
}

// admittedWhy is the audit reason of an admission from the waiting room,
// built in one allocation.
func (e *Engine) admittedWhy(p *pool, l *license) string {
	b := append(e.why[:0], "a seat of "...)
	b = append(b, p.sku.PartNumber...)
	b = append(b, " became free; admitted from the waiting room (waiting since "...)
	b = l.Since.Time().AppendFormat(b, time.RFC3339)
	b = append(b, ')')
	e.why = b
	return string(b)
}

// fillAll admits, in every pool of a full recompute, the oldest of the
// waiting claims that fit. The claims were added unordered: each pool's
// waiting room is partitioned so that the claims to admit come first and
// the rest forms a heap — one pool per goroutine, as pools share nothing.
// Admissions are then recorded in pool order.
func (e *Engine) fillAll(pools []*pool, now time.Time) {
	admit := make([]int, len(pools))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))
	for i, p := range pools {
		n := len(p.waiting)
		if free := max(p.free(), 0); n > free {
			n = free
			if len(p.waiting) > 4096 {
				sem <- struct{}{}
				wg.Go(func() {
					p.waiting.selectOldest(n)
					<-sem
				})
			} else {
				p.waiting.selectOldest(n)
			}
		}
		admit[i] = n
	}
	wg.Wait()
	for i, p := range pools {
		n := admit[i]
		for _, l := range p.waiting[:n] {
			l.waitIdx = -1
			l.Held, l.HeldSince = true, InstantOf(now)
			e.dirtyLicense(l)
		}
		p.consumed += n
		rest := p.waiting[n:]
		copy(p.waiting, rest)
		clear(p.waiting[len(rest):])
		p.waiting = p.waiting[:len(rest)]
		p.waiting.heapify() // also sets waitIdx
	}
}

// restate derives the state of every source of the user's licenses and
// records what changed. The sources are gathered again (cheap, and they
// have not changed since the claim phase), states are computed in scratch
// buffers, and a license's state slice is only replaced when it changed.
func (w *worker) restate(u *user, now time.Time, r reason) {
	e := w.e
	srcs := w.gatherSources(u, now, true)
	w.block(srcs, e.usageLocation(u))
	// A full recompute builds the states in place in their final memory
	// (most change); commands build them in scratch and copy what changed.
	var states []SourceState
	if e.bulk {
		states = w.stateBacking(len(srcs))
	} else {
		states = w.scratch.states[:0]
	}
	rows := w.scratch.rows[:0]
	ruled, allOrNone := false, false
	k := 0
	for _, l := range u.licenses {
		start := len(states)
		for ; k < len(srcs) && srcs[k].pool == l.pool; k++ {
			s := srcs[k].state
			switch {
			case srcs[k].blocked != ErrUnset:
				s.State, s.Error = StateError, srcs[k].blocked
			case !l.Held:
				s.State, s.Error = StateError, ErrCountViolation
			case s.KeptReason() == KeptForDependency:
				s.State, s.Error = StateActiveWithError, ErrDependency
			case s.KeptReason() == KeptForReplacement:
				s.State, s.Error = StateActiveWithError, ErrCountViolation
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
	if !e.bulk {
		w.scratch.states = states
	}
	w.scratch.rows = rows
	if ruled || allOrNone {
		w.applyPlanRules(u, rows)
	}
	// Sources are never changed in place, only replaced. A full recompute
	// built the rows in their final memory; a command copies the changed
	// rows into one new backing array.
	var backing []SourceState
	changed := false
	for i, l := range u.licenses {
		if !e.statesChanged(l, rows[i], now) {
			continue
		}
		next := rows[i]
		if !e.bulk {
			if backing == nil {
				backing = make([]SourceState, 0, len(states))
			}
			start := len(backing)
			backing = append(backing, next...)
			next = backing[start:len(backing):len(backing)]
		}
		w.commitStates(u, l, next, r)
		changed = true
	}
	if e.bulk && !changed {
		w.unreserveStates(len(srcs))
	}
}

// commitStates replaces the license's source states and records the change.
func (w *worker) commitStates(u *user, l *license, next []SourceState, r reason) {
	w.countErrors(l.Sources, -1)
	w.countErrors(next, +1)
	before := l.Sources
	l.Sources = next
	w.dirtyLicense(l)
	w.auditLicense(u, l, before, next, r)
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
		if old != nil && old.State == n.State && old.Error == n.Error && equalStrings(old.DisabledPlans, n.DisabledPlans) && old.AssignedAt.Equal(n.AssignedAt) &&
			old.AppliesSince == n.AppliesSince && old.KeptReason() == n.KeptReason() && equalStrings(old.KeptReplacedBy(), n.KeptReplacedBy()) {
			n.LastUpdated = old.LastUpdated
		} else {
			n.LastUpdated = InstantOf(now)
			changed = true
		}
	}
	return changed
}

// auditLicense records a "Change user license" entry for one (user, SKU).
// A full recompute only counts the changes (one summary entry).
func (w *worker) auditLicense(u *user, l *license, before, after []SourceState, r reason) {
	e := w.e
	if e.bulk {
		w.changes++
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
	var b strings.Builder
	b.Grow(64 + 48*(len(before)+len(after)))
	b.WriteString("before: ")
	summarize(&b, before)
	b.WriteString("; after: ")
	summarize(&b, after)
	e.delta.Audit = append(e.delta.Audit, audit.Entry{
		At: e.clock, Actor: r.actor, Action: "Change user license",
		UserID: u.ID, GroupID: groupID, SKUID: l.skuID(), Why: r.why,
		Detail: b.String(),
	})
}

// summarize writes the states of a license's sources, for the audit log.
func summarize(b *strings.Builder, ss []SourceState) {
	if len(ss) == 0 {
		b.WriteString("none")
		return
	}
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		if s.AssignedByGroup == "" {
			b.WriteString("direct ")
		} else {
			b.WriteString("group ")
			b.WriteString(s.AssignedByGroup)
			b.WriteByte(' ')
		}
		b.WriteString(s.State.String())
		if s.Error != ErrNone && s.Error != ErrUnset {
			b.WriteByte('/')
			b.WriteString(s.Error.String())
		}
	}
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
