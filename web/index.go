package web

import (
	"slices"
	"strings"
	"sync"

	"allot/licensing"
	"allot/tenant"
)

// dirIndex is the admin center's read-side index of a tenant: users in
// userPrincipalName and displayName order, the users of each department,
// SKU, error and waiting state (in userPrincipalName order), counts for the
// dashboard, groups by name, and — built the first time a group's page is
// opened — the group's members in userPrincipalName order. It lives on the
// readers' copy (tenant.State.Index) and is kept up to date from each
// committed batch's delta, so that a page at a million users is a seek
// plus a short walk, never a sort of the directory.
//
// Everything but members is read under the tenant's read lock and changed
// under its write lock (the tenant.Index contract), so it needs no lock of
// its own; members is built during reads and so has its own mutex.
type dirIndex struct {
	users  map[string]*userRec
	byUPN  *sortedSet // K = lower(userPrincipalName)
	byName *sortedSet // K = lower(displayName)
	// Filter sets, each in userPrincipalName order.
	byDept    map[string]*sortedSet // lower(department)
	deptNames map[string]string     // lower(department) → department as written
	deptKeys  map[string]string     // lower(department) → the one copy of it the records share
	bySKU     map[string]*sortedSet // users with a license record of the SKU
	errUsers  *sortedSet            // users with a source in Error
	errBySKU  map[string]*sortedSet
	waiting   *sortedSet // users waiting for a seat or unit
	// errCodes counts the (user, SKU) licenses with a source in Error, by
	// error code; licensed counts users holding at least one seat.
	errCodes map[string]int
	licensed int
	withSKUs int // users with at least one license record

	groupsByName *sortedSet // K = lower(displayName)
	groups       map[string]string

	mu      sync.Mutex
	members map[string]*sortedSet // groupId → members (users), K = lower(upn)
	counts  map[string]int        // totals of users queries since the last commit
}

// userRec is what the index knows of a user: its keys and license summary.
type userRec struct {
	upn, name, dept string // lower-cased
	skus            []string
	errSKUs         []string
	errCodes        []string // one per (SKU, error code) in error
	errGroups       []string // groups whose license to the user is in error
	waiting, held   bool
}

const dirIndexName = "web/directory"

// directory returns the tenant's index, building it on first use. Call it
// inside Tenant.Read only.
func directory(s *tenant.State) *dirIndex {
	return s.Index(dirIndexName, buildDirIndex).(*dirIndex)
}

func buildDirIndex(s *tenant.State) tenant.Index {
	e := s.Engine
	n := e.UserCount()
	x := &dirIndex{users: make(map[string]*userRec, n), byDept: map[string]*sortedSet{}, deptNames: map[string]string{}, deptKeys: map[string]string{},
		bySKU: map[string]*sortedSet{}, errBySKU: map[string]*sortedSet{}, errCodes: map[string]int{},
		groups: map[string]string{}, members: map[string]*sortedSet{}, counts: map[string]int{}}
	type entry struct {
		k key
		r *userRec
	}
	byUPN := make([]entry, 0, n)
	names := make([]key, 0, n)
	deptN, skuN := map[string]int{}, map[string]int{}
	e.ForEachUser(func(u *licensing.User) bool {
		r := x.recOf(u)
		summarize(r, e.Licenses(u.ID))
		x.users[u.ID] = r
		byUPN = append(byUPN, entry{key{K: r.upn, ID: u.ID}, r})
		names = append(names, key{K: r.name, ID: u.ID})
		deptN[r.dept]++
		for _, sku := range r.skus {
			skuN[sku]++
		}
		x.count(r, 1)
		return true
	})
	slices.SortFunc(byUPN, func(a, b entry) int { return cmpKey(a.k, b.k) })
	x.byName = newSortedSet(names)
	// Every set in userPrincipalName order, filled in that order: sorted.
	upns := make([]key, len(byUPN))
	depts := map[string][]key{}
	skus := map[string][]key{}
	errSKUs := map[string][]key{}
	var errs, waits []key
	for i, en := range byUPN {
		k, r := en.k, en.r
		upns[i] = k
		if r.dept != "" {
			if depts[r.dept] == nil {
				depts[r.dept] = make([]key, 0, deptN[r.dept])
			}
			depts[r.dept] = append(depts[r.dept], k)
		}
		for _, sku := range r.skus {
			if skus[sku] == nil {
				skus[sku] = make([]key, 0, skuN[sku])
			}
			skus[sku] = append(skus[sku], k)
		}
		for _, sku := range r.errSKUs {
			errSKUs[sku] = append(errSKUs[sku], k)
		}
		if len(r.errSKUs) > 0 {
			errs = append(errs, k)
		}
		if r.waiting {
			waits = append(waits, k)
		}
	}
	x.byUPN = newSortedSet(upns)
	x.errUsers, x.waiting = newSortedSet(errs), newSortedSet(waits)
	for d, ks := range depts {
		x.byDept[d] = newSortedSet(ks)
	}
	for sku, ks := range skus {
		x.bySKU[sku] = newSortedSet(ks)
	}
	for sku, ks := range errSKUs {
		x.errBySKU[sku] = newSortedSet(ks)
	}
	var gnames []key
	for _, id := range e.GroupIDs() {
		g, _ := e.Group(id)
		nk := strings.ToLower(g.DisplayName)
		x.groups[id] = nk
		gnames = append(gnames, key{K: nk, ID: id})
	}
	x.groupsByName = newSortedSet(gnames)
	return x
}

