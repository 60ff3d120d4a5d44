package licensing

import (
	"runtime"
	"slices"
	"sync/atomic"
	"unsafe"
)

// MemberRun is the stored memberships of one group: its member ids, users
// or groups.
type MemberRun struct {
	Group   string
	Members []string
}

// MemberLoader loads the memberships of many groups on the member side of
// a load (LoadMembers' pairing) while the other side, once done with its
// own records, helps: it looks members up among the users — most of the
// cost of a membership, a cache miss or more in a million-entry map — for
// the runs the member side has not reached, from the last one back. Each
// run is looked up by exactly one of the two; the member side adds every
// membership itself, in run order, so the result is LoadMembers'.
type MemberLoader struct {
	e    *Engine
	runs []MemberRun
	// claims[i]: 0 nobody has run i yet; 1 the member side, or the helper
	// looking it up; 2 looked up by the helper into users[i].
	claims []atomic.Int32
	users  [][]*user
}

// NewMemberLoader prepares the loading of runs, once every user and group
// is loaded.
func (e *Engine) NewMemberLoader(runs []MemberRun) *MemberLoader {
	return &MemberLoader{e: e, runs: runs, claims: make([]atomic.Int32, len(runs)), users: make([][]*user, len(runs))}
}

// Load adds every run's memberships in order, as LoadMembers does with
// bad, and lets go of each run once it is added. It is the member side of
// a load: not safe for concurrent use with anything but Help and the
// other side's Load methods.
//
// Each group's member set is filled run by run, but the users' lists of
// their groups are filled at the end, user by user in memory order (the
// memberships sorted by user; per user, in run order, as LoadMembers
// would have appended them), from one array: appending to a million
// users' lists in group order touched a user's record at random for
// each membership, a cache miss each, and grew two small arrays a user.
func (m *MemberLoader) Load(bad func(group, member string, err error)) {
	e := m.e
	// adds is sized for every membership, and the runs this side looks up
	// share one list of users: grown by append, they were ~180 MB of
	// garbage at two million memberships.
	total := 0
	for i := range m.runs {
		total += len(m.runs[i].Members)
	}
	adds := make([]memberAdd, 0, total)
	var own []*user
	for i := range m.runs {
		r := &m.runs[i]
		refuse := func(member string, err error) { bad(r.Group, member, err) }
		var users []*user
		if m.claims[i].CompareAndSwap(0, 1) {
			own = slices.Grow(own[:0], len(r.Members))[:len(r.Members)]
			users = own
			for j, id := range r.Members {
				users[j] = e.users[id]
			}
		} else {
			for m.claims[i].Load() != 2 { // the helper is on this one run
				runtime.Gosched()
			}
			users = m.users[i]
			m.users[i] = nil
		}
		if g := e.memberGroup(r.Group, r.Members, refuse); g != nil {
			for j, id := range r.Members {
				u := users[j]
				if u == nil {
					if err := e.loadMemberAs(g, id, nil); err != nil { // a group, or missing
						refuse(id, err)
					}
					continue
				}
				if _, in := g.members[u]; !in {
					g.members[u] = struct{}{}
					adds = append(adds, memberAdd{u, g})
				}
			}
		}
		*r = MemberRun{}
	}
	addUserGroups(adds)
}

// memberAdd is a user's new membership of a group.
type memberAdd struct {
	u *user
	g *group
}

// addUserGroups appends each membership's group to its user's list of
// groups, in the order of adds for each user, visiting the users in
// memory order: adds are sorted by user address (a stable radix sort;
// the collector does not move objects), and a user without groups gets
// a full slice of one array shared by all such users (cap = len: an
// append later copies, a removal stays within the user's part).
func addUserGroups(adds []memberAdd) {
	if len(adds) == 0 {
		return
	}
	adds = sortByUser(adds)
	slab := make([]*group, len(adds))
	for i := 0; i < len(adds); {
		u, j := adds[i].u, i
		for ; j < len(adds) && adds[j].u == u; j++ {
			slab[j] = adds[j].g
		}
		if len(u.groups) == 0 {
			u.groups = slab[i:j:j]
		} else {
			u.groups = append(u.groups, slab[i:j]...)
		}
		i = j
	}
}

// sortByUser sorts adds by user address, stably (least significant digit
// radix sort, 16 bits a pass, skipping the digits all addresses share).
func sortByUser(adds []memberAdd) []memberAdd {
	key := func(a memberAdd) uint64 { return uint64(uintptr(unsafe.Pointer(a.u))) }
	var or, and uint64 = 0, ^uint64(0)
	for _, a := range adds {
		or, and = or|key(a), and&key(a)
	}
	differ := or ^ and // the bits in which some addresses differ
	tmp := make([]memberAdd, len(adds))
	var count [1 << 16]int
	for shift := uint(0); shift < 64; shift += 16 {
		if differ>>shift&0xffff == 0 {
			continue
		}
		clear(count[:])
		for _, a := range adds {
			count[key(a)>>shift&0xffff]++
		}
		pos := 0
		for d, c := range count {
			count[d] = pos
			pos += c
		}
		for _, a := range adds {
			d := key(a) >> shift & 0xffff
			tmp[count[d]] = a
			count[d]++
		}
		adds, tmp = tmp, adds
	}
	return adds
}

// Help looks up the members of the runs Load has not reached, from the
// last run back, until it meets Load. It only reads the engine's users, so
// it may run beside both sides of a load (on the other side's goroutine,
// once that side is done).
func (m *MemberLoader) Help() {
	for i := len(m.runs) - 1; i >= 0; i-- {
		if !m.claims[i].CompareAndSwap(0, 1) {
			return
		}
		ids := m.runs[i].Members
		us := make([]*user, len(ids))
		for j, id := range ids {
			us[j] = m.e.users[id]
		}
		m.users[i] = us
		m.claims[i].Store(2)
	}
}
