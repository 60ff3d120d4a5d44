package licensing

import (
	"sort"
	"time"

	"allot"
	"allot/catalog"
	"allot/rules"
)

// Engine holds one tenant's licensing state. See the package comment.
type Engine struct {
	cat      *catalog.Catalog
	settings Settings
	clock    time.Time // the latest time seen; time never goes backwards

	users map[string]*user // by id
	all   []*user          // every user, in a deterministic order (user.idx)
	byUPN map[string]*user // by UPNKey(userPrincipalName)
	// deferred: the users of all[upnsFrom:] are not in byUPN yet
	// (DeferUPNs, IndexUPNs).
	deferred bool
	upnsFrom int
	// cursor is where loadedUser looks first in all.
	cursor int
	groups map[string]*group
	pools  map[string]*pool // general pools, by skuId
	// allotments by id; allotted sums the allotted units per skuId.
	allotments map[string]*allotment
	allotted   map[string]int

	plan    *planRules
	dyn     *rules.Index // rules of dynamic groups with processing On, by group id
	delta   Delta
	spare   Delta  // maps and slices given back by Recycle, empty
	why     []byte // scratch for audit reasons
	pending pendingWork
	w       worker // reconciles for commands; Recompute adds more
	dirty   []*license
	// bulk is set during Recompute: license changes are summarised in one
	// audit entry instead of one entry each, and pools and group error
	// counts are rebuilt from the records after the users are done.
	bulk bool
	// allNew: an import loaded the empty engine since the last TakeDelta
	// (importEmpty), so every user and membership it holds is new to the
	// delta, which records in Users and Members only what changed after
	// (TakeDelta adds the rest; TakeBulkDelta may leave it implied).
	allNew bool
}

// scratch holds buffers reused by the reconciliation, one set per worker,
// so that the hot path does not allocate.
type scratch struct {
	users  []*user // settle: the pending users, by id
	pools  []*pool // settle: the pools to fill, by key
	srcs   []srcEntry
	fresh  []*license // reclaim: new records of the user
	groups []*group
	states []SourceState
	rows   [][]SourceState
	counts []uint16 // per interned plan: number of active sources enabling it
	dirty  []int32  // plans whose count is non-zero
	// block: sources in precedence order, and the accepted ones
	order    []int32
	accepted []int32
	parts    []exclPart
	// allOrNone: the sources block saw last include one from an
	// all-or-none group (else no license of the user is bundled).
	allOrNone bool
}

// user is the engine's record of a User. The User it points to is never
// changed in place (an update points to a new one), so a clone shares it.
type user struct {
	*User
	idx      int      // position in Engine.all
	groups   []*group // groups the user is a direct member of
	direct   []LicenseSource
	licenses []*license // sorted by SKU id
}

// group is the engine's record of a Group.
type group struct {
	Group
	members      map[*user]struct{}
	memberGroups map[*group]struct{}
	parents      map[*group]struct{}
	licenses     []LicenseSource // sorted by SKU id
	// errors counts the member sources of this group in Error
	// (hasMembersWithLicenseErrors), in all and by error code.
	errors errorTally
}

// errorTally counts sources in Error: in all (n) and by error code
// (byCode, indexed by errorSlot).
type errorTally struct {
	n      int
	byCode [len(errorCodes) + 1]int32
}

// errorCodes are the error codes a tally counts apart; any other code is
// counted in the last slot, which no code's count reads.
var errorCodes = [...]SourceErrorCode{ErrCountViolation, ErrMutuallyExclusive, ErrDependency, ErrProhibitedInUsageLoc, ErrUniqueness, ErrOther}

// errorSlot is code's index in errorTally.byCode.
func errorSlot(code SourceErrorCode) int {
	for i, c := range errorCodes {
		if c == code {
			return i
		}
	}
	return len(errorCodes)
}

func (t *errorTally) add(code SourceErrorCode, delta int) {
	t.n += delta
	t.byCode[errorSlot(code)] += int32(delta)
}

func (t *errorTally) merge(u *errorTally) {
	t.n += u.n
	for i, c := range u.byCode {
		t.byCode[i] += c
	}
}