// recOf returns a new record with a user's keys (department strings are
// shared between records).
func (x *dirIndex) recOf(u *licensing.User) *userRec {
	r := &userRec{upn: strings.ToLower(u.UserPrincipalName), name: strings.ToLower(u.DisplayName)}
	if d := strings.TrimSpace(u.Department); d != "" {
		ld := strings.ToLower(d)
		if v, ok := x.deptKeys[ld]; ok {
			ld = v
		} else {
			x.deptKeys[ld] = ld
			x.deptNames[ld] = d
		}
		r.dept = ld
	}
	return r
}

// summarize derives a user's license summary from its license records.
func summarize(r *userRec, ls []licensing.License) {
	r.skus, r.errSKUs, r.errCodes, r.errGroups, r.waiting, r.held = nil, nil, nil, nil, false, false
	for _, l := range ls {
		if !slices.Contains(r.skus, l.SKUID) {
			r.skus = append(r.skus, l.SKUID)
		}
		if l.Held {
			r.held = true
		}
		if l.Waiting() {
			r.waiting = true
		}
		for _, s := range l.Sources {
			if s.State != licensing.StateError {
				continue
			}
			if !slices.Contains(r.errSKUs, l.SKUID) {
				r.errSKUs = append(r.errSKUs, l.SKUID)
			}
			code := l.SKUID + "\x00" + s.Error
			if !slices.Contains(r.errCodes, code) {
				r.errCodes = append(r.errCodes, code)
			}
			if s.AssignedByGroup != "" && !slices.Contains(r.errGroups, s.AssignedByGroup) {
				r.errGroups = append(r.errGroups, s.AssignedByGroup)
			}
		}
	}
}

// count adds (sign 1) or removes (sign -1) a user's summary from the
// counters.
func (x *dirIndex) count(r *userRec, sign int) {
	for _, c := range r.errCodes {
		_, code, _ := strings.Cut(c, "\x00")
		x.errCodes[code] += sign
		if x.errCodes[code] == 0 {
			delete(x.errCodes, code)
		}
	}
	if r.held {
		x.licensed += sign
	}
	if len(r.skus) > 0 {
		x.withSKUs += sign
	}
}

