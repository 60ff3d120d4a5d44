package licensing

import (
	"slices"
	"strings"

	"allot/audit"
)

// Sources that stay when they would go, and sources that cannot be used.
//
// Both are decided per user in the claim phase, from the user's sources and
// its own license records only, so that a full recompute derives the same
// from stored records and the work needs no order between users:
//
//   - retain keeps a group source that is gone while another license of the
//     user needs a plan only it enables (Entra reports the removal as a
//     DependencyViolation and keeps the prerequisite until the dependency
//     is fixed), or while the product that replaced it in the same group
//     waits for a seat (a product change never leaves a user with neither);
//   - block marks the sources that cannot be used whatever the seats: a
//     usage location that prohibits the product, and the loser of a mutual
//     exclusion — the source that began to apply to the user later, as
//     Entra fails the product being added and keeps what the user has —
//     and, in an all-or-none group, the group's sources that came with or
//     after a blocked one. A license whose sources are all blocked claims
//     no seat.

// retain updates the kept sources (License.Kept) of the user's license
// records, given the user's current sources (without kept ones, blocked as
// if nothing were kept), and reports whether any record keeps a source. A gone group source is kept
// only when its license holds a seat; a kept source goes for good once
// nothing needs it.
func (w *worker) retain(u *user, srcs []srcEntry) bool {
	kept := false
	for _, l := range u.licenses {
		if !l.Held && len(l.Retained()) == 0 {
			continue
		}
		var next []SourceState
		consider := func(c *SourceState) {
			// A source starts being kept only while its license holds a
			// seat; once kept, it stays while the license claims one (an
			// import that restores older claims may send it back to the
			// waiting room).
			held := l.Held || (c.KeptReason() != "" && l.Claimed)
			if c.AssignedByGroup == "" || !held || hasSource(srcs, l.pool, c.AssignedByGroup) || containsKept(next, c.AssignedByGroup) {
				return
			}
			k := *c
			k.State, k.Error, k.LastUpdated = StateUnset, ErrUnset, 0
			k.SetKept("", nil)
			if by := w.replacedBy(c, l); len(by) > 0 && w.replacementWaits(u, srcs, c.AssignedByGroup, by) {
				k.SetKept(KeptForReplacement, by)
			} else if w.neededByDependent(u, srcs, l, c) {
				k.SetKept(KeptForDependency, nil)
			} else {
				return
			}
			next = append(next, k)
		}
		for i := range l.Retained() {
			consider(&l.Retained()[i])
		}
		for i := range l.Sources {
			if l.Sources[i].KeptReason() == "" {
				consider(&l.Sources[i])
			}
		}
		slices.SortFunc(next, func(a, b SourceState) int {
			switch {
			case a.AssignedByGroup < b.AssignedByGroup:
				return -1
			case a.AssignedByGroup > b.AssignedByGroup:
				return 1
			}
			return 0
		})
		if !equalKept(l.Retained(), next) {
			l.SetRetained(next)
			w.dirtyLicense(l)
		}
		kept = kept || len(l.Retained()) > 0
	}
	return kept
}

// replacedBy returns the pool keys of the products that replace the source:
// recorded on a source already kept, or by this command's group license
// change.
func (w *worker) replacedBy(c *SourceState, l *license) []string {
	if c.KeptReason() == KeptForReplacement {
		return c.KeptReplacedBy()
	}
	if c.KeptReason() != "" || w.e.bulk {
		return nil
	}
	return w.e.pending.replaced[c.AssignedByGroup][l.pool.key]
}

// replacementWaits reports whether the user has a source from the group in
// one of the replacing pools that is not usable yet: its license holds no
// seat, or it is blocked by another source (a replacement the usage
// location prohibits is no replacement: it never comes).
func (w *worker) replacementWaits(u *user, srcs []srcEntry, group string, by []string) bool {
	for i := range srcs {
		s := &srcs[i]
		if s.state.AssignedByGroup != group || !slices.Contains(by, s.pool.key) || s.blocked == ErrProhibitedInUsageLoc {
			continue
		}
		if l := u.licenseOf(s.pool); l == nil || !l.Held || s.blocked != ErrUnset {
			return true
		}
	}
	return false
}

// neededByDependent reports whether a current source of the user enables a
// plan that depends on a plan c enables, with no current source of a
// license holding a seat enabling any of the alternatives.
func (w *worker) neededByDependent(u *user, srcs []srcEntry, l *license, c *SourceState) bool {
	e := w.e
	for i := range srcs {
		s := &srcs[i]
		if !s.pool.ruled || s.blocked != ErrUnset {
			continue
		}
		for _, rp := range s.pool.relevant {
			if containsString(s.state.DisabledPlans, rp.id) {
				continue
			}
			for _, d := range e.plan.deps[rp.id] {
				if !enablesAny(l.pool, c, d.RequiresAnyOf) || w.provided(u, srcs, d.RequiresAnyOf) {
					continue
				}
				return true
			}
		}
	}
	return false
}