// license is the engine's record of one (user, SKU).
type license struct {
	LicenseState // its ids are its user's and its pool's (userID, skuID, allotmentID)
	user         *user
	pool         *pool
	// waitIdx is the license's index in pool.waiting, -1 when not
	// waiting. (An int32 beside the flags below: the record is 8 bytes
	// shorter, ~22 MB at a million users' 2.8 million records.)
	waitIdx int32
	// eligible is derived in the claim phase for the state phase: whether
	// a source of the license can be used whatever the seats (not blocked:
	// usage location, mutual exclusion), so that the license claims a seat.
	eligible bool
	// bundled is derived in the claim phase: every usable source of the
	// license comes from an all-or-none group with other products for the
	// user, so a seat is only taken together with theirs (see bundle.go).
	bundled bool
	dirty   bool // listed in Engine.dirty (changed since the last TakeDelta)
}

// pool is a set of seats with its own consumption and waiting room: a
// SKU's general pool (the units not allotted), or one allotment.
type pool struct {
	sku *catalog.SKU
	// key orders a user's licenses: the skuId for the general pool,
	// "skuId/allotmentId" for an allotment.
	key      string
	allot    *allotment // nil for the general pool
	units    Units      // the SKU's units (general pool only)
	consumed int
	waiting  waitHeap
	e        *Engine
	// ruled: a plan of the SKU is the subject of a dependency or exclusion
	// rule, so users with this SKU need the rule checks.
	ruled bool
	// relevant lists the SKU's plans (interned) that any rule reads.
	relevant []relPlan
}

// capacity is the number of seats the pool's holders may keep: an
// allotment's allotted units, or the SKU's units (in every lifecycle state,
// Units.Total) not allotted.
func (p *pool) capacity() int {
	if p.allot != nil {
		return p.allot.AllottedUnits
	}
	return p.units.Total() - p.e.allotted[p.sku.ID]
}

// assignable is the number of the pool's seats new assignments may take:
// the SKU's enabled and warning units not allotted; an allotment's units
// while the SKU's assignable units cover all its allotments (allotments are
// carved from the best units first), none otherwise.
func (p *pool) assignable() int {
	if p.allot != nil {
		if sp := p.e.pools[p.sku.ID]; sp == nil || sp.units.Assignable() < p.e.allotted[p.sku.ID] {
			return 0
		}
		return p.allot.AllottedUnits
	}
	return min(p.units.Assignable()-p.e.allotted[p.sku.ID], p.capacity())
}

// free is the number of seats available for new assignments (negative when
// holders keep more seats than are assignable).
func (p *pool) free() int { return p.assignable() - p.consumed }

// New returns an empty engine for a tenant.
func New(cat *catalog.Catalog, settings Settings) *Engine {
	e := &Engine{
		cat:        cat,
		settings:   settings,
		users:      make(map[string]*user),
		byUPN:      make(map[string]*user),
		groups:     make(map[string]*group),
		pools:      make(map[string]*pool),
		allotments: make(map[string]*allotment),
		allotted:   make(map[string]int),
	}
	e.plan = compilePlanRules(cat)
	e.dyn = rules.NewIndex()
	e.w.e = e
	e.pending.init()
	return e
}

// Catalog returns the catalog the engine uses.
func (e *Engine) Catalog() *catalog.Catalog { return e.cat }

// Settings returns the tenant settings.
func (e *Engine) Settings() Settings { return e.settings }

// Clock is the time of the engine's latest command. Every command that
// changes the engine advances it (tick) before its first change, so an
// unchanged clock means a command changed nothing.
func (e *Engine) Clock() time.Time { return e.clock }

// tick advances the engine clock for a new command and returns the time the
// command runs at: t truncated to microseconds (what the stores keep), and
// always later than every earlier command, so that claims made later are
// never served before claims made earlier and ties only occur within one
// command.
func (e *Engine) tick(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Microsecond)
	if !t.After(e.clock) {
		t = e.clock.Add(time.Microsecond)
	}
	e.clock = t
	return t
}

// ensurePool returns the pool of a SKU, creating it with zero units.
func (e *Engine) ensurePool(s *catalog.SKU) *pool {
	if p, ok := e.pools[s.ID]; ok {
		return p
	}
	p := &pool{sku: s, key: s.ID, e: e, units: Units{Status: "Enabled"}, ruled: e.plan.ruledSKU(s), relevant: e.plan.relevantPlans(s)}
	e.pools[s.ID] = p
	return p
}

