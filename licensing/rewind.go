package licensing

import "fmt"

// Undoing commands in place (a what-if without a copy of the engine).
//
// A what-if can run its commands on an engine and then bring the engine
// back to the state before them, instead of running them on a Clone (a
// copy of every user and record: seconds at a million users). The state
// before must be at hand in another engine that did not run the commands
// (the readers' copy of a tenant, which is the writer's between two
// batches). The undo is then:
//
//  1. PeekDelta, after the commands: what they changed (every record a
//     command writes is in the delta: the runtime persists nothing else,
//     so the delta names everything that differs from the other engine).
//  2. An Applier fed the other engine's records under the delta's keys
//     (a key the other engine has no record of: deleted), finished at the
//     other engine's clock: the records are set back and what the engine
//     derives from them (consumption, waiting rooms, error counts, claim
//     flags, the rule index) follows, as for any committed change.
//  3. Rewind: the clock goes back to the other engine's, and the pools the
//     commands created (a product the tenant had no pool of) go.
//  4. DiffChanged: a check, in time proportional to the change, that the
//     users, groups and pools the delta names and the engine's settings,
//     clock and counts are the other engine's again.
//
// TakeDelta then drops what the undo recorded. An engine whose undo fails
// (an error from Finish or Rewind, or a difference) may be half-changed
// and must be replaced by a copy of the other engine.

// PeekDelta is what commands changed since the last TakeDelta, left in
// place: the caller reads it only, and only until the engine's next
// command, Applier.Finish or TakeDelta.
func (e *Engine) PeekDelta() *Delta { return &e.delta }

// Rewind ends the undo of commands (see above): after an Applier set the
// records the commands changed back to those of before, the engine the
// commands did not run on, it sets the clock back to before's and drops
// the pools before has not; d is what the commands changed (PeekDelta,
// before the Applier ran). A pool to drop must hold no seat, no waiting
// claim and no record of a user whose records the commands changed (else
// it is an error and nothing is dropped). A group's or user's list of
// license sources the commands emptied and the Applier filled again, or
// the reverse, takes before's representation (nil or empty), which the
// queries hand out as they are.
func (e *Engine) Rewind(before *Engine, d *Delta) error {
	drop := map[*pool]string{}
	for id, p := range e.pools {
		if _, ok := before.pools[id]; ok {
			continue
		}
		if p.consumed != 0 || len(p.waiting) != 0 {
			return fmt.Errorf("pool %s that the engine before has not still has %d seats and %d waiting", id, p.consumed, len(p.waiting))
		}
		drop[p] = id
	}
	for _, k := range d.Licenses {
		u := e.users[k[0]]
		if u == nil {
			continue
		}
		for _, l := range u.licenses {
			if _, ok := drop[l.pool]; ok {
				return fmt.Errorf("user %s still has a record of pool %s that the engine before has not", u.ID, l.pool.key)
			}
		}
	}
	for _, id := range drop {
		delete(e.pools, id)
	}
	for k := range d.GroupLicenses {
		if g, h := e.groups[k[0]], before.groups[k[0]]; g != nil && h != nil && len(g.licenses) == 0 && len(h.licenses) == 0 {
			g.licenses = emptyLike(h.licenses)
		}
	}
	for k := range d.DirectLicenses {
		if u, v := e.users[k[0]], before.users[k[0]]; u != nil && v != nil && len(u.direct) == 0 && len(v.direct) == 0 {
			u.direct = emptyLike(v.direct)
		}
	}
	e.clock = before.clock
	return nil
}