// provided reports whether a current source whose license holds a seat
// enables one of the plans.
func (w *worker) provided(u *user, srcs []srcEntry, plans []string) bool {
	for i := range srcs {
		s := &srcs[i]
		if l := u.licenseOf(s.pool); l != nil && l.Held && s.blocked == ErrUnset && enablesAny(s.pool, &s.state, plans) {
			return true
		}
	}
	return false
}

func enablesAny(p *pool, s *SourceState, plans []string) bool {
	for _, id := range plans {
		if p.sku.HasPlan(id) && !containsString(s.DisabledPlans, id) {
			return true
		}
	}
	return false
}

func hasSource(srcs []srcEntry, p *pool, group string) bool {
	for i := range srcs {
		if srcs[i].pool == p && srcs[i].state.AssignedByGroup == group {
			return true
		}
	}
	return false
}

func containsKept(ks []SourceState, group string) bool {
	for i := range ks {
		if ks[i].AssignedByGroup == group {
			return true
		}
	}
	return false
}

func equalKept(a, b []SourceState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.AssignedByGroup != y.AssignedByGroup || x.KeptReason() != y.KeptReason() || !equalStrings(x.KeptReplacedBy(), y.KeptReplacedBy()) ||
			!equalStrings(x.DisabledPlans, y.DisabledPlans) || !x.AssignedAt.Equal(y.AssignedAt) || x.AppliesSince != y.AppliesSince {
			return false
		}
	}
	return true
}

// precedes orders sources for mutual exclusion: the source that applied to
// the user first comes first; ties (sources that came in one command) by
// the source's creation, then SKU and group.
func precedes(a, b *srcEntry) bool {
	pa, pb := a.state.Precedence(), b.state.Precedence()
	if !pa.Equal(pb) {
		return pa.Before(pb)
	}
	if !a.state.AssignedAt.Equal(b.state.AssignedAt) {
		return a.state.AssignedAt.Before(b.state.AssignedAt)
	}
	if a.pool.key != b.pool.key {
		return a.pool.key < b.pool.key
	}
	return a.state.AssignedByGroup < b.state.AssignedByGroup
}

// block sets srcs[i].blocked (see the top of this file). Exclusions are
// settled greedily in precedence order: a source is accepted unless it
// enables one side of an exclusion whose other side an accepted source
// enables. Only sources that enable exactly one side of a pair take part (a
// product that contains both plans does not conflict with itself). Steps:
// the usage location (blockProhibited, with an all-or-none group's later
// sources), whether any exclusion can conflict (mayConflict), then the
// greedy settlement (blockExclusions).
func (w *worker) block(srcs []srcEntry, loc string) {
	allOrNone := w.blockProhibited(srcs, loc)
	w.scratch.allOrNone = allOrNone
	if allOrNone {
		for i := range srcs {
			if srcs[i].blocked == ErrProhibitedInUsageLoc {
				w.blockGroupAfter(srcs, i, nil)
			}
		}
	}
	if w.mayConflict(srcs) {
		w.blockExclusions(srcs, allOrNone)
	}
}

// blockProhibited clears every source's block and blocks those whose
// product the usage location prohibits; it reports whether a current
// source comes from an all-or-none group.
func (w *worker) blockProhibited(srcs []srcEntry, loc string) (allOrNone bool) {
	e := w.e
	var last *pool
	prohibited := false
	for i := range srcs {
		s := &srcs[i]
		s.blocked = ErrUnset
		if s.pool != last { // sources are sorted by pool
			last, prohibited = s.pool, e.prohibited(s.pool.sku.ID, loc)
		}
		if prohibited {
			s.blocked = ErrProhibitedInUsageLoc
		}
		if s.state.AssignedByGroup != "" && s.state.KeptReason() == "" && !allOrNone {
			if g := e.groups[s.state.AssignedByGroup]; g != nil && g.AssignmentMode == ModeAllOrNone {
				allOrNone = true
			}
		}
	}
	return allOrNone
}

