package position

import (
	"math"
	"math/bits"
	"slices"
	"sort"
)

// CoverProblem is a weighted set cover: choose sets so that each element
// 0…Elements-1 is in at least one chosen set, at the least total weight.
// In the license position an element is a requirement of a user (a feature
// used: any one of several service plans) and a set is a priced product
// (the requirements its plans meet), weighted by its price.
type CoverProblem struct {
	Elements int
	Sets     [][]int // the elements each set covers; out-of-range ones are ignored
	Weights  []int64 // one per set, each > 0
}

// CoverResult is the answer to a CoverProblem.
type CoverResult struct {
	Sets   []int // indices into CoverProblem.Sets, ascending
	Weight int64
	// Feasible is false when some element is in no set (Sets is then nil).
	Feasible bool
	// Exact is false only if the search hit MaxCoverNodes; Sets is then the
	// best cover found, not necessarily the cheapest. It never happened on
	// the Microsoft catalog (see the tests and benchmarks).
	Exact bool
	Nodes int // branch-and-bound nodes visited
}

// MaxCoverNodes bounds the branch and bound of one SolveCover call, so
// that a pathological price list cannot stall a report.
const MaxCoverNodes = 2_000_000

// SolveCover returns a minimum-weight cover. It is exact (within
// MaxCoverNodes): the sets are first reduced — a set whose elements another
// set no heavier also covers is dropped (dominance), an element whose sets
// all cover another element makes that other element redundant — and the
// rest is a branch and bound that branches on the uncovered element with the
// fewest candidate sets, starts from the greedy cover as the upper bound and
// prunes with the larger of two lower bounds: the sum over uncovered
// elements of the cheapest weight per newly covered element of a set that
// covers it, and the sum of the cheapest sets of uncovered elements that
// share no candidate set.
//
// Among covers of equal weight the result is deterministic (it depends only
// on the problem); callers that prefer some sets encode the preference in
// the weights.
func SolveCover(p CoverProblem) CoverResult {
	w := (p.Elements + 63) / 64
	masks := make([]uint64, len(p.Sets)*w)
	for i, els := range p.Sets {
		for _, e := range els {
			if e >= 0 && e < p.Elements {
				masks[i*w+e/64] |= 1 << uint(e%64)
			}
		}
	}
	return solveMasks(p.Elements, masks, p.Weights, &coverSolver{})
}

// solveMasks is SolveCover with each set given as a mask of w =
// ⌈elements/64⌉ words (set i is masks[i*w:(i+1)*w]); masks is changed. s
// is a workspace, reused from call to call (not concurrently).
func solveMasks(elements int, masks []uint64, weights []int64, s *coverSolver) CoverResult {
	if !s.init(elements, masks, weights) {
		return CoverResult{}
	}
	if s.m == 0 {
		return CoverResult{Sets: []int{}, Feasible: true, Exact: true}
	}
	s.greedy()
	s.branch(s.pushMask(), 0)
	out := make([]int, len(s.bestSet))
	for i, x := range s.bestSet {
		out[i] = s.orig[x]
	}
	sort.Ints(out)
	return CoverResult{Sets: out, Weight: s.best, Feasible: true, Exact: s.nodes < MaxCoverNodes, Nodes: s.nodes}
}

