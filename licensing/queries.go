package licensing

import (
	"slices"
	"sort"
	"strings"

	"allot/catalog"
	"allot/internal/idsort"
)

// Reads. Slices returned share the engine's immutable values (source state
// slices are replaced, never changed in place) and must not be modified.

// User returns a user by id.
func (e *Engine) User(id string) (User, bool) {
	u, ok := e.users[id]
	if !ok {
		return User{}, false
	}
	return *u.User, true
}

// UserByUPN returns a user by userPrincipalName, case-insensitively and
// whatever its Unicode normal form (UPNKey).
func (e *Engine) UserByUPN(upn string) (User, bool) {
	u, ok := e.byUPN[UPNKey(upn)]
	if !ok {
		return User{}, false
	}
	return *u.User, true
}

// UserCount returns the number of users.
func (e *Engine) UserCount() int { return len(e.all) }

// ForEachUser calls fn for every user in the engine's internal order until
// fn returns false. u is the engine's own record: fn must not change it.
func (e *Engine) ForEachUser(fn func(u *User) bool) {
	for _, u := range e.all {
		if !fn(u.User) {
			return
		}
	}
}

// UserLicenses is a read-only view of one user's license records, sorted by
// pool key (SKU id, then allotments). It shares the engine's memory: use it
// only inside the ForEachUserLicenses callback and never modify a record.
type UserLicenses struct{ ls []*license }

// Len returns the number of license records.
func (v UserLicenses) Len() int { return len(v.ls) }

// At returns the i-th license record (0 <= i < Len()).
func (v UserLicenses) At(i int) License { return v.ls[i].export() }

// Record is the i-th record without copying it: its product, its
// allotment ("" for none) and its state, not to be modified.
func (v UserLicenses) Record(i int) (skuID, allotmentID string, state *LicenseState) {
	l := v.ls[i]
	return l.skuID(), l.allotmentID(), &l.LicenseState
}

// PoolKey is the i-th record's pool key: its SKU id, or "skuId/allotmentId"
// for an allotment's seat (as Delta.Licenses lists it).
func (v UserLicenses) PoolKey(i int) string { return v.ls[i].pool.key }

// UserLicensesOf returns a read-only view of one user's license records
// without copying (see UserLicenses); false if the user does not exist.
// Safe for concurrent readers of an engine that is not being changed.
func (e *Engine) UserLicensesOf(userID string) (UserLicenses, bool) {
	u, ok := e.users[userID]
	if !ok {
		return UserLicenses{}, false
	}
	return UserLicenses{u.licenses}, true
}

// ForEachUserLicenses calls fn for every user in the engine's internal order
// with the user's license records, without copying anything, until fn
// returns false. It allocates nothing and is safe for concurrent readers of
// an engine that is not being changed (the tenant's readers' copy). The
// pointers are valid only during the call.
func (e *Engine) ForEachUserLicenses(fn func(u *User, ls UserLicenses) bool) {
	e.ForEachUserLicensesIn(0, len(e.all), fn)
}

// ForEachUserLicensesIn is ForEachUserLicenses over the users at positions
// [from, to) of the internal order (0 <= from <= to <= UserCount()), so that
// several goroutines can share a walk.
func (e *Engine) ForEachUserLicensesIn(from, to int, fn func(u *User, ls UserLicenses) bool) {
	for _, u := range e.all[from:to] {
		if !fn(u.User, UserLicenses{u.licenses}) {
			return
		}
	}
}

// Group returns a group by id.
func (e *Engine) Group(id string) (Group, bool) {
	g, ok := e.groups[id]
	if !ok {
		return Group{}, false
	}
	return g.Group, true
}

// IsGroup reports whether id is a group of the tenant.
func (e *Engine) IsGroup(id string) bool { _, ok := e.groups[id]; return ok }

