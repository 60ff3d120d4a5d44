package position

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"sort"
	"sync"
)

// mix is a cheapest cover: the priced products to hold and their monthly
// cost in prices.Unit.
type mix struct {
	skus  []int32 // most expensive first, then by part number
	cost  int64
	exact bool
}

// preferHeld and the per-product penalty make, among covers of equal
// price, the one with more of the user's products and then fewer products
// the cheapest: weight = price·coverScale + 2 − held. coverScale exceeds
// twice any number of products in a cover, so a cheaper cover always
// weighs less.
const coverScale = 4096

// cover returns the cheapest mix of priced products meeting every
// requirement of reqs (each must have candidates), preferring the products
// in held (sorted). The requirements are first reduced to cover classes
// (requirements met by the same products are one), less the classes whose
// products all meet another class of the set (meeting that one meets
// them). A class only one product meets forces that product into every
// cover, and the classes it meets need nothing more; the rest is solved
// (held keeps only its candidates). Results are memoised by the forced
// products and the rest, and the rest's solutions by the rest alone.
func (m *model) cover(reqs []int32, held []int32) *mix { return &m.coverEntry(reqs, held).x }

// memoEntry is a memoised cover, with the overAssigned fixes of the users
// it was the cover of (see run.overFix). It holds what a user's analysis
// reads in one place: the cover's products (when few) and the fixes.
type memoEntry struct {
	x     mix
	skus  [5]int32 // x.skus when they fit
	nfix  uint8
	fixes [entryFixes]heldFix
}

// entryFixes bounds the fixes a memo entry remembers.
const entryFixes = 3

// heldFix is a fix by the priced products held (sorted, when they fit)
// and their cost.
type heldFix struct {
	held  [4]int32
	nheld uint8
	cost  int64
	out   fixOut
}

func (f *heldFix) is(held []int32, cost int64) bool {
	return f.cost == cost && int(f.nheld) == len(held) && slices.Equal(f.held[:f.nheld], held)
}

// coverEntry is cover's memo entry for reqs and held: the requirements'
// classes (coverClasses) less those met by forced products
// (forcedProducts), in a canonical order, key the memo with the held
// products that can meet them and the forced products (memoKey); on a
// miss the rest's solution (shared between workers, restSolution) plus the
// forced products is the entry.
func (m *model) coverEntry(reqs []int32, held []int32) *memoEntry {
	cls := m.coverClasses(reqs)
	forced := m.forcedProducts(cls)
	cls = m.unmetClasses(cls, forced)
	m.sortClasses(cls)
	m.clsBuf = cls
	restKey := m.memoKey(cls, held, forced)
	fk, fixed := fixedKey(m.buf)
	if fixed {
		if x, ok := m.memoFixed[fk]; ok {
			return x
		}
	} else if x, ok := m.memo[string(m.buf)]; ok {
		return x
	}
	ent := m.newEntry(m.restSolution(cls, held, restKey), forced)
	if fixed {
		m.memoFixed[fk] = ent
	} else {
		m.memo[string(m.buf)] = ent
	}
	return ent
}

// coverClasses returns the distinct classes of reqs (in m.clsBuf), less
// each class b for which another class a has cands(a) ⊆ cands(b): a cover
// of a covers b.
func (m *model) coverClasses(reqs []int32) []int32 {
	cls := m.clsBuf[:0]
	for _, r := range reqs {
		if c := m.classOfReq(m.reqs[r]); c >= 0 && !slices.Contains(cls, c) {
			cls = append(cls, c)
		}
	}
	keep := cls[:0]
	for i, b := range cls {
		redundant := false
		for j, a := range cls {
			if i != j && subsetMask(m.classes[a].bits, m.classes[b].bits) {
				redundant = true
				break
			}
		}
		if !redundant {
			keep = append(keep, b)
		}
	}
	return keep
}

// forcedProducts returns the products that are a class's only candidate,
// sorted (in m.forcedBuf).
func (m *model) forcedProducts(cls []int32) []int32 {
	forced := m.forcedBuf[:0]
	for _, c := range cls {
		if cs := m.classes[c].cands; len(cs) == 1 && !slices.Contains(forced, cs[0]) {
			forced = append(forced, cs[0])
		}
	}
	slices.Sort(forced)
	m.forcedBuf = forced
	return forced
}

// unmetClasses returns the classes of cls (in place) that no forced product
// meets.
func (m *model) unmetClasses(cls, forced []int32) []int32 {
	if len(forced) == 0 {
		return cls
	}
	rest := cls[:0]
	for _, c := range cls {
		met := false
		for _, f := range forced {
			i := m.pricedIx[f]
			if m.classes[c].bits[i/64]&(1<<uint(i%64)) != 0 {
				met = true
				break
			}
		}
		if !met {
			rest = append(rest, c)
		}
	}
	return rest
}