// coverSolver is one reduced problem — n sets over m elements, masks of w
// words — and the search's state. Its slices are reused between problems.
type coverSolver struct {
	m, w, n  int
	orig     []int    // reduced set → index in the problem
	mask     []uint64 // set i's elements: mask[i*w : i*w+w]
	weight   []int64
	elemSets [][]int32 // element → the sets that cover it
	full     []uint64

	best     int64
	bestSet  []int32
	cur      []int32
	excluded []bool
	nodes    int
	used     []bool // scratch of the packing bound

	// Scratch of the reduction and the search.
	sets, cands     []int32
	pop, gains, idx []int
	alive           []bool
	cols, masks     []uint64
	elemBuf         []int32
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// init builds and reduces the problem; false if it is infeasible. The m
// elements are covered by len(weights) sets whose element masks (w words
// each) are masks[i*w:i*w+w]; the reduction clears dropped elements from
// them. Steps: the sets in play and feasibility (liveSets), the reduction
// to a fixed point (dropDominatedSets, dropDominatedElements), then the
// reduced problem renumbered into the solver's fields (renumber).
func (s *coverSolver) init(m int, masks []uint64, weights []int64) bool {
	w := (m + 63) / 64
	n := len(weights)
	mask := func(i int32) []uint64 { return masks[int(i)*w : int(i)*w+w] }
	if !s.liveSets(m, n, w, mask) {
		return false
	}
	// Reduce to a fixed point: drop dominated sets, then redundant
	// elements, and again while anything changed.
	s.alive = grow(s.alive, m)
	for e := range s.alive {
		s.alive[e] = true
	}
	s.pop = grow(s.pop, n)
	for {
		s.dropDominatedSets(mask, weights)
		if !s.dropDominatedElements(m, mask) {
			break
		}
	}
	s.renumber(m, mask, weights)
	s.masks = s.masks[:0]
	return true
}

// liveSets puts the non-empty sets in s.sets and reports whether together
// they cover every element.
func (s *coverSolver) liveSets(m, n, w int, mask func(int32) []uint64) bool {
	s.sets = s.sets[:0] // the sets still in play
	covered := grow(s.masks, w)
	for i := 0; i < n; i++ {
		if !isZero(mask(int32(i))) {
			orMask(covered, mask(int32(i)))
			s.sets = append(s.sets, int32(i))
		}
	}
	for e := 0; e < m; e++ {
		if covered[e/64]&(1<<uint(e%64)) == 0 {
			return false
		}
	}
	return true
}

// dropDominatedSets: in order of weight, then size, then index, a set is
// dropped when an earlier kept set covers all its elements.
func (s *coverSolver) dropDominatedSets(mask func(int32) []uint64, weights []int64) {
	for _, i := range s.sets {
		s.pop[i] = popMask(mask(i))
	}
	pop := s.pop
	slices.SortFunc(s.sets, func(a, b int32) int {
		switch {
		case weights[a] != weights[b]:
			return cmpInt64(weights[a], weights[b])
		case pop[a] != pop[b]:
			return pop[b] - pop[a]
		}
		return int(a - b)
	})
	kept := s.sets[:0]
	for _, i := range s.sets {
		dominated := false
		for _, j := range kept {
			if subsetMask(mask(i), mask(j)) {
				dominated = true
				break
			}
		}
		if !dominated {
			kept = append(kept, i)
		}
	}
	s.sets = kept
}

// dropDominatedElements: if every set covering a also covers b, any cover
// of a covers b, so b is redundant (of two equal ones the later goes); it
// is marked dead and cleared from the masks. It reports whether any was.
func (s *coverSolver) dropDominatedElements(m int, mask func(int32) []uint64) bool {
	nw := (len(s.sets) + 63) / 64
	s.cols = grow(s.cols, m*nw)
	for k, i := range s.sets {
		eachBit(mask(i), func(e int) { s.cols[e*nw+k/64] |= 1 << uint(k%64) })
	}
	col := func(e int) []uint64 { return s.cols[e*nw : e*nw+nw] }
	changed := false
	for b := 0; b < m; b++ {
		if !s.alive[b] {
			continue
		}
		for a := 0; a < m; a++ {
			if a == b || !s.alive[a] || !subsetMask(col(a), col(b)) {
				continue
			}
			if a > b && equalMask(col(a), col(b)) {
				continue // b stays; a goes when its turn comes
			}
			s.alive[b], changed = false, true
			for _, i := range s.sets {
				mask(i)[b/64] &^= 1 << uint(b%64)
			}
			break
		}
	}
	return changed
}

// renumber sets up the reduced problem: the alive elements renumbered
// (s.idx), the kept sets' masks, weights and original indexes, the sets
// covering each element, and an empty search.
func (s *coverSolver) renumber(m int, mask func(int32) []uint64, weights []int64) {
	// Renumber the alive elements.
	s.idx = grow(s.idx, m)
	rm := 0
	for e := 0; e < m; e++ {
		if s.alive[e] {
			s.idx[e] = rm
			rm++
		}
	}
	rw := (rm + 63) / 64
	k := len(s.sets)
	s.m, s.w, s.n = rm, rw, k
	s.full = grow(s.full, rw)
	s.orig, s.weight = grow(s.orig, k), grow(s.weight, k)
	s.mask = grow(s.mask, k*rw)
	s.excluded, s.used = grow(s.excluded, k), grow(s.used, k)
	if cap(s.elemSets) < rm {
		s.elemSets = make([][]int32, rm)
	}
	s.elemSets = s.elemSets[:rm]
	s.best, s.bestSet, s.cur, s.nodes = math.MaxInt64, s.bestSet[:0], s.cur[:0], 0
	for e := 0; e < rm; e++ {
		s.full[e/64] |= 1 << uint(e%64)
	}
	// elemSets share one backing array: count, then fill.
	counts := grow(s.pop, rm)
	for _, i := range s.sets {
		eachBit(mask(i), func(e int) { counts[s.idx[e]]++ }) // dead elements were cleared from the masks
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	s.elemBuf = grow(s.elemBuf, total)[:0]
	for r := 0; r < rm; r++ {
		s.elemSets[r] = s.elemBuf[len(s.elemBuf) : len(s.elemBuf) : len(s.elemBuf)+counts[r]]
		s.elemBuf = s.elemBuf[:len(s.elemBuf)+counts[r]]
	}
	for k, i := range s.sets {
		s.orig[k], s.weight[k] = int(i), weights[i]
		eachBit(mask(i), func(e int) {
			r := s.idx[e]
			s.mask[k*rw+r/64] |= 1 << uint(r%64)
			s.elemSets[r] = append(s.elemSets[r], int32(k))
		})
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *coverSolver) setMask(i int32) []uint64 { return s.mask[int(i)*s.w : int(i)*s.w+s.w] }

// pushMask returns a zero mask on the mask stack (popMasks releases it).
func (s *coverSolver) pushMask() int {
	at := len(s.masks)
	for k := 0; k < s.w; k++ {
		s.masks = append(s.masks, 0)
	}
	return at
}

func (s *coverSolver) maskAt(at int) []uint64 { return s.masks[at : at+s.w] }

// gain is how many uncovered elements set i covers.
func (s *coverSolver) gain(i int32, covered []uint64) int {
	n := 0
	for k, x := range s.setMask(i) {
		n += bits.OnesCount64(x &^ covered[k])
	}
	return n
}

// greedy records the greedy cover (cheapest weight per newly covered
// element, redundant sets removed) as the first best.
func (s *coverSolver) greedy() {
	at := s.pushMask()
	u := s.pushMask()
	chosen := s.bestSet[:0]
	for !equalMask(s.maskAt(at), s.full) {
		covered := s.maskAt(at)
		bi, bg := int32(-1), 0
		for i := int32(0); int(i) < s.n; i++ {
			g := s.gain(i, covered)
			if g == 0 {
				continue
			}
			// w_i/g_i < w_b/g_b, without division.
			if bi < 0 || s.weight[i]*int64(bg) < s.weight[bi]*int64(g) {
				bi, bg = i, g
			}
		}
		chosen = append(chosen, bi)
		orMask(covered, s.setMask(bi))
	}
	// Drop sets the others make redundant, last chosen first.
	for k := len(chosen) - 1; k >= 0; k-- {
		um := s.maskAt(u)
		clear(um)
		for j, x := range chosen {
			if j != k {
				orMask(um, s.setMask(x))
			}
		}
		if equalMask(um, s.full) {
			chosen = append(chosen[:k], chosen[k+1:]...)
		}
	}
	var total int64
	for _, x := range chosen {
		total += s.weight[x]
	}
	s.best, s.bestSet = total, chosen
	s.masks = s.masks[:at]
}

// branch explores the covers that extend s.cur (weight cost, covering the
// mask at covered on the mask stack) without the excluded sets.
func (s *coverSolver) branch(covered int, cost int64) {
	s.nodes++
	cov := s.maskAt(covered)
	if equalMask(cov, s.full) {
		if cost < s.best {
			s.best, s.bestSet = cost, append(s.bestSet[:0], s.cur...)
		}
		return
	}
	if s.nodes >= MaxCoverNodes {
		return
	}
	lb, feasible := s.bound(cov)
	if !feasible || cost+lb >= s.best {
		return
	}
	// Branch on the uncovered element with the fewest candidates.
	be, bc := -1, 0
	for e := 0; e < s.m; e++ {
		if cov[e/64]&(1<<uint(e%64)) != 0 {
			continue
		}
		c := 0
		for _, i := range s.elemSets[e] {
			if !s.excluded[i] {
				c++
			}
		}
		if be < 0 || c < bc {
			be, bc = e, c
		}
	}
	// This node's candidates live on the candidate stack at base.
	base := len(s.cands)
	for _, i := range s.elemSets[be] {
		if !s.excluded[i] {
			s.cands = append(s.cands, i)
			s.gains = append(s.gains, s.gain(i, cov))
		}
	}
	top := len(s.cands)
	// Most promising first: weight per newly covered element.
	sort.Sort(byRatio{s.cands[base:top], s.gains[base:top], s.weight})
	next := s.pushMask()
	for k := base; k < top; k++ {
		i := s.cands[k]
		nm := s.maskAt(next)
		copy(nm, s.maskAt(covered))
		orMask(nm, s.setMask(i))
		s.cur = append(s.cur, i)
		s.branch(next, cost+s.weight[i])
		s.cur = s.cur[:len(s.cur)-1]
		// The next branches are the covers without i.
		s.excluded[i] = true
	}
	for k := base; k < top; k++ {
		s.excluded[s.cands[k]] = false
	}
	s.cands, s.gains = s.cands[:base], s.gains[:base]
	s.masks = s.masks[:next]
}

// bound returns a lower bound on the weight still needed to cover the
// uncovered elements without the excluded sets, rounded up; false if some
// element can no longer be covered.
func (s *coverSolver) bound(covered []uint64) (int64, bool) {
	var ratio float64
	var packing int64
	clear(s.used)
	for e := 0; e < s.m; e++ {
		if covered[e/64]&(1<<uint(e%64)) != 0 {
			continue
		}
		minRatio, minW := math.Inf(1), int64(-1)
		free := true
		for _, i := range s.elemSets[e] {
			if s.excluded[i] {
				continue
			}
			if r := float64(s.weight[i]) / float64(s.gain(i, covered)); r < minRatio {
				minRatio = r
			}
			if minW < 0 || s.weight[i] < minW {
				minW = s.weight[i]
			}
			if s.used[i] {
				free = false
			}
		}
		if minW < 0 {
			return 0, false
		}
		ratio += minRatio
		// Elements whose candidate sets are pairwise disjoint each need
		// a set of their own.
		if free {
			packing += minW
			for _, i := range s.elemSets[e] {
				s.used[i] = true
			}
		}
	}
	lb := int64(math.Ceil(ratio - 1e-6*math.Max(1, ratio)))
	return max(lb, packing), true
}

type byRatio struct {
	sets   []int32
	gains  []int
	weight []int64
}

func (b byRatio) Len() int { return len(b.sets) }
func (b byRatio) Less(i, j int) bool {
	l, r := b.weight[b.sets[i]]*int64(b.gains[j]), b.weight[b.sets[j]]*int64(b.gains[i])
	if l != r {
		return l < r
	}
	return b.sets[i] < b.sets[j]
}
func (b byRatio) Swap(i, j int) {
	b.sets[i], b.sets[j] = b.sets[j], b.sets[i]
	b.gains[i], b.gains[j] = b.gains[j], b.gains[i]
}

func isZero(a []uint64) bool {
	for _, x := range a {
		if x != 0 {
			return false
		}
	}
	return true
}

func orMask(dst, src []uint64) {
	for i := range dst {
		dst[i] |= src[i]
	}
}

func popMask(a []uint64) int {
	n := 0
	for _, x := range a {
		n += bits.OnesCount64(x)
	}
	return n
}

// subsetMask reports whether a ⊆ b.
func subsetMask(a, b []uint64) bool {
	for i := range a {
		if a[i]&^b[i] != 0 {
			return false
		}
	}
	return true
}

func equalMask(a, b []uint64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// eachBit calls fn with the index of every set bit of a mask.
func eachBit(mask []uint64, fn func(int)) {
	for w, x := range mask {
		for x != 0 {
			fn(w*64 + bits.TrailingZeros64(x))
			x &= x - 1
		}
	}
}