// GroupIDs returns every group id, sorted.
func (e *Engine) GroupIDs() []string {
	ids := make([]string, 0, len(e.groups))
	for id := range e.groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Members returns the user and group members of a group, sorted by id.
func (e *Engine) Members(groupID string) (users, groups []string) {
	var b MemberIDs
	e.MembersInto(groupID, &b)
	return b.Users, b.Groups
}

// EachGroupMembers calls fn with every group, in id order, and its direct
// user and group members, each list sorted by id (nil when empty). The
// user lists are views of one array of the call's own, which fn may keep
// (each list has no spare capacity); the group lists are fn's too.
//
// It is the whole directory's memberships at once (a read model's
// build): the users are walked once in id order — the engine's own order
// after a load, checked in one pass; otherwise (after an import or
// commands) they are ordered by id first — and each is appended to its
// groups' lists, so no group's members are ordered on their own (per
// group, MembersInto collects them from a map and sorts them).
func (e *Engine) EachGroupMembers(fn func(groupID string, users, groups []string)) {
	users := e.all
	if !slices.IsSortedFunc(users, func(a, b *user) int { return strings.Compare(a.ID, b.ID) }) {
		users = slices.Clone(users)
		idsort.SortFunc(users, func(u *user) string { return u.ID }, func(a, b *user) int { return strings.Compare(a.ID, b.ID) })
	}
	// Each group's list is a window of one array, sized by a first walk.
	total := 0
	for _, g := range e.groups {
		total += len(g.members)
	}
	all := make([]string, total)
	lists := make(map[*group][]string, len(e.groups))
	for _, g := range e.groups {
		if n := len(g.members); n > 0 {
			lists[g], all = all[:0:n], all[n:]
		}
	}
	for _, u := range users {
		for _, g := range u.groups {
			lists[g] = append(lists[g], u.ID)
		}
	}
	for _, id := range e.GroupIDs() {
		g := e.groups[id]
		var groups []string
		if len(g.memberGroups) > 0 {
			groups = memberGroupIDs(g, make([]string, 0, len(g.memberGroups)))
		}
		fn(id, lists[g], groups)
	}
}

// MemberIDs holds a group's members for MembersInto, in memory that the
// next call with the same MemberIDs reuses: a caller that lists every
// group's members (a read model's build) allocates for the largest group,
// not for every membership.
type MemberIDs struct {
	Users  []string // user members, sorted by id
	Groups []string // group members, sorted by id
	us     []*user  // scratch
}

// MembersInto sets b to the members of a group (none for an unknown
// group). b's slices are valid until b is used again.
func (e *Engine) MembersInto(groupID string, b *MemberIDs) {
	b.Users, b.Groups = b.Users[:0], b.Groups[:0]
	g, ok := e.groups[groupID]
	if !ok {
		return
	}
	b.Users, b.us = memberIDs(g, b.Users, b.us)
	b.Groups = memberGroupIDs(g, b.Groups)
}

// memberGroupIDs appends the ids of a group's group members, sorted, to
// ids[:0].
func memberGroupIDs(g *group, ids []string) []string {
	ids = ids[:0]
	for c := range g.memberGroups {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	return ids
}

// memberIDs appends the ids of a group's user members, sorted, to
// ids[:0], with us as scratch (both returned for reuse). The users are
// ordered by their position in Engine.all first (integers, no string
// read): after a load that is the order of their ids, which one pass then
// checks; otherwise (after an import, or commands) the ids are sorted.
func memberIDs(g *group, ids []string, us []*user) ([]string, []*user) {
	ids, us = ids[:0], us[:0]
	if len(g.members) == 0 {
		return ids, us
	}
	ids, us = slices.Grow(ids, len(g.members)), slices.Grow(us, len(g.members))
	for u := range g.members {
		us = append(us, u)
	}
	slices.SortFunc(us, func(a, b *user) int { return a.idx - b.idx })
	sorted := true
	for i, u := range us {
		ids = append(ids, u.ID)
		sorted = sorted && (i == 0 || ids[i-1] < u.ID)
	}
	clear(us) // the scratch holds no users once done
	if !sorted {
		idsort.Strings(ids)
	}
	return ids, us
}

// MemberCount returns the number of direct members (users and groups).
func (e *Engine) MemberCount(groupID string) int {
	g, ok := e.groups[groupID]
	if !ok {
		return 0
	}
	return len(g.members) + len(g.memberGroups)
}

// LicensedMemberCount returns the number of users who inherit licenses
// through the group: its members, and with nested group licensing the
// members of its member groups (0 for an unknown group).
func (e *Engine) LicensedMemberCount(groupID string) int {
	g, ok := e.groups[groupID]
	if !ok {
		return 0
	}
	return len(e.licensedUsers(g))
}

// GroupsOf returns the groups the user or group is a direct member of,
// sorted.
func (e *Engine) GroupsOf(memberID string) []string {
	var ids []string
	if u, ok := e.users[memberID]; ok {
		for _, g := range u.groups {
			ids = append(ids, g.ID)
		}
	} else if c, ok := e.groups[memberID]; ok {
		for p := range c.parents {
			ids = append(ids, p.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// TransitiveGroupsOf returns every group that contains the user or group,
// directly or through other groups, sorted.
func (e *Engine) TransitiveGroupsOf(memberID string) []string {
	var start []*group
	if u, ok := e.users[memberID]; ok {
		start = append(start, u.groups...)
	} else if c, ok := e.groups[memberID]; ok {
		for p := range c.parents {
			start = append(start, p)
		}
	}
	seen := map[*group]bool{}
	for i := 0; i < len(start); i++ {
		g := start[i]
		if seen[g] {
			continue
		}
		seen[g] = true
		for p := range g.parents {
			start = append(start, p)
		}
	}
	ids := make([]string, 0, len(seen))
	for g := range seen {
		ids = append(ids, g.ID)
	}
	sort.Strings(ids)
	return ids
}

// TransitiveMembers returns the users and groups a group contains,
// directly or through member groups (whatever the nested licensing
// setting: this is directory membership), each sorted; false for an
// unknown group.
func (e *Engine) TransitiveMembers(groupID string) (users, groups []string, ok bool) {
	g, ok := e.groups[groupID]
	if !ok {
		return nil, nil, false
	}
	seenU := map[*user]bool{}
	seenG := map[*group]bool{g: true}
	queue := []*group{g}
	for i := 0; i < len(queue); i++ {
		for u := range queue[i].members {
			if !seenU[u] {
				seenU[u] = true
				users = append(users, u.ID)
			}
		}
		for c := range queue[i].memberGroups {
			if !seenG[c] {
				seenG[c] = true
				groups = append(groups, c.ID)
				queue = append(queue, c)
			}
		}
	}
	sort.Strings(users)
	sort.Strings(groups)
	return users, groups, true
}

// GroupLicenses returns the group's licenses, sorted by SKU id.
func (e *Engine) GroupLicenses(groupID string) []LicenseSource {
	if g, ok := e.groups[groupID]; ok {
		return g.licenses
	}
	return nil
}

// DirectLicenses returns the user's direct licenses, sorted by SKU id.
func (e *Engine) DirectLicenses(userID string) []LicenseSource {
	if u, ok := e.users[userID]; ok {
		return u.direct
	}
	return nil
}

// Licenses returns the user's license records, sorted by SKU id.
func (e *Engine) Licenses(userID string) []License {
	u, ok := e.users[userID]
	if !ok {
		return nil
	}
	out := make([]License, len(u.licenses))
	for i, l := range u.licenses {
		out[i] = l.export()
	}
	return out
}

// LicenseByKey returns the license record of a user for a pool key (a
// skuId, or "skuId/allotmentId"), as listed in Delta.Licenses.
func (e *Engine) LicenseByKey(userID, key string) (License, bool) {
	u, ok := e.users[userID]
	if !ok {
		return License{}, false
	}
	for _, l := range u.licenses {
		if l.pool.key == key {
			return l.export(), true
		}
	}
	return License{}, false
}

// LicensesOf returns every license record of a user for a SKU: outside
// allotments first, then one per allotment.
func (e *Engine) LicensesOf(userID, skuID string) []License {
	u, ok := e.users[userID]
	if !ok {
		return nil
	}
	skuID = strings.ToLower(skuID)
	var out []License
	for _, l := range u.licenses {
		if l.skuID() == skuID {
			out = append(out, l.export())
		}
	}
	return out
}

// License returns the license record of a user for a SKU outside
// allotments (see LicensesOf for allotments).
func (e *Engine) License(userID, skuID string) (License, bool) {
	u, ok := e.users[userID]
	p := e.pools[strings.ToLower(skuID)]
	if !ok || p == nil {
		return License{}, false
	}
	if l := u.licenseOf(p); l != nil {
		return l.export(), true
	}
	return License{}, false
}

// EnabledPlans returns the ids of the plans of the SKU enabled for the user:
// the union over the Active sources of all its records of the SKU (outside
// and through allotments). Empty when no source is active.
func (e *Engine) EnabledPlans(userID, skuID string) []string {
	return e.EnabledPlansIn(userID, skuID, nil)
}

// EnabledPlansIn is EnabledPlans counting only the license records whose
// allotment ("" for the general pool) keep accepts (nil: all): what a
// delegated allotment owner may see of a user's rights.
func (e *Engine) EnabledPlansIn(userID, skuID string, keep func(allotmentID string) bool) []string {
	ls := e.LicensesOf(userID, skuID)
	var all []SourceState
	for _, l := range ls {
		if keep == nil || keep(l.AllotmentID) {
			all = append(all, l.Sources...)
		}
	}
	if len(all) == 0 {
		return nil
	}
	s, ok := e.cat.SKU(ls[0].SKUID)
	if !ok {
		return nil
	}
	return enabledPlans(s, all)
}

func enabledPlans(sku *catalog.SKU, sources []SourceState) []string {
	var out []string
	for _, p := range sku.Plans {
		for i := range sources {
			s := &sources[i]
			if (s.State == StateActive || s.State == StateActiveWithError) && !containsString(s.DisabledPlans, p.ID) {
				out = append(out, p.ID)
				break
			}
		}
	}
	return out
}

// PoolInfo is a SKU's seats as the tenant sees them.
type PoolInfo struct {
	SKU   *catalog.SKU
	Units Units
	// Consumed counts every seat of the SKU held (subscribedSku.consumedUnits),
	// outside allotments and in them.
	Consumed int
	// Waiting counts users waiting for a seat outside allotments (each
	// allotment has its own waiting room, see AllotmentInfo).
	Waiting int
	// Allotted is the units carved out into allotments.
	Allotted int
}

func (e *Engine) poolInfo(p *pool) PoolInfo {
	consumed := p.consumed
	for _, a := range e.allotments {
		if a.SKUID == p.sku.ID {
			consumed += a.pool.consumed
		}
	}
	return PoolInfo{SKU: p.sku, Units: p.units, Consumed: consumed, Waiting: len(p.waiting), Allotted: e.allotted[p.sku.ID]}
}

// Pool returns a SKU's seats.
func (e *Engine) Pool(skuID string) (PoolInfo, bool) {
	p := e.pools[strings.ToLower(skuID)]
	if p == nil {
		if s, ok := e.cat.SKU(skuID); ok {
			p = e.pools[s.ID]
		}
	}
	if p == nil {
		return PoolInfo{}, false
	}
	return e.poolInfo(p), true
}

// Pools returns every SKU the tenant has units of, by part number.
func (e *Engine) Pools() []PoolInfo {
	ps := e.sortedPools()
	out := make([]PoolInfo, len(ps))
	for i, p := range ps {
		out[i] = e.poolInfo(p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SKU.PartNumber < out[j].SKU.PartNumber })
	return out
}

// WaitingRoom returns the claims waiting for a seat of the SKU, oldest
// first.
func (e *Engine) WaitingRoom(skuID string) []License {
	p := e.pools[strings.ToLower(skuID)]
	if p == nil {
		return nil
	}
	return waitingOf(p)
}

// OldestWaiting returns the oldest waiting claim of a SKU's pool outside
// allotments (allotmentID "") or of an allotment, and how many claims wait
// there; false when none does. O(1): the waiting room is a heap.
func (e *Engine) OldestWaiting(skuID, allotmentID string) (License, int, bool) {
	p := e.pools[strings.ToLower(skuID)]
	if allotmentID != "" {
		a, ok := e.allotments[allotmentID]
		if !ok {
			return License{}, 0, false
		}
		p = a.pool
	}
	if p == nil || len(p.waiting) == 0 {
		return License{}, 0, false
	}
	return p.waiting[0].export(), len(p.waiting), true
}

// GroupErrorCount is the number of the group's member sources in Error
// (one per member and product): what HasMembersWithLicenseErrors tests.
func (e *Engine) GroupErrorCount(groupID string) int {
	if g, ok := e.groups[groupID]; ok {
		return g.errors.n
	}
	return 0
}

// GroupErrorCountOf is the number of the group's member sources in Error
// with one of the error codes (ErrCountViolation, …; a code named twice
// counts once), in O(len(codes)): the engine keeps the counts by code
// as it keeps GroupErrorCount.
func (e *Engine) GroupErrorCountOf(groupID string, codes ...string) int {
	g, ok := e.groups[groupID]
	if !ok {
		return 0
	}
	var seen [len(errorCodes) + 1]bool
	n := 0
	for _, w := range codes {
		c, _ := ParseSourceErrorCode(w) // a word that is no code counts none
		if i := errorSlot(c); i < len(errorCodes) && !seen[i] {
			seen[i] = true
			n += int(g.errors.byCode[i])
		}
	}
	return n
}

// waitingOf returns a pool's waiting claims, oldest first.
func waitingOf(p *pool) []License {
	ls := make([]*license, len(p.waiting))
	copy(ls, p.waiting)
	sort.Slice(ls, func(i, j int) bool { return waitLess(ls[i], ls[j]) })
	out := make([]License, len(ls))
	for i, l := range ls {
		out[i] = l.export()
	}
	return out
}

// waitingPosition returns the 1-based place of l in its waiting room.
func waitingPosition(l *license) int {
	pos := 1
	for _, o := range l.pool.waiting {
		if o != l && waitLess(o, l) {
			pos++
		}
	}
	return pos
}

// HasMembersWithLicenseErrors reports whether any user the group licenses
// has a source from the group in Error.
func (e *Engine) HasMembersWithLicenseErrors(groupID string) bool {
	g, ok := e.groups[groupID]
	return ok && g.errors.n > 0
}

// MembersWithLicenseErrors returns the users with a source from the group
// in Error, sorted by id.
func (e *Engine) MembersWithLicenseErrors(groupID string) []string {
	g, ok := e.groups[groupID]
	if !ok || g.errors.n == 0 {
		return nil
	}
	var ids []string
	for _, u := range e.licensedUsers(g) {
		for _, l := range u.licenses {
			if hasGroupError(l.Sources, groupID) {
				ids = append(ids, u.ID)
				break
			}
		}
	}
	return ids
}

func hasGroupError(ss []SourceState, groupID string) bool {
	for _, s := range ss {
		if s.AssignedByGroup == groupID && s.State == StateError {
			return true
		}
	}
	return false
}

// IsMember reports whether memberID (a user or a group) is a direct member
// of the group, in O(1).
func (e *Engine) IsMember(groupID, memberID string) bool {
	g, ok := e.groups[groupID]
	if !ok {
		return false
	}
	if u, ok := e.users[memberID]; ok {
		return u.inGroup(g)
	}
	if c, ok := e.groups[memberID]; ok {
		_, in := g.memberGroups[c]
		return in
	}
	return false
}

// CapabilityStatus is the capabilityStatus of a SKU's subscription
// (subscribedSku) and of the plans its holders have (assignedPlans):
// Enabled, Warning, Suspended, LockedOut or Deleted. The holders of a SKU
// share its status: when a SKU's units are in several states, the seats
// beyond the enabled units are reported by the license position, not per
// user.
func (e *Engine) CapabilityStatus(skuID string) string {
	p := e.pools[strings.ToLower(skuID)]
	if p == nil || p.units.Status == "" {
		return "Enabled"
	}
	return p.units.Status
}
