package position

import (
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"allot/prices"
)

// Seat limits in the cheapest covers (catalog.SeatLimit: Microsoft 365
// Business Basic, Standard, Premium and Apps for business are sold up to
// 300 seats a tenant in all). A limit binds across users, so the covers are
// decided in two steps:
//
//  1. Every user's cover is computed without the capped products (the
//     model's classX view), and, for a user whose cover with them would cost
//     less, the saving and the capped products it uses are recorded
//     (capCand), with the cover finding the user got.
//  2. The candidates are taken by saving, largest first (then in directory
//     order), while every limit their cover uses has seats left: a limit's
//     seats are its maximum less the seats of its products held by users
//     who are not candidates and that no finding removes. The users taken
//     are analysed again with the capped products (coverOnly); their first
//     finding is dropped (tombstoned) and the new one added after every
//     user's. The others keep their cover without the capped products, the
//     next best. A note says how many users the limit left out.
//
// Everything but the cover findings (counts, other findings) is the same
// either way: required does not depend on covers.
//
// A limit already used up by the seats of users who are not candidates
// takes no candidate: once every limit is (capGate), a user holding no
// capped product is not solved with them — being a candidate or not, the
// user changes neither the seats held nor what step 2 takes, and the note
// is decided once a candidate of each limit was seen. Users holding a
// capped product are always solved (whether they are candidates decides
// whether their seats count).

// capCand is a user whose cover with capped products costs less.
type capCand struct {
	ord    int    // the user's index in directory order
	userID string // to analyse again
	saving int64
	skus   [maxCappedInCover]int32 // the capped products the cheaper cover uses (nskus)
	nskus  int8
	run    *run // the worker that analysed the user
	found  bool // the user got a cover finding (kind, at)
	kind   int
	at     int32
}

// capBar is the least saving a new candidate needs to be kept: the
// smallest, over the limits, of the saving of the worker's max-th best
// candidate using it (0 while a limit has fewer).
func (r *run) capBar() int64 {
	if r.capBars == nil {
		return 0
	}
	bar := int64(-1)
	for _, b := range r.capBars {
		if bar < 0 || b < bar {
			bar = b
		}
	}
	return max(bar, 0)
}

// capGate is what the workers of one computation share about the seat
// limits while they run: the seats held so far by users who are not
// candidates (capHeld's, summed over the workers; it only grows) and
// whether a candidate of the limit was seen. Once every limit is closed
// (held ≥ max: step 2 can take no candidate) and has a candidate (its note
// is given), solving another user who holds no capped product can change
// nothing in the position.
type capGate struct {
	held []atomic.Int64
	seen []atomic.Bool
	max  []int64
	shut atomic.Bool // every limit closed and seen (then it stays so)
}

// capGateOff disables the gate (tests compare with and without it);
// capSkips counts the users it spared a solve (tests check that it did).
var (
	capGateOff bool
	capSkips   atomic.Int64
)

func newCapGate(limits []capLimit) *capGate {
	g := &capGate{held: make([]atomic.Int64, len(limits)), seen: make([]atomic.Bool, len(limits)), max: make([]int64, len(limits))}
	for l, lim := range limits {
		g.max[l] = int64(lim.max)
	}
	return g
}

// closed reports whether every limit is used up and has a candidate.
func (g *capGate) closed() bool {
	if g == nil || capGateOff {
		return false
	}
	if g.shut.Load() {
		return true
	}
	for l := range g.max {
		if g.held[l].Load() < g.max[l] || !g.seen[l].Load() {
			return false
		}
	}
	g.shut.Store(true)
	return true
}

// holdsCapped reports whether the current user has a seat of a capped
// product (removed or not).
func (r *run) holdsCapped() bool {
	for i := range r.cur.seats {
		if r.cur.seats[i].si.capped >= 0 {
			return true
		}
	}
	return false
}

// maxCappedInCover bounds the capped products of one cover a candidate
// records (a cover has one: the capped products are alternatives).
const maxCappedInCover = 4

func (cd *capCand) capped() []int32 { return cd.skus[:cd.nskus] }

// better orders candidates: larger saving first, then directory order.
func (cd *capCand) better(o *capCand) bool {
	if cd.saving != o.saving {
		return cd.saving > o.saving
	}
	return cd.ord < o.ord
}

// pruneCaps keeps, of a worker's candidates, those among the best
// max seats of some limit they use: no other can be taken (a limit takes
// at most max users, best first). It runs when the list is long, so
// that a large tenant keeps a few thousand candidates, not one per user,
// and then sets the bar (capBar) below which users need not be solved.
func (r *run) pruneCaps() {
	m := r.m
	sort.Slice(r.caps, func(i, j int) bool { return r.caps[i].better(&r.caps[j]) })
	seen := make([]int, len(m.limits))
	bars := make([]int64, len(m.limits))
	kept := r.caps[:0]
	for _, cd := range r.caps {
		keep := false
		for _, s := range cd.capped() {
			l := m.skus[s].capped
			if seen[l] < m.limits[l].max {
				keep = true
				bars[l] = cd.saving
			}
			seen[l]++
		}
		if keep {
			kept = append(kept, cd)
		}
	}
	clear(r.caps[len(kept):])
	r.caps = kept
	full := true
	for l := range seen {
		full = full && seen[l] >= m.limits[l].max
	}
	if full {
		r.capBars = bars
	}
}

