package tenant

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"allot/internal/idsort"
	"allot/licensing"
	"allot/store"
)

// errStopped ends encodeRecords when its consumer has stopped.
var errStopped = errors.New("tenant: record stream stopped")

// encodeRecords encodes every engine record, in key order of the store
// (kind, then id, byte order: directLicense, group, groupLicense, license,
// member, user), and hands them to emit in batches of at most streamBatch,
// in that order. emit false stops it. A batch's memory serves a later batch
// once freed (recBatch.free): free it when done with its objects. It walks
// the engine, not a delta: it serves a bulk commit into a tenant that had
// no records, where every record that exists is new. The batches are
// encoded by workers goroutines (which only read the engine), and emit is
// called on one goroutine at a time.
func encodeRecords(e *licensing.Engine, workers int, emit func(*recBatch) bool) error {
	s := newBatchStream(max(workers, 1), emit)
	err := queueRecords(e, s)
	if serr := s.close(); err == nil {
		err = serr
	}
	return err
}

// userRef is a user and the view of its records (the engine's own: read
// only).
type userRef struct {
	id string // u.ID, kept here: sorting and the runs read it without a trip to the record
	nl int    // the number of license records (v.Licenses().Len())
	u  *licensing.User
	v  licensing.UserView
}

// idPair is a pair of ids whose stored id is a/b.
type idPair struct{ a, b string }

// pairRuns is a sequence of pairs of ids in runs: run i (0..n-1) is the
// pairs (a(i), b(i, j)), j in 0..size(i)-1. The engine's records keyed by
// a pair (license records, memberships) are read run by run (a user's
// licenses, a group's members) without a list of all pairs.
type pairRuns struct {
	n    int
	a    func(i int) string
	size func(i int) int
	b    func(i, j int) string
	// ordered: the keys a/b are known to strictly increase in sequence
	// order, so batches need not read them. A promise broken by a bug
	// still fails the bulk commit (statelog.ErrOrder), never stores
	// records out of order.
	ordered bool
}

// batches cuts the pairs into batches of size pairs (the last one may be
// smaller) and returns where each starts: run, place in the run. ok is
// false if the keys a/b of the pairs do not strictly increase in sequence
// order (an id with a byte below '/' can break it), which is checked
// without building a key. When rs.ordered, the order is the caller's
// promise (licenseRuns) and only the runs' sizes are read.
func (rs pairRuns) batches(size int) (starts [][2]int, ok bool) {
	if rs.ordered {
		k := 0
		for i := range rs.n {
			n := rs.size(i)
			for j := (size - k%size) % size; j < n; j += size {
				starts = append(starts, [2]int{i, j})
			}
			k += n
		}
		return starts, true
	}
	var pa, pb string
	k := 0
	for i := range rs.n {
		a := rs.a(i)
		for j := range rs.size(i) {
			b := rs.b(i, j)
			if k > 0 && cmpJoined(pa, pb, a, b) >= 0 {
				return nil, false
			}
			if k%size == 0 {
				starts = append(starts, [2]int{i, j})
			}
			pa, pb = a, b
			k++
		}
	}
	return starts, true
}

// licenseRuns is the license records of the users (sorted by id), run i
// being users[i]'s. A user's records are sorted by pool key, one per pool
// (the engine's invariant), so the keys "user/pool" strictly increase
// unless a user id is a prefix of the next one followed by a byte up to
// '/' ("u" then "u-1": "u/…" sorts after "u-1/…"): idsJoinInOrder checks
// that on the ids alone, and then batches read no record to cut the runs.
func licenseRuns(users []userRef) pairRuns {
	return pairRuns{
		n:       len(users),
		a:       func(i int) string { return users[i].id },
		size:    func(i int) int { return users[i].nl },
		b:       func(i, j int) string { return users[i].v.Licenses().PoolKey(j) },
		ordered: idsJoinInOrder(users),
	}
}

// idsJoinInOrder reports whether, for users sorted by id, every key
// id+"/"+x sorts before every key of the next user's: true unless an id is
// a prefix of the next one and the next one's byte after it is '/' or
// below.
func idsJoinInOrder(users []userRef) bool {
	for i := 1; i < len(users); i++ {
		a, b := users[i-1].id, users[i].id
		if a >= b {
			return false
		}
		if len(a) < len(b) && b[len(a)] <= '/' && b[:len(a)] == a {
			return false
		}
	}
	return true
}

// memberRuns is every membership of an engine, run i being group i's
// members: its users (users[i], by id) and then its member groups
// (groups[i], by id; nil for most groups).
type memberRuns struct {
	ids           []string // the groups, by id
	users, groups [][]string
}

