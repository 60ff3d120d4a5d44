package licensing

import "allot/audit"

// Key2 is a two-part key: (group, member), (group, SKU), (user, SKU).
type Key2 [2]string

// Delta is what commands changed since the last TakeDelta: the keys of the
// objects to write (true) or delete (false), and the audit entries. The
// runtime reads the objects' current values from the engine to persist them.
type Delta struct {
	Users          map[string]bool
	Groups         map[string]bool
	Members        map[Key2]bool // (groupId, memberId)
	GroupLicenses  map[Key2]bool // (groupId, pool key): pool key is skuId or skuId/allotmentId
	DirectLicenses map[Key2]bool // (userId, pool key)
	// Licenses lists the (userId, pool key) license records written or
	// deleted: a key whose record no longer exists (Engine.LicenseByKey) is
	// a delete. A key may be listed twice.
	Licenses   []Key2
	Pools      map[string]bool // skuIds whose units changed
	Allotments map[string]bool
	Settings   bool
	Audit      []audit.Entry
}

// Empty reports whether the delta records nothing.
func (d *Delta) Empty() bool {
	return len(d.Users) == 0 && len(d.Groups) == 0 && len(d.Members) == 0 &&
		len(d.GroupLicenses) == 0 && len(d.DirectLicenses) == 0 && len(d.Licenses) == 0 &&
		len(d.Pools) == 0 && len(d.Allotments) == 0 && !d.Settings && len(d.Audit) == 0
}

func mark[K comparable](m *map[K]bool, k K, put bool) {
	if *m == nil {
		*m = make(map[K]bool)
	}
	(*m)[k] = put
}

// TakeDelta returns what changed since the previous call and starts a new
// delta. The delta starts empty in the maps and slices last given back by
// Recycle, if any.
func (e *Engine) TakeDelta() Delta {
	d, _ := e.TakeBulkDelta(-1)
	return d
}

// TakeBulkDelta is TakeDelta for a caller that writes every record of the
// engine itself when they are all new (a bulk commit into an empty store).
// When an import has loaded the empty engine since the last TakeDelta
// (Import), every user and membership the engine holds is new, and if
// there are at least min of them, the delta's Users and Members list only
// what commands changed after the import, allNew is true, and the rest
// is implied: a million users' and memberships' keys are not built to be
// dropped unread. Otherwise it returns TakeDelta's delta and false.
func (e *Engine) TakeBulkDelta(min int) (d Delta, allNew bool) {
	if e.allNew {
		e.allNew = false
		if min < 0 || len(e.all)+e.membershipCount() < min {
			e.addAllNew()
		} else {
			allNew = true
		}
	}
	return e.takeDelta(), allNew
}

// membershipCount is the number of (group, member) pairs.
func (e *Engine) membershipCount() int {
	n := 0
	for _, g := range e.groups {
		n += len(g.members) + len(g.memberGroups)
	}
	return n
}

// addAllNew adds to the delta every user and membership the engine holds
// that it does not list already (see Engine.allNew): as new, to be written.
func (e *Engine) addAllNew() {
	if e.delta.Users == nil {
		e.delta.Users = make(map[string]bool, len(e.all))
	}
	for _, u := range e.all {
		if _, ok := e.delta.Users[u.ID]; !ok {
			e.delta.Users[u.ID] = true
		}
	}
	if e.delta.Members == nil {
		e.delta.Members = make(map[Key2]bool, e.membershipCount())
	}
	add := func(k Key2) {
		if _, ok := e.delta.Members[k]; !ok {
			e.delta.Members[k] = true
		}
	}
	for _, g := range e.groups {
		for u := range g.members {
			add(Key2{g.ID, u.ID})
		}
		for c := range g.memberGroups {
			add(Key2{g.ID, c.ID})
		}
	}
}

// takeDelta returns the delta as recorded and starts a new one.
func (e *Engine) takeDelta() Delta {
	for _, l := range e.dirty {
		l.dirty = false
	}
	e.dirty = e.dirty[:0]
	if cap(e.dirty) > recycleMax {
		e.dirty = nil // a bulk change's list (millions of records) is not kept for good
	}
	d := e.delta
	e.delta, e.spare = e.spare, Delta{}
	return d
}

// Recycle gives a delta's maps and slices back to the engine, to record the
// delta after next in them: a command then allocates nothing for its delta,
// which keeps the collector's work per command low. The caller must not use
// d, or anything it returned from d's maps and slices, afterwards. Recycling
// is optional, and a delta holding a bulk change (more entries than
// recycleMax) is left to the collector rather than kept.
func (e *Engine) Recycle(d *Delta) {
	if len(d.Licenses) > recycleMax || len(d.Audit) > recycleMax || len(d.Members) > recycleMax {
		*d = Delta{}
		return
	}
	clear(d.Users)
	clear(d.Groups)
	clear(d.Members)
	clear(d.GroupLicenses)
	clear(d.DirectLicenses)
	clear(d.Pools)
	clear(d.Allotments)
	clear(d.Licenses)
	clear(d.Audit) // drop the strings the entries hold
	e.spare = Delta{
		Users: d.Users, Groups: d.Groups, Members: d.Members,
		GroupLicenses: d.GroupLicenses, DirectLicenses: d.DirectLicenses,
		Licenses: d.Licenses[:0], Pools: d.Pools, Allotments: d.Allotments,
		Audit: d.Audit[:0],
	}
	*d = Delta{}
}

// recycleMax bounds the deltas Recycle keeps: a bulk change's maps would
// otherwise stay allocated (and cost a clear of their full size) for good.
const recycleMax = 1024

// dirtyLicense records that a license record changed.
func (e *Engine) dirtyLicense(l *license) {
	if !l.dirty {
		l.dirty = true
		e.dirty = append(e.dirty, l)
		e.delta.Licenses = append(e.delta.Licenses, Key2{l.userID(), l.pool.key})
	}
}

// deletedLicense records that a license record is gone.
func (e *Engine) deletedLicense(l *license) {
	e.delta.Licenses = append(e.delta.Licenses, Key2{l.userID(), l.pool.key})
}
