package usage

import (
	"maps"
	"slices"
	"sync"

	"allot"

	"allot/tenant"
)

// Aggregates is one tenant copy's usage state: per user the sign-in facts,
// per feature the first and last use and the active days, the mailbox
// facts and per license the activation. It is a tenant extension (see
// tenant.ExtensionType): changed only by the commands of this package,
// identical in the writer's and the readers' copies, persisted as shard,
// delta and meta objects (persist.go) and rebuilt at load.
//
// Read it with Of inside Tenant.Read.
type Aggregates struct {
	users userTable
	byID  map[string]int32 // user id → index in users

	meta    meta
	ids     idRing                 // recent event ids (idempotency)
	names   conceal                // concealed report name hash → userPrincipalName
	dirty   [maxShards / 64]uint64 // fine shards changed since the last checkpoint
	batch   batchState             // scratch of the running command
	touched []int32                // users changed by the running command
	feats   slab[featUse]          // storage of the users' feature slices
	acts    slab[activation]       // storage of the users' activation slices
	skus    *skuTable              // the SKU ids the activations name
}

// slab hands out small slices carved from large blocks, so that a million
// users' features are a few hundred allocations, not a million (and
// nothing for the collector to scan: featUse and activation hold no
// pointers). It serves slices whose size is known (a report row's
// features, a stored user's); slices that grow one element at a time come
// from the heap (see grow), so that outgrown ones are freed.
type slab[T any] struct {
	free  []T // the rest of the current block (length 0)
	block int // size of the next block: doubles from 64 up to 16384
}

// carve returns a slice of length 0 and capacity n.
func (s *slab[T]) carve(n int) []T {
	if cap(s.free) < n {
		s.block = min(max(2*s.block, 64), 16384)
		s.free = make([]T, 0, max(s.block, n))
	}
	c := s.free[0:0:n]
	s.free = s.free[n:n]
	return c
}

// grow returns xs with room for one more: when full, a copy with extra
// more (users have few features and licenses: doubling would waste).
func grow[T any](xs []T, extra int) []T {
	if len(xs) < cap(xs) {
		return xs
	}
	return append(make([]T, 0, len(xs)+extra), xs...)
}

// userAgg is one user's aggregates. It is kept small: about 100 bytes plus
// 32 per feature used and 12 per license activated.
type userAgg struct {
	id     string
	ver    uint64 // seq of the last command that changed it
	signIn signInAgg
	mbx    mailbox
	feats  []featUse    // sorted by f
	acts   []activation // sorted by sku
}

// signInAgg is what sign-ins leave behind.
type signInAgg struct {
	lo, hi      uint64 // DaySet bits of the days with a sign-in
	anchor      Day
	first, last stamp
	interactive stamp // last interactive sign-in
}

// featUse is one feature's use by one user (a flattened DaySet plus the
// first and last instant, and where the uses were seen). 32 bytes.
type featUse struct {
	lo, hi      uint64
	anchor      Day
	first, last stamp
	f           featureIdx
	src         Evidence
}

// activation is when a user first showed activity after a seat of the SKU
// was granted (held: that grant's HeldSince).
type activation struct {
	sku      skuIdx
	held, at stamp
}

// mailbox holds the latest mailbox facts. Each fact keeps the day it was
// reported so that an older report never overrides a newer one.
type mailbox struct {
	storage    int64 // bytes
	storageDay Day   // refresh day of the report that gave storage, type and archive; 0: none
	holdDay    Day   // day litigation hold was last reported; 0: unknown
	rtype      uint8 // recipientType index (recipientTypes)
	flags      uint8
}

const (
	mbxArchive uint8 = 1 << iota // Has Archive
	mbxHold                      // litigation hold on
)

// recipientTypes are the Exchange recipient type details a mailbox report
// may carry; index 0 is unknown, the last entry catches the rest.
var recipientTypes = []string{"", "UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox",
	"SchedulingMailbox", "LinkedMailbox", "DiscoveryMailbox", "TeamMailbox", "GroupMailbox", "MailUser", "Other"}

func recipientTypeIndex(s string) uint8 {
	if s == "" {
		return 0
	}
	for i, t := range recipientTypes[1:] {
		if equalFoldASCII(s, t) {
			return uint8(i + 1)
		}
	}
	return uint8(len(recipientTypes) - 1)
}