func (m *memberRuns) runs() pairRuns {
	return pairRuns{
		n:    len(m.ids),
		a:    func(i int) string { return m.ids[i] },
		size: func(i int) int { return len(m.users[i]) + len(m.groups[i]) },
		b: func(i, j int) string {
			if j < len(m.users[i]) {
				return m.users[i][j]
			}
			return m.groups[i][j-len(m.users[i])]
		},
	}
}

// queueRecords queues the batches of encodeRecords on s, in key order.
func queueRecords(e *licensing.Engine, s *batchStream) error {
	groups := e.GroupIDs()
	// Users by id, sorted while the first kinds (few records) are
	// gathered and encoded; then the memberships are gathered (they need
	// the users) while the license records are encoded.
	members := make(chan *memberRuns, 1)
	sorted := make(chan []userRef, 1)
	go func() {
		users := sortedUsers(e)
		sorted <- users
		members <- gatherMembers(e, groups, users)
	}()

	type src struct {
		key string
		l   licensing.LicenseSource
	}
	var direct []src
	e.ForEachUserView(func(v licensing.UserView) bool {
		if ls := v.DirectLicenses(); len(ls) > 0 {
			id := v.User().ID
			for _, l := range ls {
				direct = append(direct, src{key2(id, poolKey(l)), l})
			}
		}
		return true
	})
	slices.SortFunc(direct, func(a, b src) int { return strings.Compare(a.key, b.key) })
	if !s.each(len(direct), func(bs *bodies, i int) store.Object {
		return store.Object{Kind: store.KindDirectLicense, ID: direct[i].key, Body: bs.source(&direct[i].l)}
	}) {
		return errStopped
	}
	if !s.each(len(groups), func(bs *bodies, i int) store.Object {
		g, _ := e.Group(groups[i]) // every id of GroupIDs is a group: the engine does not change meanwhile
		return store.Object{Kind: store.KindGroup, ID: groups[i], Body: bs.group(&g)}
	}) {
		return errStopped
	}
	var gls []src
	for _, id := range groups {
		for _, l := range e.GroupLicenses(id) {
			gls = append(gls, src{key2(id, poolKey(l)), l})
		}
	}
	keyed(gls, func(x src) string { return x.key })
	if !s.each(len(gls), func(bs *bodies, i int) store.Object {
		return store.Object{Kind: store.KindGroupLicense, ID: gls[i].key, Body: bs.source(&gls[i].l)}
	}) {
		return errStopped
	}
	// License records and memberships are the bulk: read from the engine
	// run by run as they are encoded, in key order if that is the order of
	// the runs (else sorted: an id with a byte below '/').
	users := <-sorted
	if !s.pairs(store.KindLicense, licenseRuns(users), func(bs *bodies, i, j int) []byte { l := users[i].v.Licenses().At(j); return bs.license(&l) }) {
		return errStopped
	}
	ms := <-members
	if !s.pairs(store.KindMember, ms.runs(), func(_ *bodies, i, j int) []byte {
		if j < len(ms.users[i]) {
			return userMemberBody
		}
		return groupMemberBody
	}) {
		return errStopped
	}
	if !s.each(len(users), func(bs *bodies, i int) store.Object {
		return store.Object{Kind: store.KindUser, ID: users[i].id, Body: bs.user(users[i].u)}
	}) {
		return errStopped
	}
	return nil
}

// sortedUsers lists the users of e by id.
func sortedUsers(e *licensing.Engine) []userRef {
	users := make([]userRef, 0, e.UserCount())
	e.ForEachUserView(func(v licensing.UserView) bool {
		u := v.User()
		users = append(users, userRef{id: u.ID, nl: v.Licenses().Len(), u: u, v: v})
		return true
	})
	idsort.SortFunc(users, func(r userRef) string { return r.id }, func(a, b userRef) int { return strings.Compare(a.id, b.id) })
	return users
}

// gatherMembers lists the memberships of the groups (sorted ids), each
// group's users and then its member groups. The user members are taken
// from the users' side, users sorted by id: each group's come in id order,
// with no lookup of a user and no sort (the engine keeps a group's members
// in a map). Only a group with member groups is asked for its members.
func gatherMembers(e *licensing.Engine, groups []string, users []userRef) *memberRuns {
	at := make(map[string]int, len(groups))
	counts := make([]int, len(groups)) // all members, users and groups
	for i, g := range groups {
		at[g] = i
		counts[i] = e.MemberCount(g)
	}
	m := &memberRuns{ids: groups, users: make([][]string, len(groups)), groups: make([][]string, len(groups))}
	for i := range m.users {
		m.users[i] = make([]string, 0, counts[i])
	}
	for _, r := range users {
		for j := range r.v.GroupCount() {
			if i, ok := at[r.v.GroupID(j)]; ok { // always: a user's groups are the engine's
				m.users[i] = append(m.users[i], r.id)
			}
		}
	}
	for i, g := range groups {
		if len(m.users[i]) < counts[i] { // member groups too
			_, m.groups[i] = e.Members(g)
		}
	}
	return m
}