// Update applies a committed delta (tenant.Index).
func (x *dirIndex) Update(s *tenant.State, d licensing.Delta) {
	e := s.Engine
	// Every committed batch comes here, those without engine changes (a
	// usage import) too: totals may depend on usage (the idle filter).
	x.mu.Lock()
	clear(x.counts)
	x.mu.Unlock()
	licChanged := map[string]bool{}
	for _, lk := range d.Licenses {
		licChanged[lk[0]] = true
	}
	for id := range d.Users {
		old := x.users[id]
		if old != nil {
			x.unlink(id, old)
		}
		u, ok := e.User(id)
		if !ok {
			if old != nil {
				delete(x.users, id)
				x.mu.Lock()
				for _, m := range x.members {
					m.Delete(key{K: old.upn, ID: id})
				}
				x.mu.Unlock()
			}
			delete(licChanged, id)
			continue
		}
		r := x.recOf(&u)
		summarize(r, e.Licenses(id))
		x.users[id] = r
		x.link(id, r)
		if old != nil && old.upn != r.upn {
			x.renameMember(e, id, old.upn, r.upn)
		}
		delete(licChanged, id)
	}
	for id := range licChanged {
		r := x.users[id]
		if r == nil {
			continue
		}
		x.unlink(id, r)
		summarize(r, e.Licenses(id))
		x.link(id, r)
	}
	for id := range d.Groups {
		if old, ok := x.groups[id]; ok {
			x.groupsByName.Delete(key{K: old, ID: id})
			delete(x.groups, id)
		}
		if g, ok := e.Group(id); ok {
			nk := strings.ToLower(g.DisplayName)
			x.groups[id] = nk
			x.groupsByName.Insert(key{K: nk, ID: id})
		} else {
			x.mu.Lock()
			delete(x.members, id)
			x.mu.Unlock()
		}
	}
	if len(d.Members) > 0 {
		x.mu.Lock()
		for m, put := range d.Members {
			set := x.members[m[0]]
			r := x.users[m[1]]
			if set == nil || r == nil {
				continue
			}
			if put {
				set.Insert(key{K: r.upn, ID: m[1]})
			} else {
				set.Delete(key{K: r.upn, ID: m[1]})
			}
		}
		x.mu.Unlock()
	}
}

// link adds a user's record to the sets; unlink removes it.
func (x *dirIndex) link(id string, r *userRec) {
	k := key{K: r.upn, ID: id}
	x.byUPN.Insert(k)
	x.byName.Insert(key{K: r.name, ID: id})
	if r.dept != "" {
		setIn(x.byDept, r.dept).Insert(k)
	}
	for _, sku := range r.skus {
		setIn(x.bySKU, sku).Insert(k)
	}
	for _, sku := range r.errSKUs {
		setIn(x.errBySKU, sku).Insert(k)
	}
	if len(r.errSKUs) > 0 {
		x.errUsers.Insert(k)
	}
	if r.waiting {
		x.waiting.Insert(k)
	}
	x.count(r, 1)
}

func (x *dirIndex) unlink(id string, r *userRec) {
	k := key{K: r.upn, ID: id}
	x.byUPN.Delete(k)
	x.byName.Delete(key{K: r.name, ID: id})
	if r.dept != "" {
		x.byDept[r.dept].Delete(k)
	}
	for _, sku := range r.skus {
		x.bySKU[sku].Delete(k)
	}
	for _, sku := range r.errSKUs {
		x.errBySKU[sku].Delete(k)
	}
	x.errUsers.Delete(k)
	x.waiting.Delete(k)
	x.count(r, -1)
}

// setIn returns m[k], creating an empty set.
func setIn(m map[string]*sortedSet, k string) *sortedSet {
	s := m[k]
	if s == nil {
		s = &sortedSet{}
		m[k] = s
	}
	return s
}

// renameMember moves a user whose userPrincipalName changed within the
// member sets built so far.
func (x *dirIndex) renameMember(e *licensing.Engine, id, oldUPN, newUPN string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.members) == 0 {
		return
	}
	for _, g := range e.GroupsOf(id) {
		if m := x.members[g]; m != nil && m.Delete(key{K: oldUPN, ID: id}) {
			m.Insert(key{K: newUPN, ID: id})
		}
	}
}

// groupMembers returns a group's user members in userPrincipalName order,
// building the set on first use. The set must be read only while the
// tenant's read lock is held (Update changes it under the write lock).
func (x *dirIndex) groupMembers(e *licensing.Engine, groupID string) *sortedSet {
	x.mu.Lock()
	defer x.mu.Unlock()
	if m := x.members[groupID]; m != nil {
		return m
	}
	us, _ := e.Members(groupID)
	ks := make([]key, 0, len(us))
	for _, id := range us {
		if r := x.users[id]; r != nil {
			ks = append(ks, key{K: r.upn, ID: id})
		}
	}
	m := newSortedSet(ks)
	x.members[groupID] = m
	return m
}

// departments returns the departments as written, sorted.
func (x *dirIndex) departments() []string {
	out := make([]string, 0, len(x.deptNames))
	for ld, d := range x.deptNames {
		if x.byDept[ld].Len() > 0 {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}
