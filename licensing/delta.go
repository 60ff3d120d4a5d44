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
	for _, l := range e.dirty {
		l.dirty = false
	}
	e.dirty = e.dirty[:0]
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
		e.delta.Licenses = append(e.delta.Licenses, Key2{l.UserID, l.pool.key})
	}
}

// deletedLicense records that a license record is gone.
func (e *Engine) deletedLicense(l *license) {
	e.delta.Licenses = append(e.delta.Licenses, Key2{l.UserID, l.pool.key})
}