// keyOrder is the order of the pairs' keys a/b: nil when it is the index
// order — the usual case, checked without building a key — else the
// indexes sorted by key.
func keyOrder(ps []idPair) []int {
	for i := 1; i < len(ps); i++ {
		if cmpJoined(ps[i-1].a, ps[i-1].b, ps[i].a, ps[i].b) >= 0 {
			order := make([]int, len(ps))
			for j := range order {
				order[j] = j
			}
			slices.SortFunc(order, func(x, y int) int {
				return cmpJoined(ps[x].a, ps[x].b, ps[y].a, ps[y].b)
			})
			return order
		}
	}
	return nil
}

// joinKeys writes the keys a/b of the pairs at positions from..to-1 of
// order (nil: the index order) into buf's memory, from its start (new
// memory if it is too small), and appends them to dst, as views of that
// memory: no allocation per key, nor per batch once buf is large enough (a
// large tenant has millions of memberships and license records). The keys
// are valid until buf is written again. It returns the memory and dst.
func joinKeys(buf []byte, dst []string, ps []idPair, order []int, from, to int) ([]byte, []string) {
	at := func(k int) *idPair {
		if order != nil {
			return &ps[order[k]]
		}
		return &ps[k]
	}
	size := 0
	for k := from; k < to; k++ {
		p := at(k)
		size += len(p.a) + 1 + len(p.b)
	}
	if size > cap(buf) {
		buf = make([]byte, 0, size+size/8)
	}
	buf = buf[:0]
	for k := from; k < to; k++ {
		p := at(k)
		buf = append(buf, p.a...)
		buf = append(buf, '/')
		buf = append(buf, p.b...)
	}
	start := 0
	for k := from; k < to; k++ {
		p := at(k)
		end := start + len(p.a) + 1 + len(p.b)
		dst = append(dst, unsafe.String(&buf[start], end-start))
		start = end
	}
	return buf, dst
}

// recBatch is a batch of encoded records and the memory they are in, which
// a later batch reuses once freed: the objects' slice, the keys that are
// not engine ids (joinKeys) and the bodies' first block. A store may not
// keep a batch's keys or bodies once it asks for the next batch
// (store.Store.CommitBulk).
type recBatch struct {
	objs   []store.Object
	keys   []string // views of keyBuf
	keyBuf []byte
	pairs  []idPair // the pairs of the keys, when read from runs
	arena  []byte
	need   int // the bytes of the bodies
}

// freeBatches holds freed batches (*recBatch).
var freeBatches sync.Pool

func newRecBatch(n int) *recBatch {
	b, _ := freeBatches.Get().(*recBatch)
	if b == nil {
		b = &recBatch{}
	}
	b.objs = slices.Grow(b.objs, n)
	return b
}

// bodies returns a writer of bodies that starts in the batch's arena.
func (b *recBatch) bodies() bodies { return bodies{buf: b.arena[:0]} }

// free hands the batch's memory to later batches: its objects must not be
// used any more (a store is done with a batch when it asks for the next).
func (b *recBatch) free() {
	clear(b.objs)
	b.objs = b.objs[:0]
	clear(b.keys)
	b.keys = b.keys[:0]
	clear(b.pairs)
	b.pairs = b.pairs[:0]
	if b.need > cap(b.arena) { // a batch's bodies as large fit in one block next time
		b.arena = make([]byte, 0, b.need+b.need/8+bodyRoom)
	}
	freeBatches.Put(b)
}

// batchStream encodes batches of objects on worker goroutines and hands
// them to emit in the order they were queued. A few batches at most are
// queued or encoded and not yet emitted, so that memory holds a few batches,
// not all of them.
type batchStream struct {
	work    chan batchJob
	queue   chan chan *recBatch // the batches, in order
	stopped chan struct{}       // closed once emit returned false
	done    chan struct{}       // closed when the last batch is emitted
	workers sync.WaitGroup
}

type batchJob struct {
	encode func() *recBatch
	out    chan<- *recBatch
}

