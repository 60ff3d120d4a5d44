package licensing

import (
	"fmt"
	"slices"
	"sort"

	"allot"
	"allot/audit"
	"allot/internal/blocks"
	"allot/internal/memtune"
)

// Loading rebuilds an engine from stored records without recording a delta
// or audit entries: load users and groups first, then members, licenses and
// units, then call Recompute. Load functions trust their input less than
// commands do (a store can hold anything): references to missing objects are
// errors.

// LoadSettings sets the tenant settings.
func (e *Engine) LoadSettings(s Settings) { e.settings = s }

// Reserve sizes the engine's maps for a load of about users users and
// groups groups, so that they are not rebuilt as they grow. A hint only.
func (e *Engine) Reserve(users, groups int) {
	if len(e.users) == 0 && users > 0 {
		e.users = make(map[string]*user, users)
		e.byUPN = make(map[string]*user, users)
		e.all = slices.Grow(e.all, users)
	}
	if len(e.groups) == 0 && groups > 0 {
		e.groups = make(map[string]*group, groups)
	}
}

// LoadUser adds a stored user.
func (e *Engine) LoadUser(in User) error {
	return e.LoadUserRecord(NewUserRecord(in))
}

// UserRecord is a stored user on its way into an engine: the engine's
// record and the user's properties in one allocation, so that a load can
// decode a user where the engine keeps it (NewUserRecord, then
// LoadUserRecord) instead of decoding it and copying it (LoadUser).
type UserRecord struct {
	u user
	v User
}

// DecodeUserRecord decodes a binary user body (DecodeUser) into a new
// UserRecord.
func DecodeUserRecord(b []byte) (*UserRecord, error) {
	r := &UserRecord{}
	err := decodeUserInto(b, &r.v)
	return r, err
}

// ID is the id of the user r holds.
func (r *UserRecord) ID() string { return r.v.ID }

// NewUserRecord returns a record of u to load (LoadUserRecord).
func NewUserRecord(u User) *UserRecord { return &UserRecord{v: u} }

// LoadUserRecord adds a stored user decoded into r, which the engine keeps
// (r must not be used again).
func (e *Engine) LoadUserRecord(r *UserRecord) error { return e.addUser(&r.u, &r.v) }

// addUser adds the user in as the engine's record u (both kept: in is
// never written, u is the engine's).
func (e *Engine) addUser(u *user, in *User) error {
	if in.ID == "" {
		return allot.Errorf(allot.EINVALID, "stored user without id")
	}
	if _, dup := e.users[in.ID]; dup {
		return allot.Errorf(allot.ECONFLICT, "user %s loaded twice", in.ID)
	}
	u.User, u.idx = in, len(e.all)
	e.users[in.ID] = u
	e.all = append(e.all, u)
	if !e.deferred {
		e.indexUPN(u)
	}
	return nil
}

// indexUPN adds a loaded user's name to the name index. Stored data may
// hold two users whose names are one key (an earlier version compared
// without NFC): the first keeps the name.
func (e *Engine) indexUPN(u *user) {
	if k := UPNKey(u.UserPrincipalName); e.byUPN[k] == nil {
		e.byUPN[k] = u
	}
}

// DeferUPNs makes the LoadUserRecord calls that follow leave the users'
// names out of the name index until IndexUPNs adds them: a load of a
// million users computes a million name keys and fills a million-entry
// map, and nothing needs the index before the load is done.
func (e *Engine) DeferUPNs() {
	if !e.deferred {
		e.deferred, e.upnsFrom = true, len(e.all)
	}
}

// IndexUPNs adds the names LoadUserRecord left out since DeferUPNs, in
// load order (the first user of a name keeps it, as without deferral),
// and ends the deferral. Once every user is loaded it may run on a
// goroutine of its own beside the two sides of a load (LoadMembers): it
// reads the users' properties and writes only the name index, which no
// Load method reads. It must have returned before anything else runs.
func (e *Engine) IndexUPNs() {
	if !e.deferred {
		return
	}
	for _, u := range e.all[e.upnsFrom:] {
		e.indexUPN(u)
	}
	e.deferred, e.upnsFrom = false, 0
}

// LoadGroup adds a stored group.
func (e *Engine) LoadGroup(in Group) error {
	if in.ID == "" {
		return allot.Errorf(allot.EINVALID, "stored group without id")
	}
	if in.AssignmentMode == "" {
		in.AssignmentMode = ModePerProduct
	}
	e.groups[in.ID] = &group{Group: in, members: make(map[*user]struct{}), memberGroups: make(map[*group]struct{}), parents: make(map[*group]struct{})}
	// Stored members of a dynamic group are what its rule matched; the
	// rule is indexed for the changes to come.
	if r, err := compileRule(&in); err == nil && r != nil {
		e.dyn.Set(in.ID, r)
	}
	return nil
}