// capCandidate compares the user's cover without the capped products
// (heldCost, full) with the cover with them and records the user when the
// latter costs less. reqs are the requirements of the main cover.
func (r *run) capCandidate(ent *memoEntry, held []int32) {
	m, c := r.m, &r.cur
	full := &ent.x
	reqs := r.capReqs[:0]
	var lb int64 // a lower bound of the cover with capped products: its dearest requirement's cheapest product
	for _, n := range c.needs {
		rq := m.reqs[n.req]
		if !rq.plans.intersects(c.kept) && len(rq.cands) > 0 {
			reqs = append(reqs, n.req)
			lb = max(lb, m.minPrice(rq))
		}
	}
	r.capReqs = reqs
	// A user who cannot save more than the worst of the best candidates
	// this worker kept for every limit is not among the best of any: no
	// need to solve (the global best are at least as good).
	if full.cost-lb < r.capBar() {
		return
	}
	if r.gate.closed() && !r.holdsCapped() {
		capSkips.Add(1)
		return
	}
	m.withCaps = true
	with := m.cover(reqs, held)
	m.withCaps = false
	if with.cost >= full.cost {
		return
	}
	cd := capCand{ord: r.ord, userID: c.u.ID, saving: full.cost - with.cost, run: r}
	for _, s := range with.skus {
		if m.skus[s].capped >= 0 && int(cd.nskus) < len(cd.skus) {
			cd.skus[cd.nskus] = s
			cd.nskus++
		}
	}
	if cd.nskus == 0 {
		return
	}
	if r.gate != nil {
		for _, s := range cd.capped() {
			r.gate.seen[m.skus[s].capped].Store(true)
		}
	}
	c.capCand = true
	r.caps = append(r.caps, cd)
	if len(r.caps) >= r.capPrune {
		r.pruneCaps()
		r.capPrune = max(r.capPrune, 2*len(r.caps))
	}
}

// applyCaps is step 2 (see above), on the merged workers; seg receives the
// new findings.
func applyCaps(pos *Position, runs []*run, seg *segment) {
	r := runs[0]
	m := r.m
	if len(m.limits) == 0 {
		return
	}
	var cands []capCand
	held := make([]int, len(m.limits))
	for _, o := range runs {
		cands = append(cands, o.caps...)
		for l, n := range o.capHeld {
			held[l] += n
		}
	}
	if len(cands) == 0 {
		return
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].better(&cands[j]) })
	left := make([]int, len(m.limits))
	for l, lim := range m.limits {
		left[l] = max(lim.max-held[l], 0)
	}
	var taken []capCand
	out := make([]bool, len(m.limits)) // a candidate of the limit was left out
	need := make([]int, len(m.limits)) // seats of each limit a candidate's cover takes
	for _, cd := range cands {
		clear(need)
		for _, s := range cd.capped() {
			need[m.skus[s].capped]++
		}
		ok := true
		for l, n := range need {
			ok = ok && n <= left[l]
		}
		if !ok {
			for _, s := range cd.capped() {
				out[m.skus[s].capped] = true
			}
			continue
		}
		for _, s := range cd.capped() {
			left[m.skus[s].capped]--
		}
		taken = append(taken, cd)
	}
	slices.SortFunc(taken, func(a, b capCand) int { return a.ord - b.ord })
	seg.start(r.part)
	r.coverOnly, m.withCaps = true, true
	for _, cd := range taken {
		if cd.found {
			cd.run.tombstone(cd.kind, cd.at)
		}
		u, ok := r.in.Engine.User(cd.userID)
		ls, ok2 := r.in.Engine.UserLicensesOf(cd.userID)
		if ok && ok2 {
			r.user(&u, ls)
		}
	}
	r.coverOnly, m.withCaps = false, false
	seg.end()
	for l, left := range out {
		if !left {
			continue
		}
		var names []string
		for _, s := range m.limits[l].skus {
			names = append(names, m.skus[s].name())
		}
		of := names[0]
		if n := len(names); n > 1 {
			of = strings.Join(names[:n-1], ", ") + " and " + names[n-1] + " together"
		}
		pos.Notes = append(pos.Notes, "Microsoft sells at most "+itoa(m.limits[l].max)+" seats of "+of+
			" to a tenant: the cheapest covers give them to the users they save most on; the other users who would save with them get their next best cover.")
	}
}

// tombstone drops a finding of the run's part: it is no longer listed,
// counted or summed.
func (r *run) tombstone(kind int, at int32) {
	f := r.part.byKind[kind].at(at)
	if f.nev < 0 {
		return
	}
	f.nev = -1
	r.part.dropped[kind]++
	if d := r.part.fixes.at(f.fix).MonthlyDelta; d != nil {
		if *d < 0 {
			r.savings[kind] += prices.ToUnits(*d)
		} else {
			r.extra -= prices.ToUnits(*d)
		}
	}
}
