// Package directory is a tenant's read model of its directory: one index
// of users and groups, kept on the readers' copy of the tenant's state,
// that every surface lists from — Graph (/v1.0/users, /groups, members),
// and the admin center (users, groups, members, errors, dashboard counts).
// It answers listings with one query planner (List, Count) and pages them
// with one cursor format (Cursor), so that a page at a million users is a
// seek plus a short walk, never a sort of the directory.
//
// The index is a registered tenant index (Key, tenant.IndexOf): it is
// built when a tenant is loaded and when a bulk import is published, before
// readers can see the state, and then follows each committed batch's delta
// (Update). It is read under the tenant's read lock and changed under its
// write lock, so it needs no lock of its own (except for the cache of
// totals, which readers fill).
package directory

import (
	"slices"
	"strings"
	"sync"

	"allot/internal/blocks"
	"allot/internal/idsort"
	"allot/internal/sortedset"
	"allot/licensing"
	"allot/tenant"
)

// Key orders a listing (sortedset.Key): K is the sort property (lower
// case) or the id itself, ID the id when K is a property.
type Key = sortedset.Key

// Set is an ordered set of keys (sortedset.Set).
type Set = sortedset.Set

// IDOf is the object id of a key of any of the index's sets.
func IDOf(k Key) string {
	if k.ID == "" {
		return k.K
	}
	return k.ID
}

// Index is a tenant's directory read model. Sets keyed by a property
// (K = lower-cased property, ID = id) are listing orders; sets of users
// matching a condition (a product, a department, an error, …) and the
// members of a group are keyed by id alone (K = id), so that they stay put
// when a user is renamed.
type Index struct {
	users       map[string]*User
	usersByID   *Set // K = id
	usersByUPN  *Set // K = lower(userPrincipalName)
	usersByName *Set // K = lower(displayName)
	usersByMail *Set // K = lower(mail), for users with a mail

	bySKU     map[string]*Set   // skuId → users with a license record of it
	byDept    map[string]*Set   // lower(department) → its users
	deptNames map[string]string // lower(department) → the department as first written
	deptKeys  map[string]string // lower(department) → the one copy of it the records share
	errUsers  *Set              // users with a source in Error
	errBySKU  map[string]*Set   // skuId → users with a source of it in Error
	waiting   *Set              // users waiting for a seat
	// errCodes counts the (user, SKU, error code) triples in error, by
	// code; licensed counts users holding a seat, withSKUs users with a
	// license record.
	errCodes map[string]int
	licensed int
	withSKUs int

	groups       map[string]string // id → lower(displayName)
	groupsByID   *Set              // K = id
	groupsByName *Set              // K = lower(displayName)
	// members: groupId → its direct user members; memberGroups: → its
	// direct group members (nested groups: few). K = id.
	members      map[string]*Set
	memberGroups map[string]*Set

	mu     sync.Mutex
	totals map[string]int // CachedTotal: totals computed since the last commit

	ch changes // change tracking for delta queries (changes.go)
}

// User is what the index knows of a user: its keys (lower case) and a
// summary of its license records.
type User struct {
	UPN, Name, Mail, Dept string
	SKUs                  []string // products with a license record
	// errs is the user's licenses in error, nil for a user without one
	// (almost every user): one pointer instead of three slices, 64 bytes
	// less per user (the record is 112 bytes, not 176). Read with
	// ErrSKUs, ErrCodes, ErrGroups.
	errs          *userErrors
	Waiting, Held bool // a record waits for a seat; a record holds one
}

type userErrors struct {
	skus   []string // products with a source in Error
	codes  []string // skuId + "\x00" + error code, one per pair in error
	groups []string // groups whose license to the user is in error
}

// ErrSKUs is the products of which the user has a source in Error.
func (r *User) ErrSKUs() []string {
	if r.errs == nil {
		return nil
	}
	return r.errs.skus
}

// ErrCodes is one skuId + "\x00" + error code per (product, error code)
// of the user's sources in Error.
func (r *User) ErrCodes() []string {
	if r.errs == nil {
		return nil
	}
	return r.errs.codes
}

