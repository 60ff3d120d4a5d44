package licensing

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"allot/internal/memtune"
	"allot/rules"
)

// Clone returns an independent copy of the engine: the same users, groups,
// memberships, sources, subscriptions, allotments, license records and
// waiting rooms, so that the copy answers every query as e does and a
// command applied to both gives the same result and the same delta. The
// copy starts with an empty delta. Nothing that either engine changes
// afterwards is seen by the other.
//
// What commands never change in place is shared rather than copied: the
// catalog and compiled plan rules, strings, a license's Sources (replaced,
// never written: see restate), a user's or group's properties (replaced
// whole by updates) and compiled membership rules. Clone reads e only, so
// it may run while other goroutines read e, but not while e changes.
//
// The copy's users and records are carved from a few large blocks, as a
// full recompute's records are: a block's memory is freed once none of its
// users or records is left, so a copy that later loses many users keeps
// their slots (about 100 B a user, 200 B a record) until then.
func (e *Engine) Clone() *Engine {
	c := &Engine{
		cat:        e.cat,
		settings:   e.settings,
		clock:      e.clock,
		users:      make(map[string]*user, len(e.users)),
		all:        make([]*user, len(e.all)),
		byUPN:      make(map[string]*user, len(e.byUPN)),
		groups:     make(map[string]*group, len(e.groups)),
		pools:      make(map[string]*pool, len(e.pools)),
		allotments: make(map[string]*allotment, len(e.allotments)),
		allotted:   maps.Clone(e.allotted),
		plan:       e.plan,
	}
	if c.allotted == nil {
		c.allotted = make(map[string]int)
	}
	c.w.e = c
	c.pending.init()

	defer memtune.BulkWork(len(e.all))() // everything allocated stays live: see internal/memtune
	// Pools and allotments first: license records point at them.
	pools := make(map[*pool]*pool, len(e.pools)+len(e.allotments))
	clonePool := func(p *pool) *pool {
		q := &pool{sku: p.sku, key: p.key, units: p.units, consumed: p.consumed, e: c, ruled: p.ruled, relevant: p.relevant}
		pools[p] = q
		return q
	}
	for id, p := range e.pools {
		c.pools[id] = clonePool(p)
	}
	for id, a := range e.allotments {
		ca := &allotment{Allotment: a.Allotment}
		ca.Owners = slices.Clone(a.Owners)
		ca.pool = clonePool(a.pool)
		ca.pool.allot = ca
		c.allotments[id] = ca
	}

	groups := make(map[*group]*group, len(e.groups))
	for id, g := range e.groups {
		cg := &group{Group: g.Group, licenses: slices.Clone(g.licenses), errors: g.errors,
			members: make(map[*user]struct{}, len(g.members))}
		c.groups[id] = cg
		groups[g] = cg
	}
	for g, cg := range groups {
		cg.memberGroups = remapSet(g.memberGroups, groups)
		cg.parents = remapSet(g.parents, groups)
	}

	// Users and their license records, each in one block, copied by
	// contiguous ranges in parallel (record i of the block belongs to the
	// same user and position as in a serial walk).
	n := workersFor(len(e.all))
	users := make([]user, len(e.all))
	from := make([]int, n+1)  // users of worker i: e.all[from[i]:from[i+1]]
	recAt := make([]int, n+1) // and their records: recs[recAt[i]:recAt[i+1]]
	grpAt := make([]int, n+1) // and their memberships
	for i := range n + 1 {
		from[i] = i * len(e.all) / n
	}
	for i := range n {
		nr, ng := 0, 0
		for _, u := range e.all[from[i]:from[i+1]] {
			nr += len(u.licenses)
			ng += len(u.groups)
		}
		recAt[i+1], grpAt[i+1] = recAt[i]+nr, grpAt[i]+ng
	}
	recs := make([]license, recAt[n])
	// The users' lists of records and groups are carved from two blocks,
	// each with no spare capacity (an append copies it out).
	recPtrs, grpPtrs := make([]*license, recAt[n]), make([]*group, grpAt[n])
	parallel(n, func(i int) {
		recs, recPtrs, grpPtrs := recs[recAt[i]:recAt[i+1]], recPtrs[recAt[i]:recAt[i+1]], grpPtrs[grpAt[i]:grpAt[i+1]]
		for j := from[i]; j < from[i+1]; j++ {
			u, cu := e.all[j], &users[j]
			cu.User, cu.idx = u.User, u.idx
			cu.direct = slices.Clone(u.direct)
			if len(u.groups) > 0 {
				cu.groups, grpPtrs = grpPtrs[:len(u.groups):len(u.groups)], grpPtrs[len(u.groups):]
				for k, g := range u.groups {
					cu.groups[k] = groups[g]
				}
			}
			if len(u.licenses) > 0 {
				cu.licenses, recPtrs = recPtrs[:len(u.licenses):len(u.licenses)], recPtrs[len(u.licenses):]
				for k, l := range u.licenses {
					r := &recs[k]
					*r = license{LicenseState: l.LicenseState, user: cu, pool: pools[l.pool], waitIdx: l.waitIdx, eligible: l.eligible, bundled: l.bundled}
					cu.licenses[k] = r
				}
				recs = recs[len(u.licenses):]
			}
			c.all[j] = cu
		}
	})

	// The maps, each filled by one goroutine: the user indexes, and the
	// groups' members in chunks of groups of similar total size.
	var tasks []func()
	tasks = append(tasks, func() {
		for _, cu := range c.all {
			c.users[cu.ID] = cu
		}
	}, func() {
		for k, u := range e.byUPN {
			c.byUPN[k] = &users[u.idx]
		}
	})
	var chunk []*group
	size := 0
	flush := func(gs []*group) {
		tasks = append(tasks, func() {
			for _, g := range gs {
				cg := groups[g]
				for u := range g.members {
					cg.members[&users[u.idx]] = struct{}{}
				}
			}
		})
	}
	for g := range groups {
		chunk = append(chunk, g)
		if size += len(g.members); size >= 1<<16 {
			flush(chunk)
			chunk, size = nil, 0
		}
	}
	flush(chunk)
	var next atomic.Int32
	parallel(n, func(int) {
		for t := int(next.Add(1)) - 1; t < len(tasks); t = int(next.Add(1)) - 1 {
			tasks[t]()
		}
	})

	// Waiting rooms, in their order: a record's copy is at the same
	// position among its user's records.
	for p, q := range pools {
		if p.waiting == nil {
			continue
		}
		q.waiting = make(waitHeap, len(p.waiting))
		for k, l := range p.waiting {
			u := l.user
			q.waiting[k] = users[u.idx].licenses[slices.Index(u.licenses, l)]
		}
	}

	c.dyn = cloneRules(e)
	return c
}

// parallel runs fn(0) … fn(n-1) in n goroutines (in the caller's when n is
// 1) and waits for them.
func parallel(n int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
}

// remapSet copies a set of groups into the clone's groups.
func remapSet(set map[*group]struct{}, to map[*group]*group) map[*group]struct{} {
	if set == nil {
		return nil
	}
	out := make(map[*group]struct{}, len(set))
	for g := range set {
		out[to[g]] = struct{}{}
	}
	return out
}

// cloneRules copies the index of dynamic membership rules (compiled rules
// are immutable and shared).
func cloneRules(e *Engine) *rules.Index {
	x := rules.NewIndex()
	ids := slices.Sorted(maps.Keys(e.groups))
	for _, id := range ids {
		if r := e.dyn.Get(id); r != nil {
			x.Set(id, r)
		}
	}
	return x
}
