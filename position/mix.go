package position

import (
	"encoding/binary"
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
func (m *model) cover(reqs []int32, held []int32) *mix {
	cls := m.clsBuf[:0]
	for _, r := range reqs {
		if c := m.reqs[r].class; c >= 0 && !slices.Contains(cls, c) {
			cls = append(cls, c)
		}
	}
	// Drop b when some other a has cands(a) ⊆ cands(b).
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
	cls = keep
	// Forced products, and the classes they leave.
	forced := m.forcedBuf[:0]
	for _, c := range cls {
		if cs := m.classes[c].cands; len(cs) == 1 && !slices.Contains(forced, cs[0]) {
			forced = append(forced, cs[0])
		}
	}
	slices.Sort(forced)
	m.forcedBuf = forced
	if len(forced) > 0 {
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
		cls = rest
	}
	// A canonical order (by products, not by interning order): the search,
	// and so the choice among equal covers, is the same in every worker.
	// (Classes have distinct products, so the order is total; a user has
	// few: insertion sort.)
	for i := 1; i < len(cls); i++ {
		for j := i; j > 0 && slices.Compare(m.classes[cls[j]].bits, m.classes[cls[j-1]].bits) < 0; j-- {
			cls[j], cls[j-1] = cls[j-1], cls[j]
		}
	}
	m.clsBuf = cls
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
	restKey := len(m.buf)
	m.buf = binary.LittleEndian.AppendUint32(m.buf, ^uint32(0))
	for _, f := range forced {
		m.buf = binary.LittleEndian.AppendUint32(m.buf, uint32(f))
	}
	if x, ok := m.memo[string(m.buf)]; ok {
		return x
	}
	key := string(m.buf)
	// The rest's solution is shared between workers, by a key that does
	// not depend on a worker's interning order: the classes' products and
	// the held products (product indexes are the same in every worker).
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
	x := rest
	if len(forced) > 0 {
		x = &mix{exact: rest.exact, skus: append(slices.Clone(rest.skus), forced...), cost: rest.cost}
		for _, f := range forced {
			x.cost += m.skus[f].price
		}
		m.sortMix(x.skus)
	}
	m.memo[key] = x
	return x
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
	res := solveMasks(len(cls), masks, weights, &m.solver)
	x := &mix{exact: res.Exact}
	for _, i := range res.Sets {
		s := order[i]
		x.skus = append(x.skus, s)
		x.cost += m.skus[s].price
	}
	m.sortMix(x.skus)
	return x
}

// sharedMemo is the cheapest covers of the rest problems (see cover),
// shared by the workers of one computation.
type sharedMemo struct {
	mu   sync.RWMutex
	rest map[string]*mix
}

func newSharedMemo() *sharedMemo { return &sharedMemo{rest: map[string]*mix{}} }

func (s *sharedMemo) get(key []byte) (*mix, bool) {
	s.mu.RLock()
	x, ok := s.rest[string(key)]
	s.mu.RUnlock()
	return x, ok
}

// put records a solution unless another worker did first, and returns
// the one recorded (both are the same cover: solving is deterministic).
func (s *sharedMemo) put(key []byte, x *mix) *mix {
	s.mu.Lock()
	defer s.mu.Unlock()
	if y, ok := s.rest[string(key)]; ok {
		return y
	}
	s.rest[string(key)] = x
	return x
}

// problems returns the number of distinct rest problems solved.
func (s *sharedMemo) problems() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.rest)
}