// LoadMember adds a stored membership; memberID is a user or a group.
func (e *Engine) LoadMember(groupID, memberID string) error {
	g, ok := e.groups[groupID]
	if !ok {
		return allot.Errorf(allot.ENOTFOUND, "membership of missing group %s", groupID)
	}
	return e.loadMember(g, memberID)
}

// LoadMembers adds stored memberships of one group: LoadMember for each of
// memberIDs, with the group looked up once and its member set sized for
// them. bad is called with each member that is refused (all of them when
// the group is missing), with LoadMember's error.
//
// The Load methods are not safe for concurrent use, but for one pairing
// a load may use: once every unit, allotment, user and group is loaded,
// one goroutine may load the memberships and group licenses (LoadMember,
// LoadMembers, LoadGroupLicense) while another loads the direct licenses
// and license records (LoadDirectLicense, LoadLicense,
// LoadLicenseRecord). The two sides only read the engine's maps of users,
// groups, pools and allotments, and write apart: a group's members,
// member groups, parents and licenses and a user's groups on one side; a
// user's direct licenses and license records on the other. A third may
// index the users' names meanwhile (DeferUPNs, IndexUPNs).
func (e *Engine) LoadMembers(groupID string, memberIDs []string, bad func(memberID string, err error)) {
	g := e.memberGroup(groupID, memberIDs, bad)
	if g == nil {
		return
	}
	for _, m := range memberIDs {
		if err := e.loadMember(g, m); err != nil {
			bad(m, err)
		}
	}
}

// memberGroup returns the group whose memberships memberIDs are about to
// be loaded, its member set sized for them, or nil (every member refused
// with bad) when it is missing.
func (e *Engine) memberGroup(groupID string, memberIDs []string, bad func(memberID string, err error)) *group {
	g, ok := e.groups[groupID]
	if !ok {
		for _, m := range memberIDs {
			bad(m, allot.Errorf(allot.ENOTFOUND, "membership of missing group %s", groupID))
		}
		return nil
	}
	if len(g.members) == 0 && len(memberIDs) > 8 {
		g.members = make(map[*user]struct{}, len(memberIDs))
	}
	return g
}

func (e *Engine) loadMember(g *group, memberID string) error {
	return e.loadMemberAs(g, memberID, e.users[memberID])
}

// loadMemberAs is loadMember with the member's user (e.users[memberID]:
// nil when the member is not a user) looked up already.
func (e *Engine) loadMemberAs(g *group, memberID string, u *user) error {
	if u != nil {
		if !u.inGroup(g) {
			g.members[u] = struct{}{}
			u.groups = append(u.groups, g)
		}
		return nil
	}
	c, ok := e.groups[memberID]
	if !ok {
		return allot.Errorf(allot.ENOTFOUND, "member %s of group %s does not exist", memberID, g.ID)
	}
	if c == g || e.isAncestor(c, g) {
		return allot.Errorf(allot.EINVALID, "stored membership %s in %s makes a cycle", memberID, g.ID)
	}
	g.memberGroups[c] = struct{}{}
	c.parents[g] = struct{}{}
	return nil
}

// LoadUnits sets a SKU's units.
func (e *Engine) LoadUnits(skuID string, u Units) error {
	s, ok := e.cat.SKU(skuID)
	if !ok {
		return allot.Errorf(allot.ENOTFOUND, "units of unknown SKU %s", skuID)
	}
	e.ensurePool(s).units = u
	return nil
}

// LoadGroupLicense adds a stored group license.
func (e *Engine) LoadGroupLicense(groupID string, l LicenseSource) error {
	g, ok := e.groups[groupID]
	if !ok {
		return allot.Errorf(allot.ENOTFOUND, "license of missing group %s", groupID)
	}
	if e.sourcePool(&l) == nil {
		return allot.Errorf(allot.ENOTFOUND, "group %s has license %s (allotment %q) that the tenant has no units of", groupID, l.SKUID, l.AllotmentID)
	}
	if i, ok := g.licenseIn(l.SKUID, l.AllotmentID); ok {
		g.licenses[i] = l
	} else {
		g.licenses = append(g.licenses, l)
		sortSources(g.licenses)
	}
	return nil
}