// licenseOf returns the user's license record for a pool, or nil.
func (u *user) licenseOf(p *pool) *license {
	i := sort.Search(len(u.licenses), func(i int) bool { return u.licenses[i].pool.key >= p.key })
	if i < len(u.licenses) && u.licenses[i].pool == p {
		return u.licenses[i]
	}
	return nil
}

func (u *user) addLicense(l *license) {
	i := sort.Search(len(u.licenses), func(i int) bool { return u.licenses[i].pool.key >= l.pool.key })
	u.licenses = append(u.licenses, nil)
	copy(u.licenses[i+1:], u.licenses[i:])
	u.licenses[i] = l
}

// directFor finds the user's direct license of a SKU outside allotments.
func (u *user) directFor(skuID string) (int, bool) { return u.directIn(skuID, "") }

// directIn finds the user's direct license of a SKU through an allotment
// ("" for none).
func (u *user) directIn(skuID, allotmentID string) (int, bool) {
	for i := range u.direct {
		if u.direct[i].SKUID == skuID && u.direct[i].AllotmentID == allotmentID {
			return i, true
		}
	}
	return -1, false
}

// licenseFor finds the group's license of a SKU outside allotments.
func (g *group) licenseFor(skuID string) (int, bool) { return g.licenseIn(skuID, "") }

// licenseIn finds the group's license of a SKU through an allotment.
func (g *group) licenseIn(skuID, allotmentID string) (int, bool) {
	for i := range g.licenses {
		if g.licenses[i].SKUID == skuID && g.licenses[i].AllotmentID == allotmentID {
			return i, true
		}
	}
	return -1, false
}

func (u *user) inGroup(g *group) bool {
	_, ok := g.members[u]
	return ok
}

// effectiveGroups appends to dst the groups whose licenses the user inherits:
// the groups it is a direct member of, and with nested group licensing their
// ancestors. The result is sorted by id and has no duplicates.
func (e *Engine) effectiveGroups(u *user, dst []*group) []*group {
	dst = append(dst, u.groups...)
	if e.settings.NestedGroups {
		for i := 0; i < len(dst); i++ {
			for p := range dst[i].parents {
				if !containsGroup(dst, p) {
					dst = append(dst, p)
				}
			}
		}
	}
	sort.Slice(dst, func(i, j int) bool { return dst[i].ID < dst[j].ID })
	return dst
}

func containsGroup(gs []*group, g *group) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

// usageLocation is the location the engine licenses the user in.
func (e *Engine) usageLocation(u *user) string {
	if u.UsageLocation != "" {
		return u.UsageLocation
	}
	return e.settings.DefaultUsageLocation
}

// SetCatalog replaces the engine's catalog with c, which must contain every
// product the tenant has units of (a catalog extended with the tenant's
// custom products, see catalog.WithCustom). Plan rules are recompiled.
func (e *Engine) SetCatalog(c *catalog.Catalog) error {
	for id := range e.pools {
		if _, ok := c.SKU(id); !ok {
			return allot.Errorf(allot.EINVALID, "The new catalog lacks product %s, which the tenant has units of.", id)
		}
	}
	e.cat = c
	e.plan = compilePlanRules(c)
	for id, p := range e.pools {
		s, _ := c.SKU(id)
		p.sku, p.ruled, p.relevant = s, e.plan.ruledSKU(s), e.plan.relevantPlans(s)
	}
	for _, a := range e.allotments {
		g := e.pools[a.SKUID]
		a.pool.sku, a.pool.ruled, a.pool.relevant = g.sku, g.ruled, g.relevant
	}
	return nil
}

// userID is the record's user's id.
func (l *license) userID() string { return l.user.ID }

// skuID is the record's product's id.
func (l *license) skuID() string { return l.pool.sku.ID }

// allotmentID is the record's allotment's id ("" for the SKU's general
// pool).
func (l *license) allotmentID() string {
	if l.pool.allot == nil {
		return ""
	}
	return l.pool.allot.ID
}

// export is the record as a License: its state with the ids that name it
// (its user's, its product's and its allotment's strings, shared).
func (l *license) export() License {
	return License{UserID: l.userID(), SKUID: l.skuID(), AllotmentID: l.allotmentID(), LicenseState: l.LicenseState}
}