func (f *featUse) days() DaySet   { return DaySet{Last: f.anchor, Lo: f.lo, Hi: f.hi} }
func (s *signInAgg) days() DaySet { return DaySet{Last: s.anchor, Lo: s.lo, Hi: s.hi} }

// addDay adds d to a flattened DaySet and reports whether it changed.
func addDay(lo, hi *uint64, anchor *Day, d Day) bool {
	s := DaySet{Last: *anchor, Lo: *lo, Hi: *hi}
	s.Add(d)
	if s.Lo == *lo && s.Hi == *hi && s.Last == *anchor {
		return false
	}
	*lo, *hi, *anchor = s.Lo, s.Hi, s.Last
	return true
}

// observe records a use of feature f at t (day d = t's day) seen in src.
// It reports whether anything changed; re-observing is a no-op.
func (u *userAgg) observe(f featureIdx, t stamp, d Day, src Evidence) bool {
	i := searchFeat(u.feats, f)
	if i == len(u.feats) || u.feats[i].f != f {
		u.feats = grow(u.feats, 2)
		u.feats = append(u.feats, featUse{})
		copy(u.feats[i+1:], u.feats[i:])
		u.feats[i] = featUse{f: f, first: t, last: t, anchor: d, lo: 1, src: src}
		return true
	}
	fu := &u.feats[i]
	changed := addDay(&fu.lo, &fu.hi, &fu.anchor, d)
	if fu.src|src != fu.src {
		fu.src, changed = fu.src|src, true
	}
	if t < fu.first {
		fu.first, changed = t, true
	}
	if t > fu.last {
		fu.last, changed = t, true
	}
	return changed
}