// LoadDirectLicense adds a stored direct license.
func (e *Engine) LoadDirectLicense(userID string, l LicenseSource) error {
	u, ok := e.loadedUser(userID)
	if !ok {
		return allot.Errorf(allot.ENOTFOUND, "license of missing user %s", userID)
	}
	if e.sourcePool(&l) == nil {
		return allot.Errorf(allot.ENOTFOUND, "user %s has license %s (allotment %q) that the tenant has no units of", userID, l.SKUID, l.AllotmentID)
	}
	if i, ok := u.directIn(l.SKUID, l.AllotmentID); ok {
		u.direct[i] = l
	} else {
		u.direct = append(u.direct, l)
		sortSources(u.direct)
	}
	return nil
}

// LoadLicense adds a stored license record (claim and states).
func (e *Engine) LoadLicense(l License) error {
	return e.LoadLicenseRecord(NewLicenseRecord(l))
}

// LicenseRecord is a stored license record on its way into an engine
// (DecodeLicenseRecord, then LoadLicenseRecord), as UserRecord is for
// users: the ids that name it, which the engine does not keep (its record
// takes them from its user and its pool), and its state, in the
// allocation the engine keeps. A load holds its LicenseRecords only until
// the engine has taken them (a LicenseDecoder carves them from blocks of
// their own, which are garbage then).
type LicenseRecord struct {
	UserID, SKUID, AllotmentID string
	l                          *license
}

// Key is the user, the product and the allotment ("" for none) of the
// record.
func (r *LicenseRecord) Key() (userID, skuID, allotmentID string) {
	return r.UserID, r.SKUID, r.AllotmentID
}

// NewLicenseRecord returns a record of l to load (LoadLicenseRecord).
func NewLicenseRecord(l License) *LicenseRecord {
	return &LicenseRecord{UserID: l.UserID, SKUID: l.SKUID, AllotmentID: l.AllotmentID, l: &license{LicenseState: l.LicenseState}}
}

// DecodeLicenseRecord decodes a binary license body (DecodeLicense) into a
// new LicenseRecord.
func DecodeLicenseRecord(b []byte) (*LicenseRecord, error) {
	var d LicenseDecoder
	return d.decode(b, nil, nil)
}

// LicenseDecoder decodes binary license bodies into LicenseRecords as
// DecodeLicenseRecord does, with one string per distinct product,
// allotment and group among the records it decodes (a load's records
// name a few dozen products and the groups; a string each was garbage
// once the engine interns them), and the records' user ids written into
// shared blocks (the engine's record keeps no ids: one allocation per
// block, garbage after the load, instead of a string each). The zero
// value is ready; not for concurrent use.
//
// Its records and their states are carved from blocks of recordBlock (a
// load's million records are a few hundred allocations, not a million
// objects to allocate and mark): a block of states is freed once none of
// its states is left in the engine, as Clone's are; the blocks of
// records once the load has given them to the engine.
type LicenseDecoder struct {
	shared  map[[16]byte]string
	userIDs []byte
	block   []license       // the states, which the engine keeps
	recs    []LicenseRecord // the records with their ids, garbage after the load
	states  []SourceState   // the records' lists of source states (decoder.states)
}

// recordBlock is how many records a decoder's block holds.
const recordBlock = 1024

// Decode decodes one body.
func (d *LicenseDecoder) Decode(b []byte) (*LicenseRecord, error) {
	if d.shared == nil {
		d.shared = make(map[[16]byte]string, 64)
	}
	r := &blocks.Carve(&d.recs, 1, recordBlock)[0]
	r.l = &blocks.Carve(&d.block, 1, recordBlock)[0]
	_, err := decodeLicenseInto(b, d.shared, &d.userIDs, &d.states, &r.UserID, &r.SKUID, &r.AllotmentID, &r.l.LicenseState)
	return r, err
}

func (d *LicenseDecoder) decode(b []byte, shared map[[16]byte]string, userIDs *[]byte) (*LicenseRecord, error) {
	r := &LicenseRecord{l: &license{}}
	_, err := decodeLicenseInto(b, shared, userIDs, nil, &r.UserID, &r.SKUID, &r.AllotmentID, &r.l.LicenseState)
	return r, err
}

// UserDecoder decodes binary user bodies into UserRecords as
// DecodeUserRecord does, carved from blocks of recordBlock as
// LicenseDecoder's are, and with their strings in shared blocks: each
// record's text (the strings written raw) and its GUIDs' strings. A
// block's memory is freed once no string of it is left (the properties of
// a user are replaced whole by an update). The zero value is ready; not
// for concurrent use.
type UserDecoder struct {
	block        []UserRecord
	texts, guids []byte
}