// ErrGroups is the groups whose license to the user is in Error.
func (r *User) ErrGroups() []string {
	if r.errs == nil {
		return nil
	}
	return r.errs.groups
}

// IndexKey declares the index; a runtime opened with it in
// tenant.Options.Indexes builds it before a state is published to readers
// (tenant.IndexOf(s, IndexKey), or Of).
var IndexKey = tenant.NewIndexKey("directory", Build)

// Of returns the directory index of a state. Call it inside Tenant.Read
// (or on a snapshot).
func Of(s *tenant.State) *Index { return tenant.IndexOf(s, IndexKey) }

// Build derives the index from a state, using both cores: each half of the
// engine's users is summarised on its own goroutine (records and keys
// only, nothing shared), then one pass files them into the maps and sets
// in the engine's order, and the large sorts run side by side.
func Build(s *tenant.State) *Index {
	e := s.Engine
	n := e.UserCount()
	x := &Index{users: make(map[string]*User, n),
		bySKU: map[string]*Set{}, byDept: map[string]*Set{}, deptNames: map[string]string{}, deptKeys: map[string]string{}, errBySKU: map[string]*Set{},
		errCodes: map[string]int{}, groups: map[string]string{}, members: map[string]*Set{}, memberGroups: map[string]*Set{},
		totals: map[string]int{}, ch: newChanges()}
	type summary struct {
		id   string
		r    *User
		dept string // the department as given (trimmed); its key is r.Dept
	}
	recs := make([]summary, n)
	// The UPN and name keys are made here too, on both cores, in the
	// engine's order.
	upns, names := make([]Key, n), make([]Key, n)
	// Each range's summaries and their lists of products are carved from
	// blocks (summaryBlock): a million users' are a few thousand
	// allocations, not two million objects to allocate and mark.
	summarizeRange := func(from, to int) {
		i := from
		var block []User
		var skus []string
		e.ForEachUserLicensesIn(from, to, func(u *licensing.User, ls licensing.UserLicenses) bool {
			r := &blocks.Carve(&block, 1, min(summaryBlock, to-i))[0]
			*r = User{UPN: strings.ToLower(u.UserPrincipalName), Name: strings.ToLower(u.DisplayName), Mail: strings.ToLower(u.Mail())}
			d := strings.TrimSpace(u.Department())
			if d != "" {
				r.Dept = strings.ToLower(d)
			}
			summarizeViewIn(r, ls.Len(), func(i int) (string, *licensing.LicenseState) { sku, _, s := ls.Record(i); return sku, s }, &skus)
			recs[i] = summary{u.ID, r, d}
			upns[i], names[i] = Key{K: r.UPN, ID: u.ID}, Key{K: r.Name, ID: u.ID}
			i++
			return true
		})
	}
	var wg sync.WaitGroup
	wg.Go(func() { summarizeRange(0, n/2) })
	summarizeRange(n/2, n)
	wg.Wait()
	// The groups are indexed on their own goroutine meanwhile: they touch
	// none of the maps and sets the users fill.
	var groups sync.WaitGroup
	groups.Go(func() { x.buildGroups(e) })

	// The sets ordered by id hold ids only (sortedset.FromIDs): half the
	// memory of whole keys.
	ids := make([]string, 0, n)
	depts, skus, errSKUs := map[string][]string{}, map[string][]string{}, map[string][]string{}
	var errs, waits []string
	var mails []Key // users by mail: a set, not a map of lists (no list per user)
	// Each list is sized before it is filled: a list grown by append to a
	// million keys is allocated and copied several times over.
	sized := func(lists map[string][]string, key string, n int) { lists[key] = make([]string, 0, n) }
	{
		nDept, nSKU, nErr := map[string]int{}, map[string]int{}, map[string]int{}
		nErrs, nWaits, nMails := 0, 0, 0
		for i := range recs {
			r := recs[i].r
			if r.Dept != "" {
				nDept[r.Dept]++
			}
			for _, sku := range r.SKUs {
				nSKU[sku]++
			}
			for _, sku := range r.ErrSKUs() {
				nErr[sku]++
			}
			if len(r.ErrSKUs()) > 0 {
				nErrs++
			}
			if r.Waiting {
				nWaits++
			}
			if r.Mail != "" {
				nMails++
			}
		}
		for k, c := range nDept {
			sized(depts, k, c)
		}
		for k, c := range nSKU {
			sized(skus, k, c)
		}
		for k, c := range nErr {
			sized(errSKUs, k, c)
		}
		errs, waits = make([]string, 0, nErrs), make([]string, 0, nWaits)
		mails = make([]Key, 0, nMails)
	}
	for i := range recs {
		id, r := recs[i].id, recs[i].r
		if r.Dept != "" { // one string per department key, the first spelling its name
			if v, ok := x.deptKeys[r.Dept]; ok {
				r.Dept = v
			} else {
				x.deptKeys[r.Dept] = r.Dept
				x.deptNames[r.Dept] = recs[i].dept
			}
		}
		if r.Mail != "" {
			mails = append(mails, Key{K: r.Mail, ID: id})
		}
		x.count(r, 1)
	}
	// The sets ordered by id are filled in id order, so that none of them
	// needs a sort: the engine's order is the stored order (by id) after a
	// restart, but an import's is the bundle's.
	idsort.SortFunc(recs, func(s summary) string { return s.id }, func(a, b summary) int { return strings.Compare(a.id, b.id) })
	// The map of users by id is filled on a goroutine of its own, beside
	// the walks below: nothing reads it, and recs is not reordered again.
	var byID sync.WaitGroup
	defer byID.Wait()
	sorted := recs // recs is set to nil below, while this runs
	byID.Go(func() {
		for i := range sorted {
			x.users[sorted[i].id] = sorted[i].r
		}
	})
	// Two walks of the users in id order, side by side: each fills its
	// own lists.
	wg.Go(func() {
		for i := range recs {
			r := recs[i].r
			k := recs[i].id
			for _, sku := range r.SKUs {
				skus[sku] = append(skus[sku], k)
			}
			for _, sku := range r.ErrSKUs() {
				errSKUs[sku] = append(errSKUs[sku], k)
			}
			if len(r.ErrSKUs()) > 0 {
				errs = append(errs, k)
			}
			if r.Waiting {
				waits = append(waits, k)
			}
		}
	})
	for i := range recs {
		k := recs[i].id
		ids = append(ids, k)
		if d := recs[i].r.Dept; d != "" {
			depts[d] = append(depts[d], k)
		}
	}
	wg.Wait()
	recs = nil
	// The large sorts run side by side; the filter sets are small or
	// follow the engine's order.
	wg.Add(2)
	go func() { defer wg.Done(); x.usersByUPN = sortedset.New(upns) }()
	go func() {
		defer wg.Done()
		x.usersByName = sortedset.New(names)
		x.usersByMail = sortedset.New(mails)
	}()
	// Filled in id order (byID above) from unique ids: in order already.
	x.usersByID = sortedset.FromIDs(ids)
	x.errUsers, x.waiting = sortedset.FromIDs(errs), sortedset.FromIDs(waits)
	for d, ks := range depts {
		x.byDept[d] = sortedset.FromIDs(ks)
	}
	for sku, ks := range skus {
		x.bySKU[sku] = sortedset.FromIDs(ks)
	}
	for sku, ks := range errSKUs {
		x.errBySKU[sku] = sortedset.FromIDs(ks)
	}
	wg.Wait()
	groups.Wait()
	return x
}

