package directory

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"allot/licensing"
	"allot/tenant"
)

// Change tracking: what Graph's delta functions (users/delta,
// groups/delta) read. The index numbers the committed batches it receives
// (Seq: 1 when it is built, +1 per Update) and keeps, for every user and
// group changed since it was built, the number of the last batch that
// changed it — including objects that are gone since (tombstones: the
// reader decides from the current state whether a gone object is deleted
// or soft-deleted) — and, per group, the last change of each membership.
//
// The contract a delta token relies on: for a token holding (Epoch, S)
// with Floor <= S <= Seq, the objects that changed after S are exactly the
// entries of the change sets with a number > S, and the memberships that
// changed after S are the member changes with a number > S. Objects not
// changed since the index was built have no entry, which is correct
// because no token older than the build is ever served (Floor starts at
// the build's number, and Epoch — random per build — tells an index built
// after a restart or a bulk import from this one). Floor rises when old
// tombstones are dropped (MaxTombstones), so a token that would need them
// is refused rather than answered without its deletions.

// MaxTombstones bounds the gone objects and removed memberships the index
// remembers; the oldest are dropped first.
const MaxTombstones = 200_000

// tracker is the change set of one kind of object.
type tracker struct {
	at    map[string]uint64 // id → number of its last change
	order *Set              // Key{K: SeqKey(number), ID: id}
}

func newTracker() tracker { return tracker{at: map[string]uint64{}, order: &Set{}} }

func (t *tracker) touch(id string, seq uint64) {
	if old, ok := t.at[id]; ok {
		if old == seq {
			return
		}
		t.order.Delete(Key{K: SeqKey(old), ID: id})
	}
	t.at[id] = seq
	t.order.Insert(Key{K: SeqKey(seq), ID: id})
}

func (t *tracker) forget(id string) {
	if old, ok := t.at[id]; ok {
		t.order.Delete(Key{K: SeqKey(old), ID: id})
		delete(t.at, id)
	}
}

// MemberChange is the last change of one membership: its number and
// whether the member is in the group since.
type MemberChange struct {
	Seq     uint64
	Present bool
}

// tomb is a remembered deletion, in the order they happened.
type tomb struct {
	seq        uint64
	kind       byte // 'u' user, 'g' group, 'm' membership
	id, member string
}

// changes is the index's change log.
type changes struct {
	epoch, seq, floor uint64
	users, groups     tracker
	members           map[string]map[string]MemberChange // groupId → memberId → last change
	tombs             []tomb
}

func newChanges() changes {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("directory: no randomness for the change epoch: %v", err))
	}
	return changes{epoch: binary.BigEndian.Uint64(b[:]) | 1, seq: 1, floor: 1,
		users: newTracker(), groups: newTracker(), members: map[string]map[string]MemberChange{}}
}

// SeqKey is the K of a change set's key for a change number: fixed-width
// hex, so that keys order as numbers.
func SeqKey(seq uint64) string { return fmt.Sprintf("%016x", seq) }

// AfterSeq is the key a scan of a change set starts after to visit the
// changes numbered > seq.
func AfterSeq(seq uint64) Key { return Key{K: SeqKey(seq), ID: "\U0010FFFF"} }

// record notes a committed delta's changes of users, groups and
// memberships under the next number.
func (c *changes) record(e *licensing.Engine, d licensing.Delta) {
	c.seq++
	seq := c.seq
	for id := range d.Users {
		c.users.touch(id, seq)
		if _, ok := e.User(id); !ok {
			c.tombs = append(c.tombs, tomb{seq: seq, kind: 'u', id: id})
		}
	}
	for _, k := range d.Licenses {
		c.users.touch(k[0], seq)
	}
	for k := range d.DirectLicenses {
		c.users.touch(k[0], seq)
	}
	for id := range d.Groups {
		c.groups.touch(id, seq)
		if !e.IsGroup(id) {
			// Its memberships' removals are recorded below (the engine
			// lists them): a restore adds them back after them.
			c.tombs = append(c.tombs, tomb{seq: seq, kind: 'g', id: id})
		}
	}
	for k := range d.GroupLicenses {
		c.groups.touch(k[0], seq)
	}
	for k := range d.Members {
		g, m := k[0], k[1]
		c.groups.touch(g, seq)
		present := e.IsMember(g, m)
		ms := c.members[g]
		if ms == nil {
			ms = map[string]MemberChange{}
			c.members[g] = ms
		}
		ms[m] = MemberChange{Seq: seq, Present: present}
		if !present {
			c.tombs = append(c.tombs, tomb{seq: seq, kind: 'm', id: g, member: m})
		}
	}
	c.prune(e)
}

// prune drops the oldest tombstones beyond MaxTombstones, raising the
// floor to the newest number dropped.
func (c *changes) prune(e *licensing.Engine) {
	n := len(c.tombs) - MaxTombstones
	if n <= 0 {
		return
	}
	for _, t := range c.tombs[:n] {
		switch t.kind {
		case 'u':
			if c.users.at[t.id] == t.seq {
				if _, ok := e.User(t.id); !ok {
					c.users.forget(t.id)
				}
			}
		case 'g':
			if c.groups.at[t.id] == t.seq && !e.IsGroup(t.id) {
				c.groups.forget(t.id)
			}
		case 'm':
			if ms := c.members[t.id]; ms != nil {
				if mc, ok := ms[t.member]; ok && mc.Seq == t.seq && !mc.Present {
					delete(ms, t.member)
					if len(ms) == 0 {
						delete(c.members, t.id)
					}
				}
			}
		}
		c.floor = max(c.floor, t.seq)
	}
	c.tombs = append(c.tombs[:0], c.tombs[n:]...)
}

// Epoch identifies this build of the index: a token from another build
// (before a restart, before a bulk import was published) cannot be served.
func (x *Index) Epoch() uint64 { return x.ch.epoch }

// Seq is the number of the last batch the index has applied.
func (x *Index) Seq() uint64 { return x.ch.seq }

// Floor is the oldest number a delta token may hold to be served.
func (x *Index) Floor() uint64 { return x.ch.floor }

// UserChanges is the change set of users: Key{K: SeqKey(n), ID: userId}
// for each user changed (or gone) since the index was built, by number.
func (x *Index) UserChanges() *Set { return x.ch.users.order }

// GroupChanges is the change set of groups, as UserChanges.
func (x *Index) GroupChanges() *Set { return x.ch.groups.order }

// MemberChanges calls fn with the memberships of a group that changed
// after seq (member id, whether it is a member now), in no order.
func (x *Index) MemberChanges(groupID string, seq uint64, fn func(member string, present bool)) {
	for m, mc := range x.ch.members[groupID] {
		if mc.Seq > seq {
			fn(m, mc.Present)
		}
	}
}

// recordChanges is Update's part for change tracking.
func (x *Index) recordChanges(s *tenant.State, d licensing.Delta) { x.ch.record(s.Engine, d) }