// Decode decodes one body.
func (d *UserDecoder) Decode(b []byte) (*UserRecord, error) {
	r := &blocks.Carve(&d.block, 1, recordBlock)[0]
	return r, decodeUserBlocks(b, &r.v, &d.texts, &d.guids)
}

// LoadLicenseRecord adds a stored license record decoded into r, which the
// engine keeps (r must not be used again). Its user and its pool (the SKU's,
// or its allotment's) must be loaded.
func (e *Engine) LoadLicenseRecord(r *LicenseRecord) error {
	u, ok := e.loadedUser(r.UserID)
	if !ok {
		return allot.Errorf(allot.ENOTFOUND, "license record of missing user %s", r.UserID)
	}
	p := e.sourcePool(&LicenseSource{SKUID: r.SKUID, AllotmentID: r.AllotmentID})
	if p == nil {
		return allot.Errorf(allot.ENOTFOUND, "license record of unknown SKU %s (allotment %q)", r.SKUID, r.AllotmentID)
	}
	if u.licenseOf(p) != nil {
		return allot.Errorf(allot.ECONFLICT, "license record %s/%s loaded twice", r.UserID, r.SKUID)
	}
	l := r.l
	if !l.Claimed {
		l.Held = false
	}
	e.internLicense(&l.LicenseState)
	l.user, l.pool, l.waitIdx = u, p, -1
	u.addLicense(l)
	return nil
}

// loadedUser finds a loaded user for the license side of a load (direct
// licenses, license records): a load gives their records in the store's
// order, by user id, which is the order of Engine.all after a load of
// the users, so a cursor into it that moves forward a few users finds
// most without hashing the id (a cache miss or more in a million-entry
// map); the map finds the others and moves the cursor there. Only the
// license side moves the cursor (LoadMembers' pairing).
func (e *Engine) loadedUser(id string) (*user, bool) {
	for c, end := e.cursor, min(e.cursor+8, len(e.all)); c < end; c++ {
		switch u := e.all[c]; {
		case u.ID == id:
			e.cursor = c
			return u, true
		case u.ID > id:
			c = end // not in the order of e.all: ask the map
		}
	}
	u, ok := e.users[id]
	if ok {
		e.cursor = u.idx
	}
	return u, ok
}

// internLicense makes a loaded record's sources' groups share the engine's
// strings (the record's own ids are its user's and pool's). Decoding gives
// every record its own copies (a million users' records held ~8 million
// separate id strings, 400 MB); the values do not change.
func (e *Engine) internLicense(l *LicenseState) {
	for i := range l.Sources {
		s := &l.Sources[i]
		if g := e.groups[s.AssignedByGroup]; g != nil && s.AssignedByGroup != "" {
			s.AssignedByGroup = g.ID
		}
	}
}

// Recompute derives every license of the tenant from scratch: sources,
// claims, seats, waiting rooms and states. Stored claims are kept: holders
// keep their seats (unless a pool holds more than its units, when the
// youngest go back to the waiting room), and waiting users keep their place.
// A source without a stored claim claims a seat as of its AssignedAt, so a
// bulk load orders the waiting room as if the assignments had been made at
// those times. On a tenant whose stored state is consistent, Recompute
// changes nothing; what it does change is in the delta.
func (e *Engine) Recompute(op Op) {
	now := e.tick(op.Now)
	e.bulk, e.w.changes = true, 0
	defer func() { e.bulk = false }()
	defer memtune.BulkWork(len(e.all))()
	nlic := 0
	for _, u := range e.all {
		nlic += len(u.licenses) + len(u.direct) + len(u.groups)
	}
	// Room for every license to change (a bulk load) without regrowing.
	e.dirty = slices.Grow(e.dirty, nlic)
	e.delta.Licenses = slices.Grow(e.delta.Licenses, nlic)

	// Claims: every user's sources and claims, in parallel. Pools are not
	// touched: each worker tallies its users' claims per pool, and the
	// pools are rebuilt from the tallies in worker order (the order of a
	// serial walk).
	ws := e.forEachUserParallel(true, func(w *worker, u *user) {
		w.reclaim(u, now, true)
		w.tallySeats(u)
	})
	pools := e.poolsFromTallies(ws)
	for _, p := range pools {
		if p.consumed > p.capacity() {
			p.waiting.heapify()
			e.shrink(p)
		}
	}
	// Bundled claims (all-or-none groups) wait aside while the ordinary
	// claims are admitted, then are admitted together where they fit.
	aside := make([][]*license, len(pools))
	for i, p := range pools {
		n := 0
		for _, l := range p.waiting {
			if l.bundled {
				aside[i] = append(aside[i], l)
			} else {
				p.waiting[n] = l
				n++
			}
		}
		clear(p.waiting[n:])
		p.waiting = p.waiting[:n]
	}
	e.fillAll(pools, now)
	for i, p := range pools {
		for _, l := range aside[i] {
			p.waiting.push(l)
		}
	}
	for bp := e.bundledPools(pools); len(bp) > 0 && e.fillBundles(bp, now); bp = e.bundledPools(pools) {
	}

	// States, in parallel, with each worker tallying the group sources in
	// error; the groups' counts are the sums.
	r := reason{audit.ActorGroupLicensing, "full recompute"}
	if op.Why != "" {
		r.why = op.Why
	}
	ws = e.forEachUserParallel(false, func(w *worker, u *user) {
		w.restate(u, now, r)
		w.tallyErrors(u)
	})
	e.errorsFromTallies(ws)
	e.pending.init()
	if e.w.changes > 0 {
		e.delta.Audit = append(e.delta.Audit, audit.Entry{
			At: now, Actor: audit.ActorGroupLicensing, Action: "Finish applying group based license to users",
			Why: r.why, Detail: fmt.Sprintf("%d license state(s) of %d user(s) changed", e.w.changes, len(e.all)),
		})
	}
}

