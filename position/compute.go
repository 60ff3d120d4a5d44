package position

import (
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"allot/licensing"
	"allot/prices"
	"allot/usage"
)

// run is one worker of a computation: the chunks of users it takes, with
// its own model (memo, interned requirements) and findings; workers share
// only the sharedMemo.
type run struct {
	in         Input
	m          *model
	part       *part
	asOf       usage.Day
	window     int
	usageKnown bool
	pools      []licensing.PoolInfo
	genWaiting map[int32]int // users waiting in the general pool, by product (skuRows)
	free       map[int32]int // generalFree's, made on first use
	featCache  [128]featInfo
	granted    map[usage.Day]int32 // grantedText
	feats      []usage.FeatureUse  // the current user's (readUsage)
	acts       []usage.Activation
	skuCache   [64]struct {
		id string
		si *skuInfo
	}
	empty    planSet
	idleText [2]string
	// leaveAttr is the tenant's leave attribute (lower case; "" none).
	leaveAttr string
	leaveName string // as the settings spell it

	// Per product (by skuInfo.ix).
	used, required, recent []int
	reqWaiting, reqUnheld  []int        // required by users waiting for it / holding nothing that meets a need
	cats                   [][nCats]int // assigned seats by category (count)
	reqAt, waitAt          []int32      // the user (seq) last counted
	unheldAt               []int32
	seq                    int32

	// coverOnly: the run re-analyses users for their cover findings only
	// (caps.go): no counts, no other findings.
	coverOnly bool
	inCover   bool // within needsAndCover
	ord       int  // the current user's index in directory order
	lastAdd   struct {
		kind int
		at   int32
		ok   bool
	} // the finding needsAndCover added last
	caps     []capCand // caps.go
	capBars  []int64   // capBar's, per limit; nil until every limit has max candidates
	capPrune int       // pruneCaps when caps grows to this
	capReqs  []int32
	capHeld  []int    // seats of each limit's products held by users not candidates, no finding removing them
	gate     *capGate // shared by the workers (caps.go); nil without limits
	idAllot  string   // the allotment of the seat a finding being added is about (its id)

	cur       userCtx
	reqBuf    []int32
	idBuf     []int32
	kbuf      []byte
	heldBuf   []int32
	missBuf   []need
	evBuf     []erec
	fixes     map[string]fixOut
	overFixes map[overKey]fixOut // cachedFix's overAssigned fixes, when their key fits
	fixByKey  map[textKey]int32
	textByKey map[textKey]int32
	savings   []int64 // per kind, in prices.Unit
	extra     int64
	unpriced  map[int32]int // requirement → users
	underBy   map[int32]int // requirement → users lacking it
	licensed  int
	active    int
	users     int
}

// newRun makes a worker expecting about users users (to size its memos).
func newRun(in Input, pools []licensing.PoolInfo, reports bool, shared *sharedMemo, users int) *run {
	r := &run{in: in, asOf: in.AsOf, window: in.WindowDays, pools: pools,
		usageKnown: in.Usage != nil && in.Usage.Users() > 0,
		unpriced:   map[int32]int{}, underBy: map[int32]int{}, fixes: map[string]fixOut{}, overFixes: map[overKey]fixOut{}, granted: map[usage.Day]int32{}, fixByKey: map[textKey]int32{},
		textByKey: map[textKey]int32{}, savings: make([]int64, len(Kinds))}
	r.m = newModel(in.Engine.Catalog(), in.Prices, reports, shared)
	if in.Prices != nil {
		// Measured on synthetic tenants: a distinct cover for about one
		// user in ten, a new overAssigned fix for one in fifteen.
		r.m.memoFixed = make(map[memoKey]*memoEntry, users/10)
		r.overFixes = make(map[overKey]fixOut, users/15)
	}
	r.part = newPart(r.m)
	r.empty = r.m.newSet()
	r.idleText = [2]string{"no sign-in or feature use in the last " + itoa(r.window) + " days",
		"no sign-in or feature use in the last " + itoa(IdleLongDays) + " days"}
	r.part.asOf, r.part.window, r.part.idleLong = r.asOf, r.window, r.idleText[1]
	if a := in.Engine.Settings().LeaveAttribute; a != "" {
		r.leaveAttr, r.leaveName = strings.ToLower(a), a
	}
	for _, p := range pools {
		r.grow(r.m.sku(p.SKU).ix)
	}
	r.capHeld = make([]int, len(r.m.limits))
	r.capPrune = 1024
	for _, l := range r.m.limits {
		r.capPrune += 4 * l.max
	}
	return r
}

