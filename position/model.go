package position

import (
	"encoding/binary"
	"strings"

	"allot/catalog"
	"allot/prices"
	"allot/usage"
)

// seatLimitOverride, when positive, replaces every seat limit (tests).
var seatLimitOverride int

// planSet is a set of interned service plans.
type planSet []uint64

func (s planSet) has(i int32) bool { return s[i/64]&(1<<uint(i%64)) != 0 }
func (s planSet) add(i int32)      { s[i/64] |= 1 << uint(i%64) }
func (s planSet) or(o planSet) {
	for i := range s {
		s[i] |= o[i]
	}
}
func (s planSet) intersects(o planSet) bool {
	for i := range s {
		if s[i]&o[i] != 0 {
			return true
		}
	}
	return false
}
func (s planSet) clear() { clear(s) }

// model is what the position precomputes for a tenant: interned plans,
// the products involved with their plans and prices, and the requirements
// met so far (a requirement is interned once, whatever feature named it).
type model struct {
	cat    *catalog.Catalog
	words  int
	planIx map[string]int32 // servicePlanId → index
	plans  []*catalog.Plan
	// measurable: plans some feature of the feature map grants.
	measurable planSet
	ubiquitous planSet
	deps       map[int32][]int32 // plan → its prerequisites (any of)

	skus  []*skuInfo
	skuIx map[string]int32 // skuId → index
	// priced: the per-user products with a price, candidates of covers.
	priced  []int32
	hasList bool // the tenant has a price list (maybe empty)

	// Purchase constraints: limits are the seat limits of candidate
	// products (catalog.SeatLimit); withCaps chooses the covers' view: the
	// classes with capped products (class) or without (classX, the main
	// covers; see caps.go). gov: the tenant is in a government cloud.
	limits   []capLimit
	withCaps bool
	gov      bool

	reqs     []*requirement
	reqByKey map[string]int32
	// Cover classes: requirements met by the same priced products are one
	// element of the covers.
	classes   []*coverClass
	classByKy map[string]int32
	pricedIx  map[int32]int    // product → its bit in coverClass.bits
	byFeature map[string]int32 // feature name → requirement (-1: none)

	// Fixed requirements.
	reqLarge, reqArchive, reqHold, reqMailbox int32
	reportFed                                 map[string]bool
	reportsSeen                               bool

	memo      map[string]*memoEntry // keys too long for memoFixed
	memoFixed map[memoKey]*memoEntry
	shared    *sharedMemo // the rest problems' solutions, shared by the workers
	rkey      []byte
	forcedBuf []int32
	buf       []byte
	clsBuf    []int32
	local     []int32 // scratch of solve
	order     []int32
	solver    coverSolver
	small     smallCover
	masks     []uint64 // scratch of solve
	weights   []int64
}

type skuInfo struct {
	ix         int32
	sku        *catalog.SKU
	plans      planSet
	price      int64 // Units
	priced     bool
	perUser    bool
	measurable bool // has a measurable plan
	partList   []string
	named      string // name()'s, made on first use
	capped     int32  // its seat limit (model.limits); -1 none
	buyable    bool   // the tenant may buy it (prices.List.MayBuyProduct)
}

// capLimit is a seat limit among the cover candidates.
type capLimit struct {
	skus []int32
	max  int
}

// requirement is "one of these plans": a feature used, a mailbox fact, or
// a prerequisite.
type requirement struct {
	ix        int32
	label     string // feature id, plan name, or what it is for
	plans     planSet
	planNames []string
	cands     []int32 // priced per-user products with one of the plans
	class     int32   // its cover class; -1 when no priced product meets it
	candsX    []int32 // cands less the capped products
	classX    int32   // the cover class of candsX
	prereq    int32   // the requirement of its add-ons' prerequisites; -1 none
	preText   int32   // "prerequisite of …" in the worker's texts; -1 until made
	unheld    int32   // run.unheldFor's answer; -2 until asked
	minPrice  int64   // model.minPrice's; -1 until asked
	// metBy: the products (by index) whose plans meet it; nil until
	// model.meets needs it.
	metBy []uint64
	metN  int32 // the products metBy knows (model.skus grows)
}

// meets reports whether product s's plans meet requirement rq.
func (m *model) meets(rq *requirement, s int32) bool {
	if s >= rq.metN {
		rq.metBy, rq.metN = make([]uint64, (len(m.skus)+63)/64), int32(len(m.skus))
		for i, si := range m.skus {
			if si.plans.intersects(rq.plans) {
				rq.metBy[i/64] |= 1 << uint(i%64)
			}
		}
	}
	return rq.metBy[s/64]&(1<<uint(s%64)) != 0
}

// coverClass is the set of priced products that meet a requirement.
type coverClass struct {
	cands []int32  // product indexes
	bits  []uint64 // the same, by bit in model.priced order
}