// sortClasses puts classes in a canonical order (by products, not by
// interning order): the search, and so the choice among equal covers, is
// the same in every worker. (Classes have distinct products, so the order
// is total; a user has few: insertion sort.)
func (m *model) sortClasses(cls []int32) {
	for i := 1; i < len(cls); i++ {
		for j := i; j > 0 && slices.Compare(m.classes[cls[j]].bits, m.classes[cls[j-1]].bits) < 0; j-- {
			cls[j], cls[j-1] = cls[j-1], cls[j]
		}
	}
}

// memoKey writes the memo key into m.buf: the classes, a separator, the
// held priced products that are a candidate of one of them, a separator
// and the forced products. It returns where the held products end.
func (m *model) memoKey(cls, held, forced []int32) (restKey int) {
	m.buf = m.buf[:0]
	for _, c := range cls {
		m.buf = binary.LittleEndian.AppendUint32(m.buf, uint32(c))
	}
	m.buf = binary.LittleEndian.AppendUint32(m.buf, ^uint32(0))
	for _, h := range held {
		i, priced := m.pricedIx[h]
		if !priced {
			continue
		}
		for _, c := range cls {
			if m.classes[c].bits[i/64]&(1<<uint(i%64)) != 0 {
				m.buf = binary.LittleEndian.AppendUint32(m.buf, uint32(h))
				break
			}
		}
	}
	restKey = len(m.buf)
	m.buf = binary.LittleEndian.AppendUint32(m.buf, ^uint32(0))
	for _, f := range forced {
		m.buf = binary.LittleEndian.AppendUint32(m.buf, uint32(f))
	}
	return restKey
}

// restSolution is the cheapest cover of the classes cls with held (solve),
// shared between workers by a key that does not depend on a worker's
// interning order: the classes' products and the held products of m.buf
// up to restKey (product indexes are the same in every worker).
func (m *model) restSolution(cls, held []int32, restKey int) *mix {
	rk := binary.LittleEndian.AppendUint32(m.rkey[:0], uint32(len(cls)))
	for _, c := range cls {
		for _, w := range m.classes[c].bits {
			rk = binary.LittleEndian.AppendUint64(rk, w)
		}
	}
	rk = append(rk, m.buf[4*len(cls)+4:restKey]...)
	m.rkey = rk
	rest, ok := m.shared.get(rk)
	if !ok {
		rest = m.shared.put(rk, m.solve(cls, held))
	}
	return rest
}

// newEntry is the memo entry of the rest's cover plus the forced products
// (their prices added), with the products inline when they fit.
func (m *model) newEntry(rest *mix, forced []int32) *memoEntry {
	x := rest
	if len(forced) > 0 {
		x = &mix{exact: rest.exact, skus: append(slices.Clone(rest.skus), forced...), cost: rest.cost}
		for _, f := range forced {
			x.cost += m.skus[f].price
		}
		m.sortMix(x.skus)
	}
	ent := &memoEntry{x: *x}
	if len(x.skus) <= len(ent.skus) {
		ent.x.skus = ent.skus[:copy(ent.skus[:], x.skus)]
	}
	return ent
}

// minPrice is the price of the cheapest candidate of a requirement (with
// the capped products), remembered.
func (m *model) minPrice(rq *requirement) int64 {
	if rq.minPrice < 0 {
		rq.minPrice = 0
		for i, s := range rq.cands {
			if p := m.skus[s].price; i == 0 || p < rq.minPrice {
				rq.minPrice = p
			}
		}
	}
	return rq.minPrice
}

// classOfReq and candsOfReq are a requirement's cover class and
// candidates in the model's current view (withCaps: with the products under
// a seat limit; else without them, the main covers).
func (m *model) classOfReq(rq *requirement) int32 {
	if m.withCaps {
		return rq.class
	}
	return rq.classX
}

func (m *model) candsOfReq(rq *requirement) []int32 {
	if m.withCaps {
		return rq.cands
	}
	return rq.candsX
}

// memoKey is a memo key of up to 20 values under 0xfffe, 16 bits each: a
// key held in the memo's table itself (a string key is a pointer to
// follow), quicker to hash and compare.
type memoKey [5]uint64