// parallelFrom is the number of users from which Compute splits the work
// between goroutines (one per CPU, at most maxWorkers).
var parallelFrom = 50_000

// minWorkers is raised by tests to split small tenants.
var minWorkers = 1

const maxWorkers = 8

// chunkUsers is the number of users (in directory order) a worker takes
// at a time. Workers take the next chunk when done with their last, so a
// worker slowed down (a busy machine, a share of costlier users) takes
// fewer; a chunk is short enough to even out the end of the computation.
var chunkUsers = 4096

// workerHook, when set (tests, benchmarks), is told each worker's wall
// time from start to finish and the chunks it took.
var workerHook func(busy []time.Duration, chunks []int)

// Compute returns the position of the tenant in.Engine. It reads the
// engine and the usage aggregates only (call it inside Tenant.Read) and
// is deterministic for the same state, input and AsOf. Large tenants are
// computed by several goroutines, each taking chunks of contiguous users
// in turn; the findings are put back in user order (one segment per
// chunk), and the result does not depend on how many goroutines or which
// took which chunk.
func Compute(in Input) *Position {
	if in.WindowDays <= 0 {
		in.WindowDays = DefaultWindowDays
	}
	e := in.Engine
	reports := in.Usage != nil && len(in.Usage.Reports()) > 0
	pools := e.Pools()
	n := e.UserCount()
	workers := 1
	if n >= parallelFrom {
		workers = min(max(runtime.GOMAXPROCS(0), minWorkers), maxWorkers)
	}
	shared := newSharedMemo(0, 0)
	if in.Prices != nil {
		// Measured on synthetic tenants: a rest problem for about one
		// user in eight, an overAssigned fix for one in fifteen.
		shared = newSharedMemo(n/8, n/15)
	}
	runs := make([]*run, workers)
	var gate *capGate
	segs := make([]segment, (n+chunkUsers-1)/chunkUsers)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	busy, taken := make([]time.Duration, workers), make([]int, workers)
	for w := range runs {
		runs[w] = newRun(in, pools, reports, shared, n/workers)
		if w == 0 && len(runs[0].m.limits) > 0 {
			gate = newCapGate(runs[0].m.limits)
		}
		runs[w].gate = gate
		wg.Add(1)
		go func(r *run, w int) {
			t0 := time.Now()
			defer func() { busy[w] = time.Since(t0); wg.Done() }()
			i := 0
			visit := func(u *licensing.User, ls licensing.UserLicenses) bool {
				if in.Scope == nil || in.Scope.User(u.ID) {
					r.users++
					r.user(u, ls)
				}
				r.ord++
				if i++; i&1023 == 0 {
					done.Add(1024)
				}
				return true
			}
			for {
				c := int(next.Add(1) - 1)
				if c >= len(segs) {
					return
				}
				taken[w]++
				lo, hi := c*chunkUsers, min((c+1)*chunkUsers, n)
				seg := &segs[c]
				seg.start(r.part)
				r.ord = lo
				e.ForEachUserLicensesIn(lo, hi, visit)
				seg.end()
			}
		}(runs[w], w)
	}
	users := n
	if in.Progress != nil {
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		tick := time.NewTicker(200 * time.Millisecond)
	wait:
		for {
			select {
			case <-finished:
				break wait
			case <-tick.C:
				in.Progress(min(int(done.Load()), users), users)
			}
		}
		tick.Stop()
		in.Progress(users, users)
	} else {
		wg.Wait()
	}
	if workerHook != nil {
		workerHook(busy, taken)
	}
	r := runs[0]
	for _, o := range runs[1:] {
		r.merge(o)
	}
	pos := &Position{AsOf: in.AsOf.String(), GeneratedAt: in.Now.UTC(), WindowDays: r.window, Scoped: in.Scope != nil,
		Unpriced: []UnpricedRequirement{}, Notes: []string{}}
	if in.Prices != nil {
		cur := in.Prices.Currency
		pos.Currency = &cur
	} else {
		pos.Notes = append(pos.Notes, "The tenant has no price list: the position counts seats only; PUT /allot/v1/prices to cost it and to get the cheapest fixes.")
	}
	if !r.usageKnown {
		pos.Notes = append(pos.Notes, "No usage data: required counts every seat that no finding removes, and the findings that need usage (who uses what their licenses lack or holds more than they use, idle and never-used seats, what shared mailboxes and service accounts need) are not computed.")
	}
	r.skuRows(pos)
	pos.compact = &findings{}
	// Users the seat limits give a capped product to: their new cover
	// findings after every user's.
	var capSeg segment
	applyCaps(pos, runs, &capSeg)
	if capSeg.p != nil {
		segs = append(segs, capSeg)
	}
	if in.Scope == nil {
		// Findings of no user, after every user's (a segment of their own).
		var tail segment
		tail.start(r.part)
		r.runningOut(pos)
		r.lapsing(pos)
		tail.end()
		segs = append(segs, tail)
	}
	pos.compact.segs = segs
	for _, o := range runs {
		pos.compact.n += o.part.count()
	}
	r.totals(pos, runs)
	for _, o := range runs {
		o.m.release()
		o.part.release()
	}
	return pos
}

