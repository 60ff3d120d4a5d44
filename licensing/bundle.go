package licensing

import (
	"slices"
	"strings"
	"time"

	"allot/audit"
)

// All-or-none groups take their seats together.
//
// In an all-or-none group a product is only usable while the group's other
// products (those that came to the user with it or before it) are too. A
// license whose usable sources all depend on such siblings is *bundled*:
//
//   - it is admitted from its waiting room only together with the sibling
//     licenses it waits for, when each of them holds a seat or can take a
//     free one now (the joint admission, after the ordinary fill);
//   - it does not keep a seat while a sibling waits: the claim phase puts
//     it back in its waiting room (keeping its place, Since).
//
// Both decisions read only the user's sources and the seats of the user's
// own licenses, and seats are only ever taken in admissions, so the
// process ends. At its end no pool has a free seat and a waiting claim that
// could use it (an ordinary claim, or a bundled one whose siblings can all
// be seated): that condition is what a full recompute re-establishes, so a
// recompute of a settled state changes nothing. Bundled claims are the one
// exception to "holders are the oldest claims": an older bundled claim may
// wait while its siblings have no seat.

// sourceSiblings returns, for source s of the user (from an all-or-none
// group), the user's other licenses with a usable source from the same
// group that applied no later than s, into dst; independent reports that s
// does not depend on any (direct, kept, per-product, or alone in its
// group).
func (w *worker) sourceSiblings(u *user, srcs []srcEntry, s *srcEntry, dst []*license) (_ []*license, independent bool) {
	gid := s.state.AssignedByGroup
	if gid == "" || s.state.KeptReason() != "" {
		return dst, true
	}
	if g := w.e.groups[gid]; g == nil || g.AssignmentMode != ModeAllOrNone {
		return dst, true
	}
	at := s.state.Precedence()
	for i := range srcs {
		o := &srcs[i]
		if o.pool == s.pool || o.blocked != ErrUnset || o.state.AssignedByGroup != gid || o.state.KeptReason() != "" || at.Before(o.state.Precedence()) {
			continue
		}
		if m := u.licenseOf(o.pool); m != nil && !slices.Contains(dst, m) {
			dst = append(dst, m)
		}
	}
	return dst, len(dst) == 0
}

// coClaims decides how license l of the user can take a seat: bundled is
// false when a usable source stands alone. Otherwise ok reports whether,
// for some usable source, every sibling license holds a seat or waits with
// a free seat in its pool; co lists those waiting siblings (to admit with
// l). With held set, only held siblings count (is l usable now?).
func (w *worker) coClaims(u *user, l *license, srcs []srcEntry, held bool) (co []*license, bundled, ok bool) {
	var sib []*license
	found := false
	for i := range srcs {
		s := &srcs[i]
		if s.pool != l.pool || s.blocked != ErrUnset {
			continue
		}
		found = true
		var independent bool
		sib, independent = w.sourceSiblings(u, srcs, s, sib[:0])
		if independent {
			return nil, false, true
		}
		fits := true
		for _, m := range sib {
			if m.Held {
				continue
			}
			if held || !m.Claimed || m.waitIdx < 0 || m.pool.free() <= 0 {
				fits = false
				break
			}
		}
		if fits && !ok {
			ok = true
			for _, m := range sib {
				if !m.Held {
					co = append(co, m)
				}
			}
		}
	}
	return co, found, ok
}

// markBundled derives the bundled flag of the user's claimed licenses, and
// puts a bundled license that holds a seat while a sibling it needs waits
// back in its waiting room (in a full recompute, only the record: pools are
// rebuilt from the records).
func (w *worker) markBundled(u *user, srcs []srcEntry) {
	e := w.e
	if !w.scratch.allOrNone { // set by block for these sources
		for _, l := range u.licenses {
			if l.bundled && l.Waiting() && !e.bulk {
				e.pending.pools[l.pool] = struct{}{}
			}
			l.bundled = false
		}
		return
	}
	for _, l := range u.licenses {
		was := l.bundled
		l.bundled = false
		if !l.Claimed || !l.eligible {
			continue
		}
		_, bundled, usable := w.coClaims(u, l, srcs, true)
		l.bundled = bundled
		if !l.Held && (bundled || was) && !e.bulk {
			// Its siblings may have changed, or it stands alone now:
			// the pool is filled again.
			e.pending.pools[l.pool] = struct{}{}
		}
		if !bundled || !l.Held || usable {
			continue
		}
		l.Held, l.HeldSince, l.GrantedAt = false, 0, 0
		w.dirtyLicense(l)
		if e.bulk {
			continue
		}
		l.pool.consumed--
		l.pool.waiting.push(l)
		e.pending.pools[l.pool] = struct{}{}
	}
}

// admit gives a waiting claim a seat.
func (e *Engine) admit(l *license, now time.Time) {
	l.Held, l.HeldSince = true, InstantOf(now)
	l.pool.consumed++
	e.dirtyLicense(l)
	e.touchState(l.user, audit.ActorGroupLicensing, e.admittedWhy(l.pool, l))
	if l.user.hasKept() {
		e.pending.recheck[l.user] = struct{}{}
	}
	// The user's bundled claims may fit now that this seat is held.
	for _, m := range l.user.licenses {
		if m.bundled && m.Waiting() {
			e.pending.pools[m.pool] = struct{}{}
		}
	}
}

// fillBundles admits, in pool order and oldest first, the bundled claims of
// the pools that can be seated together with their siblings. It runs after
// the ordinary fill, when every pool with a free seat has only bundled
// claims waiting. It reports whether it admitted anyone.
func (e *Engine) fillBundles(pools []*pool, now time.Time) bool {
	admitted := false
	w := &e.w
	var aside []*license
	for _, p := range pools {
		aside = aside[:0]
		for p.free() > 0 && len(p.waiting) > 0 {
			l := p.waiting.pop()
			if !l.bundled {
				e.admit(l, now) // not reached after an ordinary fill
				admitted = true
				continue
			}
			srcs := w.gatherSources(l.user, now, true)
			w.block(srcs, e.usageLocation(l.user))
			co, _, ok := w.coClaims(l.user, l, srcs, false)
			if !ok {
				aside = append(aside, l)
				continue
			}
			e.admit(l, now)
			for _, m := range co {
				m.pool.waiting.remove(int(m.waitIdx))
				m.waitIdx = -1
				e.admit(m, now)
			}
			admitted = true
		}
		for _, l := range aside {
			p.waiting.push(l)
		}
	}
	return admitted
}

// bundledPools returns the pools with a free seat and a waiting claim, by
// key: where fillBundles may admit.
func (e *Engine) bundledPools(from []*pool) []*pool {
	var out []*pool
	for _, p := range from {
		if p.free() > 0 && len(p.waiting) > 0 {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *pool) int { return strings.Compare(a.key, b.key) })
	return out
}