// searchFeat returns the position of f in fs (sorted by f), or where it
// would be inserted.
func searchFeat(fs []featUse, f featureIdx) int {
	lo, hi := 0, len(fs)
	for hi-lo > 8 {
		m := int(uint(lo+hi) >> 1)
		if fs[m].f < f {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for lo < hi && fs[lo].f < f {
		lo++
	}
	return lo
}

// recordSignIn records a sign-in at t.
func (u *userAgg) recordSignIn(t stamp, interactive bool) bool {
	s := &u.signIn
	changed := addDay(&s.lo, &s.hi, &s.anchor, t.day())
	if s.first == 0 || t < s.first {
		s.first, changed = t, true
	}
	if t > s.last {
		s.last, changed = t, true
	}
	if interactive && t > s.interactive {
		s.interactive, changed = t, true
	}
	return changed
}

// heldLic is a seat the user holds, as the engine says at the command.
type heldLic struct {
	sku  skuIdx
	held stamp // HeldSince, to the second
}

// activity records evidence that the user was active at t (a sign-in, a
// feature event, or — with dayOnly — a report's activity date) against the
// seats the user holds: a seat is activated by the first evidence at or
// after its HeldSince. Report dates count from the day of the grant on (a
// report has no time of day); the activation is then the later of the
// grant and 00:00 of that day. Activations of seats no longer held are
// dropped.
func (u *userAgg) activity(held []heldLic, t stamp, dayOnly bool) bool {
	changed := false
	if len(u.acts) > 0 {
		// Drop activations of SKUs no longer held.
		keep := u.acts[:0]
		for _, a := range u.acts {
			if holds(held, a.sku) {
				keep = append(keep, a)
			}
		}
		if len(keep) != len(u.acts) {
			changed = true
			clear(u.acts[len(keep):])
			u.acts = keep
		}
	}
	for _, h := range held {
		at := t
		if dayOnly {
			if t.day() < h.held.day() {
				continue
			}
			at = max(t, h.held)
		} else if t < h.held {
			continue
		}
		i := 0
		for i < len(u.acts) && u.acts[i].sku < h.sku { // a user holds few SKUs
			i++
		}
		switch {
		case i == len(u.acts) || u.acts[i].sku != h.sku:
			u.acts = grow(u.acts, 1)
			u.acts = append(u.acts, activation{})
			copy(u.acts[i+1:], u.acts[i:])
			u.acts[i] = activation{sku: h.sku, held: h.held, at: at}
			changed = true
		case u.acts[i].held != h.held:
			u.acts[i] = activation{sku: h.sku, held: h.held, at: at} // a new grant
			changed = true
		case at < u.acts[i].at:
			u.acts[i].at = at
			changed = true
		}
	}
	return changed
}

func holds(held []heldLic, s skuIdx) bool {
	for _, h := range held {
		if h.sku == s {
			return true
		}
	}
	return false
}

// user returns the index of a user's aggregates, creating them.
func (a *Aggregates) user(id string) int32 {
	if i, ok := a.byID[id]; ok {
		return i
	}
	i := a.users.add(userAgg{id: id})
	a.byID[id] = i
	return i
}

// reserve sizes for a command naming n users: the id index for a first
// import, and the list of the users the command changes.
func (a *Aggregates) reserve(n int) {
	if len(a.byID) == 0 && n > 1024 {
		a.byID = make(map[string]int32, n)
	}
	if cap(a.touched) < n {
		a.touched = make([]int32, 0, n)
	}
}

// userTable holds the users' aggregates in chunks of userChunk: adding a
// user never copies more than one chunk (a single slice of a million users
// would be copied and rescanned at every growth), and small tenants stay
// small (the last chunk grows as needed).
type userTable struct {
	chunks [][]userAgg
	n      int
}

const userChunk = 4096

func (t *userTable) len() int { return t.n }

// at returns user i; the pointer is valid until the next add.
func (t *userTable) at(i int32) *userAgg { return &t.chunks[i/userChunk][i%userChunk] }

func (t *userTable) add(u userAgg) int32 {
	if t.n == len(t.chunks)*userChunk {
		c := 16 // the first chunk grows as needed; later ones are full size
		if t.n > 0 {
			c = userChunk
		}
		t.chunks = append(t.chunks, make([]userAgg, 0, c))
	}
	last := len(t.chunks) - 1
	t.chunks[last] = append(t.chunks[last], u)
	t.n++
	return int32(t.n - 1)
}

// touch marks user i changed by the running command.
func (a *Aggregates) touch(i int32) {
	u := a.users.at(i)
	if u.ver != a.batch.seq {
		u.ver = a.batch.seq
		a.touched = append(a.touched, i)
	}
}

func newAggregates() *Aggregates {
	return &Aggregates{byID: map[string]int32{}, skus: newSKUTable()}
}

// Of returns the usage aggregates of a tenant copy. Call it inside
// Tenant.Read (or a command) and do not keep the result beyond.
func Of(s *tenant.State) *Aggregates { return tenant.Ext(s, Extension) }

// skuIdx is an interned SKU id (never persisted: blobs name SKUs by id),
// an index into the skus table of the aggregates that hold it. A 32-bit
// index costs nothing over 16 bits (an activation is 12 bytes either way).
type skuIdx uint32

// MaxSKUs is the most distinct products one tenant's usage data may name
// (the products its users held when their usage was recorded: Microsoft's
// catalog has about a thousand); beyond it ingesting is refused with an
// error, and stored data that names more does not load.
var MaxSKUs = 1 << 16

// skuTable interns the SKU ids of one copy of a tenant's aggregates. It
// only grows, by the products the tenant's users held, and is copied with
// the aggregates (clone keeps every index), so each tenant copy has its
// own and no tenant's products grow another's. Ingest interns from
// several goroutines at once; readers only read.
type skuTable struct {
	mu  sync.RWMutex
	ids []string // index 0 unused
	idx map[string]skuIdx
}

func newSKUTable() *skuTable { return &skuTable{ids: []string{""}, idx: map[string]skuIdx{}} }

// intern returns id's index, adding it; an error when the table already
// holds MaxSKUs products.
func (t *skuTable) intern(id string) (skuIdx, error) {
	t.mu.RLock()
	i, ok := t.idx[id]
	t.mu.RUnlock()
	if ok {
		return i, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.idx[id]; ok {
		return i, nil
	}
	if len(t.ids) > MaxSKUs {
		return 0, allot.Errorf(allot.EINVALID, "The tenant's usage data names more than %d distinct products (the limit per tenant); %s is refused.", MaxSKUs, id)
	}
	t.ids = append(t.ids, id)
	i = skuIdx(len(t.ids) - 1)
	t.idx[id] = i
	return i, nil
}

// id returns the SKU id of an index of this table.
func (t *skuTable) id(i skuIdx) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.ids[i]
}

// len is the number of SKUs interned.
func (t *skuTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.ids) - 1
}

func (t *skuTable) clone() *skuTable {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return &skuTable{ids: slices.Clone(t.ids), idx: maps.Clone(t.idx)}
}

// equalFoldASCII compares ASCII strings case-insensitively without
// allocating.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