// mayConflict is block's fast path: false unless two unblocked sources
// enable opposite sides of one exclusion.
func (w *worker) mayConflict(srcs []srcEntry) bool {
	parts := w.scratch.parts[:0]
	conflict := false
	for i := range srcs {
		s := &srcs[i]
		if s.blocked != ErrUnset {
			continue
		}
		for _, x := range w.e.plan.exclBySKU[s.pool.sku.ID] {
			e0 := x.p0 != "" && !containsString(s.state.DisabledPlans, x.p0)
			e1 := x.p1 != "" && !containsString(s.state.DisabledPlans, x.p1)
			if e0 == e1 {
				continue
			}
			for _, p := range parts {
				if p.pair == x.pair && p.side1 != e1 {
					conflict = true
				}
			}
			parts = append(parts, exclPart{x.pair, e1})
		}
	}
	w.scratch.parts = parts[:0]
	return conflict
}

// blockExclusions settles exclusions greedily in precedence order: a
// source that takes part is accepted unless it conflicts with an accepted
// one (neither replacing the other); else it is blocked as mutually
// exclusive, with its all-or-none group's later sources.
func (w *worker) blockExclusions(srcs []srcEntry, allOrNone bool) {
	e := w.e
	order := w.scratch.order[:0]
	for i := range srcs {
		order = append(order, int32(i))
	}
	slices.SortFunc(order, func(a, b int32) int {
		if precedes(&srcs[a], &srcs[b]) {
			return -1
		}
		if precedes(&srcs[b], &srcs[a]) {
			return 1
		}
		return 0
	})
	accepted := w.scratch.accepted[:0]
	for _, i := range order {
		s := &srcs[i]
		if s.blocked != ErrUnset || !e.takesPart(s) {
			continue
		}
		conflict := false
		for _, j := range accepted {
			if e.conflicts(s, &srcs[j]) && !replaces(s, &srcs[j]) && !replaces(&srcs[j], s) {
				conflict = true
				break
			}
		}
		if !conflict {
			accepted = append(accepted, i)
			continue
		}
		s.blocked = ErrMutuallyExclusive
		if allOrNone {
			w.blockGroupAfter(srcs, int(i), &accepted)
		}
	}
	w.scratch.order, w.scratch.accepted = order[:0], accepted[:0]
}

// exclPart is a source enabling one side of an exclusion (block's fast path).
type exclPart struct {
	pair  int32
	side1 bool
}

// blockGroupAfter blocks, when srcs[i] comes from an all-or-none group, the
// group's other sources that began to apply with it or after it (what the
// user had before stays), with the same error; they leave accepted.
func (w *worker) blockGroupAfter(srcs []srcEntry, i int, accepted *[]int32) {
	s := &srcs[i]
	gid := s.state.AssignedByGroup
	if gid == "" || s.state.KeptReason() != "" {
		return
	}
	if g := w.e.groups[gid]; g == nil || g.AssignmentMode != ModeAllOrNone {
		return
	}
	at := s.state.Precedence()
	for j := range srcs {
		o := &srcs[j]
		if j == i || o.blocked != ErrUnset || o.state.AssignedByGroup != gid || o.state.KeptReason() != "" || o.state.Precedence().Before(at) {
			continue
		}
		o.blocked = s.blocked
		if accepted != nil {
			if k := slices.Index(*accepted, int32(j)); k >= 0 {
				*accepted = slices.Delete(*accepted, k, k+1)
			}
		}
	}
}

// takesPart reports whether the source enables exactly one side of some
// exclusion.
func (e *Engine) takesPart(s *srcEntry) bool {
	for _, pair := range e.plan.relExcl {
		if poolEnables(s.pool, &s.state, pair[0]) != poolEnables(s.pool, &s.state, pair[1]) {
			return true
		}
	}
	return false
}

// conflicts reports whether a enables exactly one side of an exclusion and
// b exactly the other.
func (e *Engine) conflicts(a, b *srcEntry) bool {
	for _, pair := range e.plan.relExcl {
		a0, a1 := poolEnables(a.pool, &a.state, pair[0]), poolEnables(a.pool, &a.state, pair[1])
		if a0 == a1 {
			continue
		}
		b0, b1 := poolEnables(b.pool, &b.state, pair[0]), poolEnables(b.pool, &b.state, pair[1])
		if b0 != b1 && a0 == b1 {
			return true
		}
	}
	return false
}

// poolEnables reports whether source s of a pool enables the interned plan.
func poolEnables(p *pool, s *SourceState, idx int32) bool {
	for _, rp := range p.relevant {
		if rp.idx == idx {
			return !containsString(s.DisabledPlans, rp.id)
		}
	}
	return false
}