// shrink returns the youngest holders of an over-full pool to the waiting
// room and returns them. Outside a command (a load) it only happens on
// stored data that breaks the seat invariant; releaseYoungest is the
// command's form.
func (e *Engine) shrink(p *pool) []*license {
	var holders []*license
	for _, u := range e.all {
		if l := u.licenseOf(p); l != nil && l.Held {
			holders = append(holders, l)
		}
	}
	sort.Slice(holders, func(i, j int) bool { return waitLess(holders[j], holders[i]) })
	var released []*license
	for _, l := range holders {
		if p.consumed <= p.capacity() {
			break
		}
		l.Held, l.HeldSince, l.GrantedAt = false, 0, 0
		p.consumed--
		p.waiting.push(l)
		e.dirtyLicense(l)
		released = append(released, l)
	}
	return released
}

// sortedPools returns the general pools by skuId.
func (e *Engine) sortedPools() []*pool {
	ps := make([]*pool, 0, len(e.pools))
	for _, p := range e.pools {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].key < ps[j].key })
	return ps
}

// allPools returns the general and allotment pools by key.
func (e *Engine) allPools() []*pool {
	ps := make([]*pool, 0, len(e.pools)+len(e.allotments))
	for _, p := range e.pools {
		ps = append(ps, p)
	}
	for _, a := range e.allotments {
		ps = append(ps, a.pool)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].key < ps[j].key })
	return ps
}

// FitAllotments lowers loaded allotments that break the units rule the
// commands keep (fitAllotment, fitUnits): the allotments of a product hold
// at most its enabled units less the seats held outside allotments
// (stored records with Held). The newest allotments give up units first. It
// returns the lowered allotments; call it after loading the records and
// before Recompute, which then sends the youngest claims beyond the units
// to the waiting room. The commands never make such a state; an import of
// an earlier version could.
func (e *Engine) FitAllotments() []Allotment {
	if len(e.allotments) == 0 {
		return nil // nothing to fit: no walk of every user's records
	}
	held := map[*pool]int{}
	for _, u := range e.all {
		for _, l := range u.licenses {
			if l.pool.allot == nil && l.Held {
				held[l.pool]++
			}
		}
	}
	bySKU := map[string][]*allotment{}
	for _, a := range e.allotments {
		bySKU[a.SKUID] = append(bySKU[a.SKUID], a)
	}
	var out []Allotment
	for sku, list := range bySKU {
		p := e.pools[sku]
		room := max(p.units.Total(), 0) - min(held[p], max(p.units.Total(), 0))
		sort.Slice(list, func(i, j int) bool {
			if !list[i].CreatedAt.Equal(list[j].CreatedAt) {
				return list[i].CreatedAt.After(list[j].CreatedAt)
			}
			return list[i].ID > list[j].ID
		})
		sum := 0
		for _, a := range list {
			if a.AllottedUnits < 0 {
				e.allotted[sku] -= a.AllottedUnits
				a.AllottedUnits = 0
				out = append(out, a.Allotment)
			}
			sum += a.AllottedUnits
		}
		for _, a := range list {
			if sum <= room {
				break
			}
			cut := min(a.AllottedUnits, sum-room)
			if cut == 0 {
				continue
			}
			a.AllottedUnits -= cut
			e.allotted[sku] -= cut
			sum -= cut
			out = append(out, a.Allotment)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