func newBatchStream(workers int, emit func(*recBatch) bool) *batchStream {
	s := &batchStream{
		work:    make(chan batchJob),
		queue:   make(chan chan *recBatch, 2*workers+2),
		stopped: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for range workers {
		s.workers.Go(func() {
			for j := range s.work {
				j.out <- j.encode()
			}
		})
	}
	go func() {
		defer close(s.done)
		for out := range s.queue {
			if !emit(<-out) {
				close(s.stopped)
				return
			}
		}
	}()
	return s
}

// add queues a batch that encode makes; false once emit has stopped.
func (s *batchStream) add(encode func() *recBatch) bool {
	out := make(chan *recBatch, 1) // a batch emit does not take leaves no goroutine behind
	select {
	case s.queue <- out:
	case <-s.stopped:
		return false
	}
	select {
	case s.work <- batchJob{encode, out}:
		return true
	case <-s.stopped:
		return false
	}
}

// close waits for the queued batches and returns errStopped if emit stopped.
func (s *batchStream) close() error {
	close(s.queue)
	close(s.work)
	s.workers.Wait()
	<-s.done
	select {
	case <-s.stopped:
		return errStopped
	default:
		return nil
	}
}

// each queues the objects 0..n-1 that obj encodes, in batches.
func (s *batchStream) each(n int, obj func(bs *bodies, i int) store.Object) bool {
	for from := 0; from < n; from += streamBatch {
		to := min(from+streamBatch, n)
		if !s.add(func() *recBatch {
			b := newRecBatch(to - from)
			bs := b.bodies()
			for i := from; i < to; i++ {
				b.objs = append(b.objs, obj(&bs, i))
			}
			b.need = bs.size
			return b
		}) {
			return false
		}
	}
	return true
}

// joined queues objects of kind whose ids are the keys a/b of the pairs, in
// order (keyOrder), with the bodies body encodes (i: the pair's index).
func (s *batchStream) joined(kind store.Kind, ps []idPair, order []int, body func(bs *bodies, i int) []byte) bool {
	for from := 0; from < len(ps); from += streamBatch {
		to := min(from+streamBatch, len(ps))
		if !s.add(func() *recBatch {
			b := newRecBatch(to - from)
			bs := b.bodies()
			b.keyBuf, b.keys = joinKeys(b.keyBuf, b.keys[:0], ps, order, from, to)
			for k := from; k < to; k++ {
				i := k
				if order != nil {
					i = order[k]
				}
				b.objs = append(b.objs, store.Object{Kind: kind, ID: b.keys[k-from], Body: body(&bs, i)})
			}
			b.need = bs.size
			return b
		}) {
			return false
		}
	}
	return true
}

// pairs queues objects of kind whose ids are the keys a/b of rs's pairs,
// in key order, with the bodies body encodes (i, j: the pair's run and
// place in it). When the runs are in key order (batches) each batch reads
// its pairs from them; else the pairs are listed and sorted.
func (s *batchStream) pairs(kind store.Kind, rs pairRuns, body func(bs *bodies, i, j int) []byte) bool {
	starts, ok := rs.batches(streamBatch)
	if !ok {
		var ps []idPair
		var at [][2]int
		for i := range rs.n {
			for j := range rs.size(i) {
				ps, at = append(ps, idPair{rs.a(i), rs.b(i, j)}), append(at, [2]int{i, j})
			}
		}
		return s.joined(kind, ps, keyOrder(ps), func(bs *bodies, k int) []byte { return body(bs, at[k][0], at[k][1]) })
	}
	for k, first := range starts {
		end := [2]int{rs.n, 0} // the batch ends before it
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		if !s.add(func() *recBatch {
			b := newRecBatch(streamBatch)
			bs := b.bodies()
			for i := first[0]; i <= end[0] && i < rs.n; i++ {
				a, from, to := rs.a(i), 0, rs.size(i)
				if i == first[0] {
					from = first[1]
				}
				if i == end[0] {
					to = end[1]
				}
				for j := from; j < to; j++ {
					b.pairs = append(b.pairs, idPair{a, rs.b(i, j)})
					b.objs = append(b.objs, store.Object{Kind: kind, Body: body(&bs, i, j)})
				}
			}
			b.keyBuf, b.keys = joinKeys(b.keyBuf, b.keys[:0], b.pairs, nil, 0, len(b.pairs))
			for k := range b.objs {
				b.objs[k].ID = b.keys[k]
			}
			b.need = bs.size
			return b
		}) {
			return false
		}
	}
	return true
}

// keyed puts xs in byte order of their keys: mostly they already are (built
// from sorted ids), so a check is all it usually costs.
func keyed[T any](xs []T, key func(T) string) {
	if !slices.IsSortedFunc(xs, func(a, b T) int { return strings.Compare(key(a), key(b)) }) {
		slices.SortFunc(xs, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	}
}