// merge adds another worker's counts to r (products by id, requirements
// by label).
func (r *run) merge(o *run) {
	for i, si := range o.m.skus {
		if i >= len(o.used) {
			break
		}
		x := r.m.sku(si.sku)
		r.grow(x.ix)
		r.used[x.ix] += o.used[i]
		r.required[x.ix] += o.required[i]
		r.recent[x.ix] += o.recent[i]
		r.reqWaiting[x.ix] += o.reqWaiting[i]
		r.reqUnheld[x.ix] += o.reqUnheld[i]
		for k := range o.cats[i] {
			r.cats[x.ix][k] += o.cats[i][k]
		}
	}
	r.licensed += o.licensed
	r.active += o.active
	r.users += o.users
}

// grow makes the per-product counters hold product s.
func (r *run) grow(s int32) {
	for int(s) >= len(r.used) {
		r.used = append(r.used, 0)
		r.required = append(r.required, 0)
		r.recent = append(r.recent, 0)
		r.reqWaiting = append(r.reqWaiting, 0)
		r.reqUnheld = append(r.reqUnheld, 0)
		r.cats = append(r.cats, [nCats]int{})
		r.reqAt = append(r.reqAt, 0)
		r.waitAt = append(r.waitAt, 0)
		r.unheldAt = append(r.unheldAt, 0)
	}
}

// sharedMailbox: a shared mailbox needs a license over 50 GB, with an
// archive, on litigation hold, or when signed into directly; otherwise its
// seats are waste — when the mailbox facts are known.
func (r *run) sharedMailbox() {
	c := &r.cur
	if !r.usageKnown {
		return
	}
	r.requirements(true)
	if n := c.uu.SignIns.Days.Count(r.asOf, r.window); n > 0 {
		r.addNeed(r.m.reqMailbox, r.ev(SourceSignIn, "exchangeMailbox",
			"the shared mailbox was signed into directly on "+plural(n, "day", "days")+" in the window: it needs a license of its own (and sign-in should be blocked)",
			c.uu.SignIns.Last, n))
	}
	if len(c.needs) == 0 {
		if !c.uu.Mailbox.Known {
			return
		}
		mb := c.uu.Mailbox
		ev := r.ev(SourceMailbox, "", "shared mailbox of "+gib(mb.StorageUsedBytes)+", no archive, no litigation hold, no direct sign-in (report of "+mb.ReportDate.String()+")", time.Time{}, 0)
		for i := range c.seats {
			r.removeSeat(SharedMailbox, i, ev)
		}
		return
	}
	r.needsAndCover(SharedMailbox)
}