func (x *Index) buildGroups(e *licensing.Engine) {
	var gids []string
	var gnames []Key
	// Every group's members at once, sorted by id, each once: one walk of
	// the users (at a million users and two million memberships, a third
	// of the CPU of collecting and sorting each group's on its own). The
	// sets keep the lists EachGroupMembers gives (sorted, unique, theirs
	// to keep).
	e.EachGroupMembers(func(id string, users, groups []string) {
		g, _ := e.Group(id)
		nk := strings.ToLower(g.DisplayName)
		x.groups[id] = nk
		gids = append(gids, id)
		gnames = append(gnames, Key{K: nk, ID: id})
		if len(users) > 0 {
			x.members[id] = sortedset.FromIDs(users)
		}
		if len(groups) > 0 {
			x.memberGroups[id] = sortedset.FromIDs(groups)
		}
	})
	x.groupsByID, x.groupsByName = sortedset.NewIDs(gids), sortedset.New(gnames)
}

// userOf returns a new record with a user's keys. Department keys are
// shared between records (one string per department).
func (x *Index) userOf(u *licensing.User) *User {
	r := &User{UPN: strings.ToLower(u.UserPrincipalName), Name: strings.ToLower(u.DisplayName), Mail: strings.ToLower(u.Mail())}
	if d := strings.TrimSpace(u.Department()); d != "" {
		ld := strings.ToLower(d)
		if v, ok := x.deptKeys[ld]; ok {
			ld = v
		} else {
			x.deptKeys[ld] = ld
			x.deptNames[ld] = d
		}
		r.Dept = ld
	}
	return r
}