func newModel(cat *catalog.Catalog, pl *prices.List, reports bool, shared *sharedMemo) *model {
	m := &model{cat: cat, planIx: map[string]int32{}, skuIx: map[string]int32{}, reqByKey: map[string]int32{},
		byFeature: map[string]int32{}, deps: map[int32][]int32{}, memo: map[string]*memoEntry{}, memoFixed: map[memoKey]*memoEntry{}, reportsSeen: reports,
		classByKy: map[string]int32{}, pricedIx: map[int32]int{}, shared: shared}
	for _, p := range cat.Plans() {
		m.planIx[p.ID] = int32(len(m.plans))
		m.plans = append(m.plans, p)
	}
	m.words = (len(m.plans) + 63) / 64
	m.measurable, m.ubiquitous = m.newSet(), m.newSet()
	for _, f := range usage.Features() {
		for _, p := range f.Plans {
			if i, ok := m.planIx[strings.ToLower(p.ID)]; ok {
				m.measurable.add(i)
			}
		}
	}
	users := 0
	for _, s := range cat.SKUs() {
		if !strings.EqualFold(s.AppliesTo, "Company") {
			users++
		}
	}
	for i, p := range m.plans {
		n := len(cat.SKUsWithPlan(p.ID))
		if p.Name == "EXCHANGE_S_FOUNDATION" || p.Name == "EXCHANGE_S_FOUNDATION_GOV" || (users > 20 && n*4 > users) {
			m.ubiquitous.add(int32(i))
		}
	}
	for _, d := range cat.Rules().Dependencies {
		pi, ok := m.planIx[d.Plan]
		if !ok {
			continue
		}
		for _, r := range d.RequiresAnyOf {
			if ri, ok := m.planIx[r]; ok {
				m.deps[pi] = append(m.deps[pi], ri)
			}
		}
	}
	if pl != nil {
		m.hasList = true
		m.gov = pl.TenantKind == catalog.AudienceGovernment
		limitIx := map[int]int{} // catalog limit → model.limits
		for _, p := range pl.Prices {
			s, ok := cat.SKU(p.SKUID)
			if !ok {
				continue
			}
			si := m.sku(s)
			si.price, si.priced = prices.ToUnits(p.MonthlyUnitPrice), true
			si.buyable = pl.MayBuyProduct(cat, s)
			if si.perUser && si.buyable {
				m.pricedIx[si.ix] = len(m.priced)
				m.priced = append(m.priced, si.ix)
				if l, ok := cat.SeatLimitOf(s.ID); ok {
					k := -1
					for j, cl := range cat.SeatLimits() {
						if cl.SKUs[0] == l.SKUs[0] {
							k = j
						}
					}
					x, seen := limitIx[k]
					if !seen {
						x = len(m.limits)
						limitIx[k] = x
						m.limits = append(m.limits, capLimit{max: l.MaxSeats})
						if seatLimitOverride > 0 {
							m.limits[x].max = seatLimitOverride
						}
					}
					m.limits[x].skus = append(m.limits[x].skus, si.ix)
					si.capped = int32(x)
				}
			}
		}
	}
	// Every other product, in catalog order: a product has the same index
	// in every worker (priced ones first, in price-list order), so that
	// workers can share covers.
	for _, s := range cat.SKUs() {
		m.sku(s)
	}
	m.reportFed = map[string]bool{}
	for _, f := range []string{"exchangeMailbox", "exchangeArchive", "litigationHold", "teams", "teamsChat", "teamsMeeting",
		"teamsCalls", "officeDesktopApps", "officeWebApps", "officeMobileApps", "oneDriveFiles", "sharePointSites",
		"vivaEngage", "skypeForBusiness"} {
		m.reportFed[f] = true
	}
	// Every curated feature first, in map order: a requirement several
	// features share is named after the first (the same in every worker).
	for _, f := range usage.Features() {
		m.featureReq(f.ID, nil)
	}
	m.reqLarge = m.featureReq("exchangeLargeMailbox", nil)
	m.reqArchive = m.featureReq("exchangeArchive", nil)
	m.reqHold = m.featureReq("litigationHold", nil)
	m.reqMailbox = m.featureReq("exchangeMailbox", nil)
	return m
}

func (m *model) newSet() planSet { return make(planSet, m.words) }

// sku returns a product's info, interning it.
func (m *model) sku(s *catalog.SKU) *skuInfo {
	if i, ok := m.skuIx[s.ID]; ok {
		return m.skus[i]
	}
	si := &skuInfo{ix: int32(len(m.skus)), sku: s, plans: m.newSet(), perUser: !strings.EqualFold(s.AppliesTo, "Company"), capped: -1}
	for _, p := range s.Plans {
		if i, ok := m.planIx[p.ID]; ok {
			si.plans.add(i)
			if m.measurable.has(i) {
				si.measurable = true
			}
		}
	}
	m.skuIx[s.ID] = si.ix
	m.skus = append(m.skus, si)
	return si
}