// skuRows builds the per-product rows.
func (r *run) skuRows(pos *Position) {
	m := r.m
	type fig struct {
		acc     Accounts
		waiting int
		status  string
	}
	figs := map[int32]*fig{}
	var order []int32
	get := func(s int32) *fig {
		f, ok := figs[s]
		if !ok {
			f = &fig{}
			figs[s] = f
			order = append(order, s)
		}
		return f
	}
	r.genWaiting = map[int32]int{}
	if r.in.Scope != nil {
		for _, a := range r.in.Scope.Allotments {
			if si := m.skuByID(a.SKUID); si != nil {
				f := get(si.ix)
				f.acc.Owned += a.AllottedUnits
				f.acc.Assigned += a.ConsumedUnits
				f.acc.AllottedUnused += max(a.AllottedUnits-a.ConsumedUnits, 0)
				f.waiting += a.Waiting
			}
		}
	} else {
		consumed := map[string]int{}
		for _, a := range r.in.Engine.Allotments() {
			consumed[a.SKUID] += a.ConsumedUnits
		}
		for _, p := range r.pools {
			si := m.sku(p.SKU)
			f := get(si.ix)
			f.acc = AccountsOf(p, consumed[p.SKU.ID])
			f.status = p.Units.Status
			f.waiting += p.Waiting
			r.genWaiting[si.ix] = p.Waiting
		}
		// Pool consumption counts allotment seats; waiting rooms are apart.
		for _, a := range r.in.Engine.Allotments() {
			if si := m.skuByID(a.SKUID); si != nil {
				get(si.ix).waiting += a.Waiting
			}
		}
	}
	for s := range r.required {
		if (r.required[s] > 0 || r.used[s] > 0 || r.reqWaiting[s] > 0 || r.reqUnheld[s] > 0) && r.in.Scope.sku(m.skus[s].sku.ID) {
			get(int32(s))
		}
	}
	var missing []string
	for _, s := range order {
		f, si := figs[s], m.skus[s]
		r.grow(s)
		row := SKU{SKUID: si.sku.ID, SKUPartNumber: si.sku.PartNumber, DisplayName: si.sku.DisplayName,
			Owned: f.acc.Owned, Assigned: f.acc.Assigned, Waiting: f.waiting, Required: r.required[s] + r.reqWaiting[s] + r.reqUnheld[s],
			Used: r.used[s], Measurable: si.measurable, Free: f.acc.Free, AllottedUnused: f.acc.AllottedUnused,
			InGrace: f.acc.InGrace, Suspended: f.acc.Suspended, Seats: seatUseOf(r.cats[s]),
			RequiredWaiting: r.reqWaiting[s], RequiredUnheld: r.reqUnheld[s]}
		row.CapabilityStatus = f.status
		if row.CapabilityStatus == "" {
			row.CapabilityStatus = "Enabled"
		}
		row.Surplus = max(row.Owned-row.Required, 0)
		row.Shortfall = max(row.Required-row.Owned, 0)
		if si.priced {
			p := si.price
			row.UnitPrice = money(p)
			row.MonthlyCost = money(int64(row.Owned) * p)
			row.Costs = &Costs{Owned: *row.MonthlyCost, Assigned: *money(int64(row.Assigned) * p), Required: *money(int64(row.Required) * p),
				Used: *money(int64(row.Used) * p), Surplus: *money(int64(row.Surplus) * p), Shortfall: *money(int64(row.Shortfall) * p)}
		} else if m.hasList {
			row.PriceMissing = true
			missing = append(missing, si.name())
		}
		pos.SKUs = append(pos.SKUs, row)
	}
	sort.Slice(pos.SKUs, func(i, j int) bool {
		a, b := pos.SKUs[i], pos.SKUs[j]
		if a.SKUPartNumber != b.SKUPartNumber {
			return a.SKUPartNumber < b.SKUPartNumber
		}
		return a.SKUID < b.SKUID
	})
	if pos.SKUs == nil {
		pos.SKUs = []SKU{}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		pos.Notes = append(pos.Notes, "The price list has no price for "+strings.Join(missing, ", ")+
			": their costs are not shown and they are kept as they are in the cheapest covers; their counts do not depend on prices.")
	}
}