// noteReplacements records, for a group license change that removes
// products and adds new ones in one request, that each removed product is
// replaced by the added ones: members keep a removed product until they
// hold its replacements (see retain).
func (e *Engine) noteReplacements(g *group, adds []LicenseSource, rms []string) {
	if len(rms) == 0 {
		return
	}
	var by []string
	for _, a := range adds {
		if a.AssignedAt.Equal(e.clock) { // new to the group in this command
			by = append(by, a.SKUID)
		}
	}
	if len(by) == 0 {
		return
	}
	if e.pending.replaced == nil {
		e.pending.replaced = make(map[string]map[string][]string)
	}
	m := e.pending.replaced[g.ID]
	if m == nil {
		m = make(map[string][]string)
		e.pending.replaced[g.ID] = m
	}
	for _, id := range rms {
		m[id] = by
	}
}

// convertKeptToDirect turns every source kept from group g (a removal that
// waits for a dependency) into a direct license of the user, as Entra does
// when a licensed group is deleted: the user keeps the prerequisite, now
// assigned directly. The converted source keeps its place among the user's
// sources (AppliesSince). It is part of deleting a group.
func (e *Engine) convertKeptToDirect(op Op, g *group) {
	var us []*user
	for _, u := range e.all {
		for _, l := range u.licenses {
			if containsKept(l.Retained(), g.ID) {
				us = append(us, u)
				break
			}
		}
	}
	slices.SortFunc(us, func(a, b *user) int { return strings.Compare(a.ID, b.ID) })
	for _, u := range us {
		for _, l := range u.licenses {
			i := slices.IndexFunc(l.Retained(), func(k SourceState) bool { return k.AssignedByGroup == g.ID })
			if i < 0 {
				continue
			}
			k := l.Retained()[i]
			l.SetRetained(slices.Delete(slices.Clone(l.Retained()), i, i+1))
			if len(l.Retained()) == 0 {
				l.SetRetained(nil)
			}
			if _, has := u.directIn(l.skuID(), l.allotmentID()); !has {
				u.direct = append(u.direct, LicenseSource{SKUID: l.skuID(), AllotmentID: l.allotmentID(), DisabledPlans: k.DisabledPlans, AssignedAt: e.clock})
				sortSources(u.direct)
				mark(&e.delta.DirectLicenses, Key2{u.ID, l.pool.key}, true)
				e.audit(op, "Convert inherited license to direct", u.ID, g.ID, l.skuID())
				// The direct license takes the kept source's place.
				srcs := slices.Clone(l.Sources)
				for j := range srcs {
					if srcs[j].AssignedByGroup == g.ID {
						srcs[j].AssignedByGroup = ""
						srcs[j].SetKept("", nil)
					}
				}
				w := &e.w
				w.countErrors(l.Sources, -1)
				w.countErrors(srcs, +1)
				l.Sources = srcs
			}
			e.dirtyLicense(l)
		}
		e.touch(u, audit.ActorGroupLicensing, "group "+g.DisplayName+" deleted: a license another license depends on is now assigned directly")
	}
}

// keptReason explains a kept source (ActiveWithError) in words.
func keptReason(s *SourceState) string {
	switch s.KeptReason() {
	case KeptForReplacement:
		return "removed from the group, but kept (plans enabled) until the product that replaced it (" + strings.Join(s.KeptReplacedBy(), ", ") + ") gets a seat for this user, so the user is never left with neither"
	case KeptForDependency:
		return "removal failed with DependencyViolation: another license of the user depends on a plan only this one enables, so it stays (plans enabled) until that dependency is fixed; deleting the group assigns it directly"
	}
	return s.Error.String()
}

// dropBlockedKept removes the kept sources that block found blocked from
// their license records and reports whether it removed any.
func (w *worker) dropBlockedKept(u *user, srcs []srcEntry) bool {
	dropped := false
	for i := range srcs {
		s := &srcs[i]
		if s.state.KeptReason() == "" || s.blocked == ErrUnset {
			continue
		}
		l := u.licenseOf(s.pool)
		k := slices.IndexFunc(l.Retained(), func(x SourceState) bool { return x.AssignedByGroup == s.state.AssignedByGroup })
		if k < 0 {
			continue
		}
		l.SetRetained(slices.Delete(slices.Clone(l.Retained()), k, k+1))
		if len(l.Retained()) == 0 {
			l.SetRetained(nil)
		}
		w.dirtyLicense(l)
		dropped = true
	}
	return dropped
}

// replaces reports whether source b replaces the kept source a (same group,
// one of the products that replaced it): a product kept until its
// replacement has a seat does not block that replacement — the two are
// never usable together, as the kept one goes when the replacement is
// seated.
func replaces(a, b *srcEntry) bool {
	return a.state.KeptReason() == KeptForReplacement && b.state.KeptReason() == "" && b.state.AssignedByGroup == a.state.AssignedByGroup && slices.Contains(a.state.KeptReplacedBy(), b.pool.key)
}
