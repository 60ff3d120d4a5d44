package licensing

import (
	"runtime"
	"sync/atomic"
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
func (m *MemberLoader) Load(bad func(group, member string, err error)) {
	for i := range m.runs {
		r := &m.runs[i]
		refuse := func(member string, err error) { bad(r.Group, member, err) }
		if m.claims[i].CompareAndSwap(0, 1) {
			m.e.LoadMembers(r.Group, r.Members, refuse)
		} else {
			for m.claims[i].Load() != 2 { // the helper is on this one run
				runtime.Gosched()
			}
			m.e.loadMembersAs(r.Group, r.Members, m.users[i], refuse)
			m.users[i] = nil
		}
		*r = MemberRun{}
	}
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

// loadMembersAs is LoadMembers with each member's user (users[i]: nil when
// memberIDs[i] is not a user) looked up already.
func (e *Engine) loadMembersAs(groupID string, memberIDs []string, users []*user, bad func(memberID string, err error)) {
	g := e.memberGroup(groupID, memberIDs, bad)
	if g == nil {
		return
	}
	for i, m := range memberIDs {
		if err := e.loadMemberAs(g, m, users[i]); err != nil {
			bad(m, err)
		}
	}
}