// totals sums the rows and the workers' findings.
func (r *run) totals(pos *Position, runs []*run) {
	t := &pos.Totals
	t.FindingsByKind = map[string]int{}
	var savings []int64 = make([]int64, len(Kinds))
	var extra int64
	for _, o := range runs {
		for k := range Kinds {
			t.FindingsByKind[Kinds[k]] += o.part.byKind[k].n - o.part.dropped[k]
			savings[k] += o.savings[k]
		}
		extra += o.extra
	}
	t.CoverProblems = r.m.shared.problems()
	t.Users, t.LicensedUsers, t.ActiveUsers = r.users, r.licensed, r.active
	t.Findings = pos.compact.n
	var cost, assigned, required, surplus float64
	for _, s := range pos.SKUs {
		t.Owned += s.Owned
		t.Assigned += s.Assigned
		t.Required += s.Required
		t.Used += s.Used
		t.Waiting += s.Waiting
		if s.Costs != nil {
			cost += s.Costs.Owned
			assigned += s.Costs.Assigned
			required += s.Costs.Required
			surplus += s.Costs.Surplus
		}
	}
	if pos.Currency != nil {
		var all int64
		t.SavingsByKind = map[string]float64{}
		for k, v := range savings {
			all += v
			if v != 0 {
				t.SavingsByKind[Kinds[k]] = prices.FromUnits(v)
			}
		}
		t.MonthlyCost, t.AssignedCost, t.RequiredCost, t.SurplusCost = round(cost), round(assigned), round(required), round(surplus)
		t.MonthlySavings, t.AdditionalCost = money(all), money(extra)
	}
	// Requirements by label: workers intern them apart.
	under := map[string]*FeatureCount{}
	unpriced := map[string]*UnpricedRequirement{}
	for _, o := range runs {
		for q, n := range o.underBy {
			rq := o.m.reqs[q]
			if c, ok := under[rq.label]; ok {
				c.Users += n
			} else {
				under[rq.label] = &FeatureCount{Feature: rq.label, ServicePlans: rq.planNames, Users: n}
			}
		}
		for q, n := range o.unpriced {
			rq := o.m.reqs[q]
			if c, ok := unpriced[rq.label]; ok {
				c.Users += n
			} else {
				unpriced[rq.label] = &UnpricedRequirement{Requirement: rq.label, ServicePlans: rq.planNames, Users: n}
			}
		}
	}
	t.UnderLicensedBy = []FeatureCount{}
	for _, c := range under {
		t.UnderLicensedBy = append(t.UnderLicensedBy, *c)
	}
	sort.Slice(t.UnderLicensedBy, func(i, j int) bool {
		a, b := t.UnderLicensedBy[i], t.UnderLicensedBy[j]
		if a.Users != b.Users {
			return a.Users > b.Users
		}
		return a.Feature < b.Feature
	})
	for _, c := range unpriced {
		pos.Unpriced = append(pos.Unpriced, *c)
	}
	sort.Slice(pos.Unpriced, func(i, j int) bool { return pos.Unpriced[i].Requirement < pos.Unpriced[j].Requirement })
}

// round rounds a sum of Unit-exact amounts (float error) to Units.
func round(v float64) *float64 {
	x := float64(int64(v*10_000+copysign(0.5, v))) / 10_000
	return &x
}

func copysign(x, y float64) float64 {
	if y < 0 {
		return -x
	}
	return x
}