// DiffChanged is Diff restricted to what a delta names: the users, groups,
// memberships, sources and license records of d compared as Diff compares
// them, and the clock, settings, user counts, rule index of the named
// groups, and every pool's and allotment's units, consumption and number
// waiting (not the waiting rooms' members: a member's claim is compared
// with its user). It reads as many objects as d names (and every pool),
// so that an undo can be checked at the cost of the change. "" when they
// are the same.
func DiffChanged(a, b *Engine, d *Delta) string {
	if !a.clock.Equal(b.clock) {
		return fmt.Sprintf("clock %s vs %s", a.clock, b.clock)
	}
	if a.settings.DefaultUsageLocation != b.settings.DefaultUsageLocation || a.settings.ExcludeGuests != b.settings.ExcludeGuests ||
		a.settings.NestedGroups != b.settings.NestedGroups || a.settings.LeaveAttribute != b.settings.LeaveAttribute {
		return fmt.Sprintf("settings %+v vs %+v", a.settings, b.settings)
	}
	if len(a.users) != len(b.users) || len(a.byUPN) != len(b.byUPN) || len(a.all) != len(b.all) || len(a.groups) != len(b.groups) {
		return fmt.Sprintf("%d/%d/%d users, %d groups vs %d/%d/%d, %d", len(a.users), len(a.byUPN), len(a.all), len(a.groups),
			len(b.users), len(b.byUPN), len(b.all), len(b.groups))
	}
	users, groups := named(a, d)
	for id := range users {
		u, v := a.users[id], b.users[id]
		switch {
		case u == nil && v == nil:
			continue
		case u == nil || v == nil:
			return "user " + id + " in one engine only"
		}
		if u.UserPrincipalName != "" && a.byUPN[UPNKey(u.UserPrincipalName)] != u {
			return "UPN index differs at user " + id
		}
		if d := diffUser(u, v); d != "" {
			return "user " + id + ": " + d
		}
	}
	for id := range groups {
		g, h := a.groups[id], b.groups[id]
		switch {
		case g == nil && h == nil:
			continue
		case g == nil || h == nil:
			return "group " + id + " in one engine only"
		}
		if d := diffGroup(g, h); d != "" {
			return "group " + id + ": " + d
		}
		if (a.dyn.Get(id) == nil) != (b.dyn.Get(id) == nil) {
			return "dynamic rule index differs at group " + id
		}
	}
	return diffPoolCounts(a, b)
}

// named is the ids of the users and groups a delta names (a member is a
// group if e has a group of its id).
func named(e *Engine, d *Delta) (users, groups map[string]bool) {
	users, groups = map[string]bool{}, map[string]bool{}
	for id := range d.Users {
		users[id] = true
	}
	for id := range d.Groups {
		groups[id] = true
	}
	for k := range d.Members {
		groups[k[0]] = true
		if _, ok := e.groups[k[1]]; ok {
			groups[k[1]] = true
		} else {
			users[k[1]] = true
		}
	}
	for k := range d.GroupLicenses {
		groups[k[0]] = true
	}
	for k := range d.DirectLicenses {
		users[k[0]] = true
	}
	for _, k := range d.Licenses {
		users[k[0]] = true
	}
	return users, groups
}

// diffPoolCounts compares the pools and allotments of two engines as
// diffPools does, without the members of the waiting rooms.
func diffPoolCounts(a, b *Engine) string {
	if len(a.pools) != len(b.pools) || len(a.allotments) != len(b.allotments) {
		return fmt.Sprintf("%d pools, %d allotments vs %d, %d", len(a.pools), len(a.allotments), len(b.pools), len(b.allotments))
	}
	same := func(p, q *pool) bool {
		return q != nil && p.key == q.key && p.units == q.units && p.consumed == q.consumed && len(p.waiting) == len(q.waiting)
	}
	for id, p := range a.pools {
		if q := b.pools[id]; !same(p, q) {
			return "pool " + id + " differs"
		}
		if a.allotted[id] != b.allotted[id] {
			return fmt.Sprintf("allotted units of %s: %d vs %d", id, a.allotted[id], b.allotted[id])
		}
	}
	for id, x := range a.allotments {
		y := b.allotments[id]
		if y == nil {
			return "allotment " + id + " missing"
		}
		if fmt.Sprint(x.Allotment) != fmt.Sprint(y.Allotment) {
			return fmt.Sprintf("allotment %s: %+v vs %+v", id, x.Allotment, y.Allotment)
		}
		if !same(x.pool, y.pool) {
			return "allotment " + id + "'s pool differs"
		}
	}
	return ""
}

// emptyLike is an empty list that is nil when l is (never l itself: the
// engines share no list).
func emptyLike(l []LicenseSource) []LicenseSource {
	if l == nil {
		return nil
	}
	return []LicenseSource{}
}