// summarize derives a user's license summary from its license records.
func summarize(r *User, ls []licensing.License) {
	summarizeView(r, len(ls), func(i int) (string, *licensing.LicenseState) { return ls[i].SKUID, &ls[i].LicenseState })
}

// summarizeView is summarize over n records read by at, which gives a
// record's product and state (the engine's records in place, without
// copying them: licensing.UserLicenses.Record).
func summarizeView(r *User, n int, at func(int) (string, *licensing.LicenseState)) {
	summarizeViewIn(r, n, at, nil)
}

// summaryBlock is how many summaries (and lists of products) a block of
// Build's holds.
const summaryBlock = 1024

// summarizeViewIn is summarizeView with the list of products carved from
// the block skus when it is not nil (Build's), with no spare capacity.
func summarizeViewIn(r *User, n int, at func(int) (string, *licensing.LicenseState), skus *[]string) {
	r.SKUs, r.errs, r.Waiting, r.Held = nil, nil, false, false
	switch {
	case n > 0 && skus != nil && n <= summaryBlock/8:
		r.SKUs = blocks.Carve(skus, n, summaryBlock)[:0] // filled below, within its n
	case n > 0:
		r.SKUs = make([]string, 0, n) // one allocation, not one per growth
	}
	var ue userErrors
	for i := range n {
		sku, l := at(i)
		if !slices.Contains(r.SKUs, sku) {
			r.SKUs = append(r.SKUs, sku)
		}
		r.Held = r.Held || l.Held
		r.Waiting = r.Waiting || l.Waiting()
		for _, s := range l.Sources {
			if s.State != licensing.StateError {
				continue
			}
			if !slices.Contains(ue.skus, sku) {
				ue.skus = append(ue.skus, sku)
			}
			if code := sku + "\x00" + s.Error.String(); !slices.Contains(ue.codes, code) {
				ue.codes = append(ue.codes, code)
			}
			if s.AssignedByGroup != "" && !slices.Contains(ue.groups, s.AssignedByGroup) {
				ue.groups = append(ue.groups, s.AssignedByGroup)
			}
		}
	}
	if ue.skus != nil {
		r.errs = &userErrors{ue.skus, ue.codes, ue.groups} // ue stays on the stack
	}
}

// count adds (sign 1) or removes (sign -1) a user's summary from the
// counters.
func (x *Index) count(r *User, sign int) {
	for _, c := range r.ErrCodes() {
		_, code, _ := strings.Cut(c, "\x00")
		x.errCodes[code] += sign
		if x.errCodes[code] == 0 {
			delete(x.errCodes, code)
		}
	}
	if r.Held {
		x.licensed += sign
	}
	if len(r.SKUs) > 0 {
		x.withSKUs += sign
	}
}