// fixedKey packs a key of little-endian uint32s (^0 for a separator)
// into a memoKey; false when it does not fit. Separators become 0xffff
// and the unused values 0xfffe, so that distinct keys stay distinct.
func fixedKey(b []byte) (k memoKey, ok bool) {
	if len(b) > 4*4*len(k) {
		return k, false
	}
	for i := range k {
		k[i] = ^uint64(0) - 0x0001_0001_0001_0001 // 0xfffe in each value
	}
	for i := 0; i < len(b)/4; i++ {
		v := binary.LittleEndian.Uint32(b[4*i:])
		switch {
		case v == ^uint32(0):
			v = 0xffff
		case v >= 0xfffe:
			return k, false
		}
		sh := uint(16 * (i % 4))
		k[i/4] = k[i/4]&^(0xffff<<sh) | uint64(v)<<sh
	}
	return k, true
}

// sortMix orders a mix: most expensive first, then by part number.
func (m *model) sortMix(ss []int32) {
	sort.Slice(ss, func(i, j int) bool {
		a, b := m.skus[ss[i]], m.skus[ss[j]]
		if a.price != b.price {
			return a.price > b.price
		}
		return a.sku.PartNumber < b.sku.PartNumber
	})
}

// solve finds the cheapest mix meeting every class of cls.
func (m *model) solve(cls []int32, held []int32) *mix {
	// Number the candidate products locally (m.local: product → 1+index).
	if len(m.local) < len(m.skus) {
		m.local = make([]int32, len(m.skus))
	}
	order := m.order[:0]
	for _, c := range cls {
		for _, s := range m.classes[c].cands {
			if m.local[s] == 0 {
				order = append(order, s)
				m.local[s] = int32(len(order))
			}
		}
	}
	w := (len(cls) + 63) / 64
	m.masks = grow(m.masks, len(order)*w)
	m.weights = grow(m.weights, len(order))
	masks, weights := m.masks, m.weights
	for i, s := range order {
		weights[i] = m.skus[s].price*coverScale + 2
		if slices.Contains(held, s) {
			weights[i]--
		}
	}
	for e, c := range cls {
		for _, s := range m.classes[c].cands {
			i := int(m.local[s] - 1)
			masks[i*w+e/64] |= 1 << uint(e%64)
		}
	}
	for _, s := range order {
		m.local[s] = 0
	}
	m.order = order
	x := &mix{exact: true}
	if sel, ok := m.small.solve(len(cls), masks, weights); ok {
		for i, s := range order {
			if sel&(1<<uint(i)) != 0 {
				x.skus = append(x.skus, s)
				x.cost += m.skus[s].price
			}
		}
	} else {
		res := solveMasks(len(cls), masks, weights, &m.solver)
		x.exact = res.Exact
		for _, i := range res.Sets {
			s := order[i]
			x.skus = append(x.skus, s)
			x.cost += m.skus[s].price
		}
	}
	m.sortMix(x.skus)
	return x
}

// smallMaxElements is the most elements smallCover solves (its work and
// memory grow as 2^elements; the branch and bound decides beyond).
var smallMaxElements = 10

// smallCover solves small cover problems by dynamic programming over the
// subsets of elements: for each subset S of covered elements, the least
// weight of sets covering the others, one family of sets that weighs that,
// and whether another family weighs the same (a tie). A family covering
// the rest of S has a set covering the first element not in S, so the
// least weight is the least, over the sets covering that element, of the
// set's weight plus the least weight for S with the set's elements. Only
// the subsets reachable from the empty one that way are visited. Its
// slices are reused between problems.
type smallCover struct {
	weight []int64
	sel    []uint64
	tie    []bool
	mask   []uint64 // sets' masks, elements renumbered
	perm   []int    // element → its number
	cands  [][]uint8
	// The problem being solved: subsets whose stamp is gen are done.
	stamp   []uint32
	gen     uint32
	full    int
	weights []int64
}