// skuByID interns a product by id; nil if the catalog lacks it.
func (m *model) skuByID(id string) *skuInfo {
	if i, ok := m.skuIx[id]; ok {
		return m.skus[i]
	}
	s, ok := m.cat.SKU(id)
	if !ok {
		return nil
	}
	return m.sku(s)
}

// featureReq returns the requirement of a feature (by feature-map id or,
// for events naming a plan, the plan's name) with the plan ids given (nil:
// the feature map's); -1 when no plan remains (only ubiquitous or unknown
// plans).
func (m *model) featureReq(name string, planIDs []string) int32 {
	if r, ok := m.byFeature[name]; ok {
		return r
	}
	if planIDs == nil {
		for _, f := range usage.Features() {
			if f.ID == name {
				for _, p := range f.Plans {
					planIDs = append(planIDs, strings.ToLower(p.ID))
				}
			}
		}
	}
	set := m.newSet()
	for _, id := range planIDs {
		if i, ok := m.planIx[id]; ok && !m.ubiquitous.has(i) {
			set.add(i)
		}
	}
	r := m.intern(name, set, 0)
	m.byFeature[name] = r
	return r
}

// intern returns the requirement with exactly these plans, creating it
// (with its prerequisite requirement) under label; -1 for no plan.
func (m *model) intern(label string, set planSet, depth int) int32 {
	key := m.setKey(set)
	if key == "" {
		return -1
	}
	if r, ok := m.reqByKey[key]; ok {
		return r
	}
	r := &requirement{ix: int32(len(m.reqs)), label: label, plans: set, prereq: -1, preText: -1, unheld: -2, minPrice: -1}
	for i := range m.plans {
		// The plans named are the tenant's cloud's: no _GOV or _DOD plan
		// for a commercial tenant.
		if set.has(int32(i)) && (m.gov || m.cat.PlanAudience(m.plans[i].Name) != catalog.AudienceGovernment) {
			r.planNames = append(r.planNames, m.plans[i].Name)
		}
	}
	for _, s := range m.priced {
		if m.skus[s].plans.intersects(set) {
			r.cands = append(r.cands, s)
			if m.skus[s].capped < 0 {
				r.candsX = append(r.candsX, s)
			}
		}
	}
	r.class = m.classOf(r.cands)
	r.classX = r.class
	if len(r.candsX) != len(r.cands) {
		r.classX = m.classOf(r.candsX)
	}
	m.reqs = append(m.reqs, r)
	m.reqByKey[key] = r.ix
	// Prerequisites: if the requirement has add-on plans, whichever plan
	// meets it must come with a prerequisite — unless a plan without a
	// dependency meets it.
	pre := m.newSet()
	addOns := false
	for i := range m.plans {
		pi := int32(i)
		if !set.has(pi) {
			continue
		}
		if ds, ok := m.deps[pi]; ok {
			addOns = true
			for _, d := range ds {
				pre.add(d)
			}
		} else {
			pre.add(pi)
		}
	}
	if addOns && depth < 3 {
		r.prereq = m.intern("prerequisite of "+label, pre, depth+1)
		if r.prereq == r.ix {
			r.prereq = -1
		}
	}
	return r.ix
}

func (m *model) setKey(set planSet) string {
	m.buf = m.buf[:0]
	nonEmpty := false
	for _, w := range set {
		m.buf = binary.LittleEndian.AppendUint64(m.buf, w)
		nonEmpty = nonEmpty || w != 0
	}
	if !nonEmpty {
		return ""
	}
	return string(m.buf)
}

// classOf returns the cover class of a set of candidate products; -1 for
// none.
func (m *model) classOf(cands []int32) int32 {
	if len(cands) == 0 {
		return -1
	}
	bits := make([]uint64, (len(m.priced)+63)/64)
	for _, s := range cands {
		i := m.pricedIx[s]
		bits[i/64] |= 1 << uint(i%64)
	}
	m.buf = m.buf[:0]
	for _, w := range bits {
		m.buf = binary.LittleEndian.AppendUint64(m.buf, w)
	}
	if c, ok := m.classByKy[string(m.buf)]; ok {
		return c
	}
	c := int32(len(m.classes))
	m.classes = append(m.classes, &coverClass{cands: cands, bits: bits})
	m.classByKy[string(m.buf)] = c
	return c
}

// release drops what only the computation needed (memos, indexes,
// scratch); a position keeps its models for the products and the
// requirements' plans that its findings name.
func (m *model) release() {
	m.memo, m.memoFixed, m.shared, m.classByKy, m.reqByKey, m.byFeature, m.planIx = nil, nil, nil, nil, nil, nil, nil
	m.solver, m.small, m.buf, m.rkey, m.clsBuf, m.forcedBuf, m.local, m.order, m.masks, m.weights = coverSolver{}, smallCover{}, nil, nil, nil, nil, nil, nil, nil, nil
}