// Update applies a committed delta (tenant.Index). Every committed batch
// comes here, those without engine changes too, and clears the cached
// totals (they may depend on state outside the engine: usage).
func (x *Index) Update(s *tenant.State, d licensing.Delta) {
	e := s.Engine
	x.mu.Lock()
	clear(x.totals)
	x.mu.Unlock()
	defer x.recordChanges(s, d)
	for id := range d.Users {
		if old := x.users[id]; old != nil {
			x.unlink(id, old)
			delete(x.users, id)
		}
		if u, ok := e.User(id); ok {
			r := x.userOf(&u)
			summarize(r, e.Licenses(id))
			x.users[id] = r
			x.link(id, r)
		}
	}
	for _, lk := range d.Licenses {
		id := lk[0] // (userId, pool key)
		if _, done := d.Users[id]; done {
			continue
		}
		if r := x.users[id]; r != nil {
			x.unlink(id, r)
			summarize(r, e.Licenses(id))
			x.link(id, r)
		}
	}
	x.updateGroups(e, d)
	x.updateMembers(e, d)
}

func (x *Index) updateGroups(e *licensing.Engine, d licensing.Delta) {
	for id := range d.Groups {
		if old, ok := x.groups[id]; ok {
			x.groupsByName.Delete(Key{K: old, ID: id})
			x.groupsByID.Delete(Key{K: id})
			delete(x.groups, id)
		}
		if g, ok := e.Group(id); ok {
			nk := strings.ToLower(g.DisplayName)
			x.groups[id] = nk
			x.groupsByID.Insert(Key{K: id})
			x.groupsByName.Insert(Key{K: nk, ID: id})
		} else {
			delete(x.members, id)
			delete(x.memberGroups, id)
		}
	}
}

// updateMembers applies membership changes: (groupId, memberId) → kept.
func (x *Index) updateMembers(e *licensing.Engine, d licensing.Delta) {
	for k, put := range d.Members {
		g, m := k[0], Key{K: k[1]}
		if !put {
			deleteIn(x.members, g, m)
			deleteIn(x.memberGroups, g, m)
			continue
		}
		if !e.IsMember(g, k[1]) {
			continue // removed again by a later change of the batch
		}
		if e.IsGroup(k[1]) {
			setIn(x.memberGroups, g).Insert(m)
		} else {
			setIn(x.members, g).Insert(m)
		}
	}
}

// link adds a user's record to the sets; unlink removes it.
func (x *Index) link(id string, r *User) {
	k := Key{K: id}
	x.usersByID.Insert(k)
	x.usersByUPN.Insert(Key{K: r.UPN, ID: id})
	x.usersByName.Insert(Key{K: r.Name, ID: id})
	if r.Mail != "" {
		x.usersByMail.Insert(Key{K: r.Mail, ID: id})
	}
	if r.Dept != "" {
		setIn(x.byDept, r.Dept).Insert(k)
	}
	for _, sku := range r.SKUs {
		setIn(x.bySKU, sku).Insert(k)
	}
	for _, sku := range r.ErrSKUs() {
		setIn(x.errBySKU, sku).Insert(k)
	}
	if len(r.ErrSKUs()) > 0 {
		x.errUsers.Insert(k)
	}
	if r.Waiting {
		x.waiting.Insert(k)
	}
	x.count(r, 1)
}

func (x *Index) unlink(id string, r *User) {
	k := Key{K: id}
	x.usersByID.Delete(k)
	x.usersByUPN.Delete(Key{K: r.UPN, ID: id})
	x.usersByName.Delete(Key{K: r.Name, ID: id})
	if r.Mail != "" {
		x.usersByMail.Delete(Key{K: r.Mail, ID: id})
	}
	if r.Dept != "" {
		x.byDept[r.Dept].Delete(k)
	}
	for _, sku := range r.SKUs {
		x.bySKU[sku].Delete(k)
	}
	for _, sku := range r.ErrSKUs() {
		x.errBySKU[sku].Delete(k)
	}
	x.errUsers.Delete(k)
	x.waiting.Delete(k)
	x.count(r, -1)
}

// deleteIn deletes key from m[k], and m[k] once it is empty.
func deleteIn(m map[string]*Set, k string, key Key) {
	if s := m[k]; s != nil && s.Delete(key) && s.Len() == 0 {
		delete(m, k)
	}
}

// setIn returns m[k], creating an empty set.
func setIn(m map[string]*Set, k string) *Set {
	s := m[k]
	if s == nil {
		s = &Set{}
		m[k] = s
	}
	return s
}