// solve returns the sets (bits of sel, by index) of the cheapest cover of
// elements 0…elements-1 by the sets given as one-word masks; ok is false
// when it does not apply (too many elements or sets, no cover) or when
// two families of sets tie for the least weight: then solveMasks decides,
// whose choice among equal covers depends on its search. A unique cheapest
// cover is what any exact search returns.
func (d *smallCover) solve(elements int, masks []uint64, weights []int64) (sel uint64, ok bool) {
	n := len(weights)
	if elements == 0 || elements > smallMaxElements || n > 64 || len(masks) != n {
		return 0, false
	}
	// Elements with fewer sets first: the first uncovered element is the
	// one branched on.
	count := func(e int) int {
		c := 0
		for _, m := range masks {
			c += int(m >> uint(e) & 1)
		}
		return c
	}
	order := d.perm[:0]
	for e := 0; e < elements; e++ {
		order = append(order, e)
	}
	var counts [64]int
	for e := range order {
		counts[e] = count(e)
	}
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && counts[order[j]] < counts[order[j-1]]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	d.perm = order
	if cap(d.cands) < elements {
		d.cands = make([][]uint8, elements)
	}
	d.cands = d.cands[:elements]
	cands := d.cands
	d.mask = grow(d.mask, n)
	for i := range cands {
		cands[i] = cands[i][:0]
	}
	for j, m := range masks {
		var r uint64
		for i, e := range order {
			if m>>uint(e)&1 != 0 {
				r |= 1 << uint(i)
				cands[i] = append(cands[i], uint8(j))
			}
		}
		d.mask[j] = r
	}
	size := 1 << uint(elements)
	if len(d.stamp) < size {
		d.weight, d.sel, d.tie, d.stamp = make([]int64, size), make([]uint64, size), make([]bool, size), make([]uint32, size)
	}
	if d.gen++; d.gen == 0 { // stamps wrapped: forget them
		clear(d.stamp)
		d.gen = 1
	}
	d.full, d.weights = size-1, weights
	d.best(0)
	if d.weight[0] == math.MaxInt64 || d.tie[0] {
		return 0, false
	}
	return d.sel[0], true
}

// best computes the entries of subset s (once per problem: stamped), and
// of the subsets it leads to.
func (d *smallCover) best(s int) {
	d.stamp[s] = d.gen
	if s == d.full {
		d.weight[s], d.sel[s], d.tie[s] = 0, 0, false
		return
	}
	e := bits.TrailingZeros(^uint(s))
	best, bsel, btie := int64(math.MaxInt64), uint64(0), false
	for _, j := range d.cands[e] {
		t := s | int(d.mask[j])
		if d.stamp[t] != d.gen {
			d.best(t)
		}
		if d.weight[t] == math.MaxInt64 {
			continue
		}
		v, f := d.weight[t]+d.weights[j], d.sel[t]|1<<j
		switch {
		case v < best:
			best, bsel, btie = v, f, d.tie[t]
		case v == best:
			btie = btie || d.tie[t] || f != bsel
		}
	}
	d.weight[s], d.sel[s], d.tie[s] = best, bsel, btie
}

// sharedMemo is the cheapest covers of the rest problems (see cover),
// shared by the workers of one computation, and the overAssigned fixes
// that depend on products only. It is split in shards by key, each under
// its own lock: two workers seldom want the same shard at once. (A worker
// that waits for a lock is parked, and its wake-up costs far more than the
// map operation it waited for: with one lock for all, about a quarter of
// the workers' time went to such waits.)
type sharedMemo struct {
	seed   maphash.Seed
	shards [memoShards]memoShard
}

const memoShards = 64

type memoShard struct {
	mu   sync.Mutex
	rest map[string]*mix
	// By cachedFix's key: each worker adds them to its own table.
	fixes map[string]sharedFix
	_     [64 - 24]byte // a cache line each
}

// sharedFix is a fix (read only) and the product its finding names.
type sharedFix struct {
	fix  Fix
	main int32
}

// newSharedMemo makes a memo for about covers rest problems and fixes
// fixes.
func newSharedMemo(covers, fixes int) *sharedMemo {
	s := &sharedMemo{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].rest = make(map[string]*mix, covers/memoShards)
		s.shards[i].fixes = make(map[string]sharedFix, fixes/memoShards)
	}
	return s
}

func (s *sharedMemo) shard(key []byte) *memoShard {
	return &s.shards[maphash.Bytes(s.seed, key)%memoShards]
}

func (s *sharedMemo) get(key []byte) (*mix, bool) {
	sh := s.shard(key)
	sh.mu.Lock()
	x, ok := sh.rest[string(key)]
	sh.mu.Unlock()
	return x, ok
}

// put records a solution unless another worker did first, and returns
// the one recorded (both are the same cover: solving is deterministic).
func (s *sharedMemo) put(key []byte, x *mix) *mix {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if y, ok := sh.rest[string(key)]; ok {
		return y
	}
	sh.rest[string(key)] = x
	return x
}

func (s *sharedMemo) fix(key []byte) (sharedFix, bool) {
	sh := s.shard(key)
	sh.mu.Lock()
	f, ok := sh.fixes[string(key)]
	sh.mu.Unlock()
	return f, ok
}

func (s *sharedMemo) putFix(key []byte, f sharedFix) {
	sh := s.shard(key)
	sh.mu.Lock()
	if _, ok := sh.fixes[string(key)]; !ok {
		sh.fixes[string(key)] = f
	}
	sh.mu.Unlock()
}

// problems returns the number of distinct rest problems solved.
func (s *sharedMemo) problems() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.rest)
		sh.mu.Unlock()
	}
	return n
}
