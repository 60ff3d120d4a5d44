package licensing

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Applying a committed change: an engine that follows another (the
// readers' copy of a tenant, a follower process) is brought to the state
// the other reached by setting the records a committed change holds —
// users, groups, memberships, license sources, license records (claims,
// seats, source states), units, allotments and settings — never by running
// the commands again. What the records imply is kept with them: pools'
// consumption and waiting rooms, groups' error counts, the index of
// dynamic membership rules, the UPN index, and the claim-phase flags of
// the users the change can concern (eligible, bundled), which a command
// on the following engine reads as if it had run the commands itself.
//
// The records must be what a committed change of a consistent engine
// holds (the delta of a batch, serialised): a reference to an object that
// does not exist is an error, and the engine may then be half-changed (the
// caller rebuilds it from the store).

// Applier collects the records of one committed change; Finish applies
// them in dependency order. The zero value is not usable: see
// Engine.NewApplier.
type Applier struct {
	e        *Engine
	settings *Settings
	units    []unitsRec
	allots   []allotRec
	users    []userRec
	groups   []groupRec
	members  []memberRec
	gls, dls []sourceRec
	lics     []licenseRec
	// everyone: a change that concerns every user's flags (settings, the
	// catalog).
	everyone bool
}

type unitsRec struct {
	sku   string
	units Units
}

type allotRec struct {
	id string
	a  *Allotment // nil: deleted
}

type userRec struct {
	id string
	u  *User // nil: deleted
}

type groupRec struct {
	id string
	g  *Group // nil: deleted
}

type memberRec struct {
	group, member string
	isGroup, put  bool
}

type sourceRec struct {
	owner, key string
	s          *LicenseSource // nil: deleted
}

type licenseRec struct {
	user, key string
	l         *License // nil: deleted
}

// NewApplier starts applying one committed change to e.
func (e *Engine) NewApplier() *Applier { return &Applier{e: e} }

// Settings records the tenant settings of the change.
func (a *Applier) Settings(s Settings) { a.settings = &s }

// Units records a SKU's units.
func (a *Applier) Units(skuID string, u Units) { a.units = append(a.units, unitsRec{skuID, u}) }

// Allotment records an allotment (nil: deleted).
func (a *Applier) Allotment(id string, al *Allotment) { a.allots = append(a.allots, allotRec{id, al}) }

// User records a user (nil: deleted).
func (a *Applier) User(id string, u *User) { a.users = append(a.users, userRec{id, u}) }

// Group records a group (nil: deleted).
func (a *Applier) Group(id string, g *Group) { a.groups = append(a.groups, groupRec{id, g}) }

// Member records a membership of a user or a group (isGroup) in a group;
// put false: removed.
func (a *Applier) Member(groupID, memberID string, isGroup, put bool) {
	a.members = append(a.members, memberRec{groupID, memberID, isGroup, put})
}

// GroupLicense records a group's license source under its pool key (skuId,
// or skuId/allotmentId); nil: removed.
func (a *Applier) GroupLicense(groupID, key string, s *LicenseSource) {
	a.gls = append(a.gls, sourceRec{groupID, key, s})
}

// DirectLicense records a user's direct license source under its pool key;
// nil: removed.
func (a *Applier) DirectLicense(userID, key string, s *LicenseSource) {
	a.dls = append(a.dls, sourceRec{userID, key, s})
}

// License records a license record (user, pool key); nil: deleted.
func (a *Applier) License(userID, key string, l *License) {
	a.lics = append(a.lics, licenseRec{userID, key, l})
}

// CatalogChanged says the change replaced the engine's catalog
// (Engine.SetCatalog, called by the caller before Finish): every user's
// flags are derived again.
func (a *Applier) CatalogChanged() { a.everyone = true }

// Finish applies the recorded change and advances the engine's clock to
// clock (the clock of the engine that made the change). What it changed
// is in the engine's delta, as a command's would be (without audit
// entries), for the read models that follow the engine. The steps, in
// dependency order: settings, units and allotments; users and groups;
// memberships; sources; license records; then what goes (groups, users,
// allotments, each once nothing refers to it), and last the claim flags of
// the users the change concerns.
func (a *Applier) Finish(clock time.Time) error {
	t := &touches{users: map[*user]struct{}{}}
	steps := []func(*touches) error{a.finishPools, a.finishDirectory, a.finishMembers, a.finishSources, a.finishLicenses, a.finishDeletes}
	for _, step := range steps {
		if err := step(t); err != nil {
			return err
		}
	}
	e := a.e
	if a.everyone {
		for _, u := range e.all {
			t.users[u] = struct{}{}
		}
	} else {
		for _, g := range t.groups {
			if e.groups[g.ID] != g {
				continue // deleted
			}
			for _, u := range e.usersUnder(g) {
				t.users[u] = struct{}{}
			}
		}
	}
	for u := range t.users {
		e.w.deriveFlags(u, clock)
	}
	if clock.After(e.clock) {
		e.clock = clock
	}
	return nil
}

// touches collects the users and groups whose records a change set: the
// users whose claim flags it may change, directly or through a group.
type touches struct {
	users  map[*user]struct{}
	groups []*group
}

// finishPools applies the settings, units and the allotments written.
func (a *Applier) finishPools(*touches) error {
	e := a.e
	if a.settings != nil {
		e.settings = *a.settings
		e.delta.Settings = true
		a.everyone = true
	}
	for _, r := range a.units {
		s, ok := e.cat.SKU(r.sku)
		if !ok {
			return fmt.Errorf("units of unknown SKU %s", r.sku)
		}
		e.ensurePool(s).units = r.units
		mark(&e.delta.Pools, r.sku, true)
	}
	for _, r := range a.allots {
		if r.a != nil {
			if err := a.putAllotment(*r.a); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishDirectory applies the users and groups written.
func (a *Applier) finishDirectory(t *touches) error {
	for _, r := range a.users {
		if r.u != nil {
			t.users[a.putUser(*r.u)] = struct{}{}
		}
	}
	for _, r := range a.groups {
		if r.g != nil {
			t.groups = append(t.groups, a.putGroup(*r.g))
		}
	}
	return nil
}

// finishMembers applies the memberships: removals first, so that a change
// that moves a member never meets it twice.
func (a *Applier) finishMembers(t *touches) error {
	for _, put := range []bool{false, true} {
		for _, r := range a.members {
			if r.put != put {
				continue
			}
			u, err := a.member(r)
			if err != nil {
				return err
			}
			if u != nil {
				t.users[u] = struct{}{}
			} else if g := a.e.groups[r.member]; g != nil {
				t.groups = append(t.groups, g)
			}
		}
	}
	return nil
}

// finishSources applies the groups' and users' license sources.
func (a *Applier) finishSources(t *touches) error {
	e := a.e
	for _, r := range a.gls {
		g, ok := e.groups[r.owner]
		if !ok {
			return fmt.Errorf("license %s of missing group %s", r.key, r.owner)
		}
		g.licenses = setSource(g.licenses, r.key, r.s)
		mark(&e.delta.GroupLicenses, Key2{r.owner, r.key}, r.s != nil)
		t.groups = append(t.groups, g)
	}
	for _, r := range a.dls {
		u, ok := e.users[r.owner]
		if !ok {
			return fmt.Errorf("license %s of missing user %s", r.key, r.owner)
		}
		u.direct = setSource(u.direct, r.key, r.s)
		mark(&e.delta.DirectLicenses, Key2{r.owner, r.key}, r.s != nil)
		t.users[u] = struct{}{}
	}
	return nil
}

// finishLicenses applies the license records: deletions first (a user's
// record of an allotment that goes, …), then the records written.
func (a *Applier) finishLicenses(t *touches) error {
	for _, put := range []bool{false, true} {
		for _, r := range a.lics {
			if (r.l != nil) != put {
				continue
			}
			u, err := a.license(r)
			if err != nil {
				return err
			}
			t.users[u] = struct{}{}
		}
	}
	return nil
}

// finishDeletes removes the groups, users and allotments that go.
func (a *Applier) finishDeletes(t *touches) error {
	e := a.e
	for _, r := range a.groups {
		if r.g == nil {
			if err := a.deleteGroup(r.id); err != nil {
				return err
			}
		}
	}
	for _, r := range a.users {
		if r.u == nil {
			u, ok := e.users[r.id]
			if !ok {
				return fmt.Errorf("deleted user %s does not exist", r.id)
			}
			delete(t.users, u)
			if err := a.deleteUser(u); err != nil {
				return err
			}
		}
	}
	for _, r := range a.allots {
		if r.a == nil {
			if err := a.deleteAllotment(r.id); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *Applier) putAllotment(in Allotment) error {
	e := a.e
	if x, ok := e.allotments[in.ID]; ok {
		if x.SKUID != in.SKUID {
			return fmt.Errorf("allotment %s changed its SKU", in.ID)
		}
		e.allotted[in.SKUID] += in.AllottedUnits - x.AllottedUnits
		x.Allotment = in
	} else if err := e.LoadAllotment(in); err != nil {
		return err
	}
	mark(&e.delta.Allotments, in.ID, true)
	return nil
}

func (a *Applier) deleteAllotment(id string) error {
	e := a.e
	x, ok := e.allotments[id]
	if !ok {
		return fmt.Errorf("deleted allotment %s does not exist", id)
	}
	e.allotted[x.SKUID] -= x.AllottedUnits
	delete(e.allotments, id)
	mark(&e.delta.Allotments, id, false)
	return nil
}

func (a *Applier) putUser(in User) *user {
	e := a.e
	mark(&e.delta.Users, in.ID, true)
	if u, ok := e.users[in.ID]; ok {
		e.dropUPN(u)
		u.User = &in
		if k := UPNKey(in.UserPrincipalName); e.byUPN[k] == nil {
			e.byUPN[k] = u
		}
		return u
	}
	_ = e.LoadUser(in) // the id is new and not empty
	return e.users[in.ID]
}

func (a *Applier) deleteUser(u *user) error {
	e := a.e
	if len(u.licenses) > 0 || len(u.direct) > 0 {
		return fmt.Errorf("deleted user %s keeps %d license record(s) and %d source(s)", u.ID, len(u.licenses), len(u.direct))
	}
	for _, g := range u.groups {
		delete(g.members, u)
	}
	u.groups = nil
	e.dropUser(u)
	e.dropUPN(u)
	mark(&e.delta.Users, u.ID, false)
	return nil
}

func (a *Applier) putGroup(in Group) *group {
	e := a.e
	if in.AssignmentMode == "" {
		in.AssignmentMode = ModePerProduct
	}
	g, ok := e.groups[in.ID]
	if !ok {
		g = &group{members: make(map[*user]struct{}), memberGroups: make(map[*group]struct{}), parents: make(map[*group]struct{})}
		e.groups[in.ID] = g
	}
	g.Group = in
	if r, err := compileRule(&in); err == nil && r != nil {
		e.dyn.Set(in.ID, r)
	} else {
		e.dyn.Delete(in.ID)
	}
	mark(&e.delta.Groups, in.ID, true)
	return g
}

func (a *Applier) deleteGroup(id string) error {
	e := a.e
	g, ok := e.groups[id]
	if !ok {
		return fmt.Errorf("deleted group %s does not exist", id)
	}
	for u := range g.members {
		u.groups = removeGroup(u.groups, g)
	}
	for c := range g.memberGroups {
		delete(c.parents, g)
	}
	for p := range g.parents {
		delete(p.memberGroups, g)
	}
	delete(e.groups, id)
	e.dyn.Delete(id)
	mark(&e.delta.Groups, id, false)
	return nil
}

// member applies one membership; it returns the user member (nil for a
// group member).
func (a *Applier) member(r memberRec) (*user, error) {
	e := a.e
	g, ok := e.groups[r.group]
	if !ok {
		if !r.put {
			// The group is deleted by this change; deleteGroup drops
			// what is left.
			mark(&e.delta.Members, Key2{r.group, r.member}, false)
			return e.users[r.member], nil
		}
		return nil, fmt.Errorf("membership in missing group %s", r.group)
	}
	mark(&e.delta.Members, Key2{r.group, r.member}, r.put)
	if u, ok := e.users[r.member]; ok && !r.isGroup {
		in := u.inGroup(g)
		switch {
		case r.put && !in:
			g.members[u] = struct{}{}
			u.groups = append(u.groups, g)
		case !r.put && in:
			delete(g.members, u)
			u.groups = removeGroup(u.groups, g)
		}
		return u, nil
	}
	c, ok := e.groups[r.member]
	if !ok {
		if !r.put {
			return nil, nil // a member deleted by this change
		}
		return nil, fmt.Errorf("member %s of group %s does not exist", r.member, r.group)
	}
	if r.put {
		g.memberGroups[c] = struct{}{}
		c.parents[g] = struct{}{}
	} else {
		delete(g.memberGroups, c)
		delete(c.parents, g)
	}
	return nil, nil
}

// setSource sets (s) or removes (nil) the source under a pool key in a
// list sorted by SKU, then allotment.
func setSource(list []LicenseSource, key string, s *LicenseSource) []LicenseSource {
	sku, allot, _ := strings.Cut(key, "/")
	i := slices.IndexFunc(list, func(x LicenseSource) bool { return x.SKUID == sku && x.AllotmentID == allot })
	switch {
	case s == nil && i >= 0:
		return slices.Delete(list, i, i+1)
	case s == nil:
		return list
	case i >= 0:
		list[i] = *s
		return list
	}
	list = append(list, *s)
	sortSources(list)
	return list
}

// license applies one license record and keeps its pool's consumption and
// waiting room, and its groups' error counts, in step.
func (a *Applier) license(r licenseRec) (*user, error) {
	e := a.e
	u, ok := e.users[r.user]
	if !ok {
		return nil, fmt.Errorf("license record %s of missing user %s", r.key, r.user)
	}
	sku, allotID, _ := strings.Cut(r.key, "/")
	p := e.sourcePool(&LicenseSource{SKUID: sku, AllotmentID: allotID})
	var l *license
	if p != nil {
		l = u.licenseOf(p)
	}
	e.delta.Licenses = append(e.delta.Licenses, Key2{r.user, r.key})
	if l != nil {
		// Take the old record out of the pool's books.
		if l.Held {
			p.consumed--
		} else if l.waitIdx >= 0 {
			p.waiting.remove(int(l.waitIdx))
		}
		e.countErrors(l.Sources, -1)
	}
	if r.l == nil {
		if l != nil {
			i := slices.Index(u.licenses, l)
			u.licenses = slices.Delete(u.licenses, i, i+1)
		}
		return u, nil
	}
	if p == nil {
		return nil, fmt.Errorf("license record %s of user %s has no pool", r.key, r.user)
	}
	if l == nil {
		l = &license{user: u, pool: p, waitIdx: -1}
		l.LicenseState = r.l.LicenseState
		u.addLicense(l)
	} else {
		l.LicenseState = r.l.LicenseState
	}
	e.internLicense(&l.LicenseState) // as a load does: the decoded groups' ids are copies
	if l.Held {
		p.consumed++
	} else if l.Claimed {
		p.waiting.push(l)
	}
	e.countErrors(l.Sources, +1)
	return u, nil
}

// usersUnder returns the users whose sources a group's records can
// change: its members, and with nested group licensing the members of its
// member groups.
func (e *Engine) usersUnder(g *group) []*user {
	seen := map[*group]bool{g: true}
	queue := []*group{g}
	var out []*user
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		for u := range x.members {
			out = append(out, u)
		}
		if !e.settings.NestedGroups {
			continue
		}
		for c := range x.memberGroups {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	return out
}

// deriveFlags derives the claim-phase flags of the user's license records
// (eligible, bundled) from its sources, as reclaim and markBundled do, and
// changes nothing else: on a consistent engine the records already say
// what those derive.
func (w *worker) deriveFlags(u *user, now time.Time) {
	e := w.e
	srcs := w.gatherSources(u, now, u.hasKept())
	w.block(srcs, e.usageLocation(u))
	for _, l := range u.licenses {
		l.eligible, l.bundled = false, false
	}
	for i := range srcs {
		if srcs[i].blocked == ErrUnset {
			if l := u.licenseOf(srcs[i].pool); l != nil {
				l.eligible = true
			}
		}
	}
	if !w.scratch.allOrNone {
		return
	}
	for _, l := range u.licenses {
		if l.Claimed && l.eligible {
			_, l.bundled, _ = w.coClaims(u, l, srcs, true)
		}
	}
}

// Diff describes the first difference between two engines' complete
// states — every record, and what the engine derives and keeps from them
// (pools' consumption and waiting rooms, error counts, claim-phase flags,
// the dynamic rules, the clock) — or is "" when they are the same. It is
// for tests and checks of engines that follow another (Applier).
func Diff(a, b *Engine) string {
	if !a.clock.Equal(b.clock) {
		return fmt.Sprintf("clock %s vs %s", a.clock, b.clock)
	}
	if a.settings.DefaultUsageLocation != b.settings.DefaultUsageLocation || a.settings.ExcludeGuests != b.settings.ExcludeGuests ||
		a.settings.NestedGroups != b.settings.NestedGroups || a.settings.LeaveAttribute != b.settings.LeaveAttribute {
		return fmt.Sprintf("settings %+v vs %+v", a.settings, b.settings)
	}
	if len(a.users) != len(b.users) || len(a.byUPN) != len(b.byUPN) || len(a.all) != len(b.all) {
		return fmt.Sprintf("%d/%d/%d users vs %d/%d/%d", len(a.users), len(a.byUPN), len(a.all), len(b.users), len(b.byUPN), len(b.all))
	}
	for k, u := range a.byUPN {
		if v := b.byUPN[k]; v == nil || v.ID != u.ID {
			return "UPN index differs at " + k
		}
	}
	for id, u := range a.users {
		v := b.users[id]
		if v == nil {
			return "user " + id + " missing"
		}
		if d := diffUser(u, v); d != "" {
			return "user " + id + ": " + d
		}
	}
	if len(a.groups) != len(b.groups) {
		return fmt.Sprintf("%d groups vs %d", len(a.groups), len(b.groups))
	}
	for id, g := range a.groups {
		h := b.groups[id]
		if h == nil {
			return "group " + id + " missing"
		}
		if d := diffGroup(g, h); d != "" {
			return "group " + id + ": " + d
		}
		ra, rb := a.dyn.Get(id), b.dyn.Get(id)
		if (ra == nil) != (rb == nil) {
			return "dynamic rule index differs at group " + id
		}
	}
	return diffPools(a, b)
}

// diffPools compares the pools and allotments of two engines.
func diffPools(a, b *Engine) string {
	if len(a.pools) != len(b.pools) || len(a.allotments) != len(b.allotments) {
		return fmt.Sprintf("%d pools, %d allotments vs %d, %d", len(a.pools), len(a.allotments), len(b.pools), len(b.allotments))
	}
	for id, p := range a.pools {
		q := b.pools[id]
		if q == nil {
			return "pool " + id + " missing"
		}
		if d := diffPool(p, q); d != "" {
			return "pool " + id + ": " + d
		}
		if a.allotted[id] != b.allotted[id] {
			return fmt.Sprintf("allotted units of %s: %d vs %d", id, a.allotted[id], b.allotted[id])
		}
	}
	for id, x := range a.allotments {
		y := b.allotments[id]
		if y == nil {
			return "allotment " + id + " missing"
		}
		if fmt.Sprint(x.Allotment) != fmt.Sprint(y.Allotment) {
			return fmt.Sprintf("allotment %s: %+v vs %+v", id, x.Allotment, y.Allotment)
		}
		if d := diffPool(x.pool, y.pool); d != "" {
			return "allotment " + id + ": " + d
		}
	}
	return ""
}

func diffUser(u, v *user) string {
	if !u.User.Equal(v.User) {
		a, _ := json.Marshal(u.User)
		b, _ := json.Marshal(v.User)
		return fmt.Sprintf("properties %s vs %s", a, b)
	}
	// The order of direct sources is not state: commands append, a load
	// sorts.
	du, dv := slices.Clone(u.direct), slices.Clone(v.direct)
	sortSources(du)
	sortSources(dv)
	if fmt.Sprint(du) != fmt.Sprint(dv) {
		return fmt.Sprintf("direct sources %v vs %v", du, dv)
	}
	if !sameGroups(u.groups, v.groups) {
		return "group memberships differ"
	}
	if len(u.licenses) != len(v.licenses) {
		return fmt.Sprintf("%d license records vs %d", len(u.licenses), len(v.licenses))
	}
	for i, l := range u.licenses {
		m := v.licenses[i]
		if l.pool.key != m.pool.key {
			return "license record " + l.pool.key + " vs " + m.pool.key
		}
		a, b := l.export(), m.export()
		if d := diffRecord(&a, &b); d != "" {
			return "license record " + l.pool.key + ": " + d
		}
		if l.eligible != m.eligible || l.bundled != m.bundled || (l.waitIdx >= 0) != (m.waitIdx >= 0) {
			return fmt.Sprintf("license record %s: eligible %v bundled %v waiting %v vs %v %v %v", l.pool.key,
				l.eligible, l.bundled, l.waitIdx >= 0, m.eligible, m.bundled, m.waitIdx >= 0)
		}
	}
	return ""
}

// diffRecord compares two license records by value (JSON: kept parts
// are behind pointers).
func diffRecord(a, b *License) string {
	x, errx := json.Marshal(a)
	y, erry := json.Marshal(b)
	if errx != nil || erry != nil || string(x) != string(y) {
		return string(x) + " vs " + string(y)
	}
	return ""
}

func sameGroups(a, b []*group) bool {
	if len(a) != len(b) {
		return false
	}
	ids := func(gs []*group) []string {
		out := make([]string, len(gs))
		for i, g := range gs {
			out[i] = g.ID
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(ids(a), ids(b))
}

func diffGroup(g, h *group) string {
	if fmt.Sprintf("%+v", g.Group) != fmt.Sprintf("%+v", h.Group) {
		return fmt.Sprintf("properties %+v vs %+v", g.Group, h.Group)
	}
	gl, hl := slices.Clone(g.licenses), slices.Clone(h.licenses)
	sortSources(gl)
	sortSources(hl)
	if fmt.Sprint(gl) != fmt.Sprint(hl) {
		return fmt.Sprintf("licenses %v vs %v", g.licenses, h.licenses)
	}
	if g.errors != h.errors {
		return fmt.Sprintf("error counts %+v vs %+v", g.errors, h.errors)
	}
	if len(g.members) != len(h.members) || len(g.memberGroups) != len(h.memberGroups) || len(g.parents) != len(h.parents) {
		return "member counts differ"
	}
	ids := make(map[string]bool, len(h.members))
	for v := range h.members {
		ids[v.ID] = true
	}
	for u := range g.members {
		if !ids[u.ID] {
			return "member " + u.ID + " missing"
		}
	}
	for c := range g.memberGroups {
		if _, ok := h.memberGroups[c]; ok {
			continue // the same engine
		}
		found := false
		for d := range h.memberGroups {
			found = found || d.ID == c.ID
		}
		if !found {
			return "member group " + c.ID + " missing"
		}
	}
	return ""
}

func diffPool(p, q *pool) string {
	if p.key != q.key || p.units != q.units || p.consumed != q.consumed || len(p.waiting) != len(q.waiting) {
		return fmt.Sprintf("units %+v consumed %d waiting %d vs units %+v consumed %d waiting %d", p.units, p.consumed, len(p.waiting), q.units, q.consumed, len(q.waiting))
	}
	for i, l := range p.waiting {
		if int(l.waitIdx) != i {
			return "waiting room index broken"
		}
	}
	for i, l := range q.waiting {
		if int(l.waitIdx) != i {
			return "waiting room index broken"
		}
	}
	ids := func(h waitHeap) []string {
		out := make([]string, len(h))
		for i, l := range h {
			out[i] = l.userID() + "@" + l.Since.String()
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(ids(p.waiting), ids(q.waiting)) {
		return "waiting rooms differ"
	}
	return ""
}
