package bundle

import (
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"allot"
	"allot/catalog"
	"allot/identity"
	"allot/licensing"
	"allot/rules"
	"allot/tenant"
)

// Validate checks the bundle against itself and the tenant it goes into,
// resolves products and plans to ids, and returns the data to import. The
// first problem is returned with its file and line; nothing is changed.
// The steps run in dependency order: subscriptions, allotments, users,
// groups, memberships, licenses, seat claims.
func (b *Bundle) Validate(e *licensing.Engine) (licensing.ImportData, error) {
	v := &validation{b: b, e: e, cat: e.Catalog(), out: licensing.ImportData{Units: map[string]int{}}}
	for _, step := range []func() error{v.units, v.allotments, v.users, v.groups, v.members, v.licenses, v.seats} {
		if err := step(); err != nil {
			return v.out, err
		}
	}
	return v.out, nil
}

// validation is the state of one Validate: what the bundle has defined so
// far, which later steps refer to.
type validation struct {
	b   *Bundle
	e   *licensing.Engine
	cat *catalog.Catalog
	out licensing.ImportData

	allotSKU  map[string]string           // allotment id → SKU id (bundle and tenant)
	userIDs   map[string]bool             // the bundle's users
	groupByID map[string]*licensing.Group // the bundle's groups
}

// units resolves the subscriptions' products.
func (v *validation) units() error {
	for part, n := range v.b.Data.Units {
		s, ok := v.cat.SKU(part)
		if !ok {
			return allot.Errorf(allot.EINVALID, "%s: unknown product %q", v.b.subLine[part], part)
		}
		v.out.Units[s.ID] += n
	}
	return v.b.validateSubs(v.e)
}

// hasUnits reports whether the bundle or the tenant has units of a SKU.
func (v *validation) hasUnits(skuID string) bool {
	if _, ok := v.out.Units[skuID]; ok {
		return true
	}
	_, ok := v.e.Pool(skuID)
	return ok
}

// allotments checks the bundle's allotments and indexes every allotment's
// SKU.
func (v *validation) allotments() error {
	b := v.b
	v.allotSKU = map[string]string{}
	for i, a := range b.Data.Allotments {
		s, ok := v.cat.SKU(a.SKUID)
		if !ok || !v.hasUnits(s.ID) {
			return allot.Errorf(allot.EINVALID, "%s: product %q has no subscription in the bundle or the tenant", b.allotLine.at(i), a.SKUID)
		}
		if a.ID == "" || a.DisplayName == "" {
			return allot.Errorf(allot.EINVALID, "%s: an allotment needs an id and a displayName", b.allotLine.at(i))
		}
		if _, dup := v.allotSKU[a.ID]; dup {
			return allot.Errorf(allot.EINVALID, "%s: allotment %s is listed twice", b.allotLine.at(i), a.ID)
		}
		a.SKUID = s.ID
		v.allotSKU[a.ID] = s.ID
		v.out.Allotments = append(v.out.Allotments, a)
	}
	for _, a := range v.e.Allotments() {
		if _, ok := v.allotSKU[a.ID]; !ok {
			v.allotSKU[a.ID] = a.SKUID
		}
	}
	return nil
}

// users applies the engine's rules of a user's properties
// (licensing.CheckUser) and keeps ids and userPrincipalNames unique across
// the bundle and the tenant.
//
// Each user is checked, in order: its properties, its id against those
// before it, its userPrincipalName against those before it, then against
// the tenant's. The ids and the userPrincipalNames are checked on two
// goroutines (each with a set of its own; the users are only read), and
// the first refusal in that order is returned.
func (v *validation) users() error {
	b, d := v.b, v.b.Data
	v.userIDs = make(map[string]bool, len(d.Users))
	ids := func() (int, error) {
		for i := range d.Users {
			u := &d.Users[i]
			if err := licensing.CheckUser(u); err != nil {
				return i, allot.Errorf(allot.EINVALID, "%s: %s", b.userLine.at(i), allot.ErrorMessage(err))
			}
			if v.userIDs[u.ID] {
				return i, allot.Errorf(allot.EINVALID, "%s: user %s is listed twice", b.userLine.at(i), u.ID)
			}
			v.userIDs[u.ID] = true
		}
		return len(d.Users), nil
	}
	upns := func() (int, error) {
		upns := make(map[string]string, len(d.Users))
		for i := range d.Users {
			u := &d.Users[i]
			k := strings.ToLower(u.UserPrincipalName)
			if other, dup := upns[k]; dup {
				return i, allot.Errorf(allot.EINVALID, "%s: userPrincipalName %s is also used by user %s", b.userLine.at(i), u.UserPrincipalName, other)
			}
			if existing, ok := v.e.UserByUPN(u.UserPrincipalName); ok && existing.ID != u.ID {
				return i, allot.Errorf(allot.EINVALID, "%s: userPrincipalName %s belongs to another user of the tenant (%s)", b.userLine.at(i), u.UserPrincipalName, existing.ID)
			}
			upns[k] = u.ID
		}
		return len(d.Users), nil
	}
	var i1, i2 int
	var err1, err2 error
	if len(d.Users) >= minUsersApart {
		var wg sync.WaitGroup
		wg.Go(func() { i2, err2 = upns() })
		i1, err1 = ids()
		wg.Wait()
	} else {
		i1, err1 = ids()
		i2, err2 = upns()
	}
	// At the same user, the checks of ids come first.
	if err1 != nil && (err2 == nil || i1 <= i2) {
		return err1
	}
	if err2 != nil {
		return err2
	}
	v.out.Users = d.Users
	return nil
}

// minUsersApart keeps small bundles' users on one goroutine (tests lower
// it).
var minUsersApart = 16384

// isUser reports whether id is a user of the bundle or the tenant.
func (v *validation) isUser(id string) bool {
	if v.userIDs[id] {
		return true
	}
	_, ok := v.e.User(id)
	return ok
}

// groups applies the engine's rules of a group's properties
// (licensing.CheckGroup), parses membership rules and keeps ids unique.
func (v *validation) groups() error {
	b, d := v.b, v.b.Data
	v.groupByID = map[string]*licensing.Group{}
	for i := range d.Groups {
		g := &d.Groups[i]
		if err := licensing.CheckGroup(g); err != nil {
			return allot.Errorf(allot.EINVALID, "%s: %s", b.groupLine.at(i), allot.ErrorMessage(err))
		}
		if v.groupByID[g.ID] != nil || v.userIDs[g.ID] {
			return allot.Errorf(allot.EINVALID, "%s: id %s is listed twice", b.groupLine.at(i), g.ID)
		}
		if g.MembershipRule != "" {
			if _, err := rules.Parse(g.MembershipRule); err != nil {
				return allot.Errorf(allot.EINVALID, "%s: membershipRule: %v", b.groupLine.at(i), err)
			}
		}
		v.groupByID[g.ID] = g
	}
	v.out.Groups = d.Groups
	return nil
}

// groupOf reports whether id is a group of the bundle or the tenant, and
// whether it is dynamic.
func (v *validation) groupOf(id string) (dynamic bool, ok bool) {
	if g := v.groupByID[id]; g != nil {
		return g.MembershipRule != "", true
	}
	if g, found := v.e.Group(id); found {
		return g.IsDynamic(), true
	}
	return false, false
}

// members checks the memberships; members of dynamic groups follow their
// rules and are skipped. Each membership is checked, in order: its group,
// its member, that it came before, that it is not its group's own. When
// each group's memberships are one run (runsApart), the runs are checked
// on every core, each a range of them, and the first refusal in order is
// that of the first range with one.
func (v *validation) members() error {
	b, d := v.b, v.b.Data
	ms := d.Members
	// A member read as a user of users.csv is one (users checked them all).
	known := b.memberUser
	if len(known) != len(ms) {
		known = nil
	}
	out := make([][2]string, len(ms))
	// check checks ms[from:to] and keeps those of static groups at the
	// start of out[from:to]; it returns how many, or the first refusal.
	check := func(from, to int, dup func(int) bool) (int, error) {
		var group string // the group of the run so far, and what groupOf said of it
		var dyn, ok bool
		n := from
		for i := from; i < to; i++ {
			m := ms[i]
			if i == from || m[0] != group {
				group = m[0]
				dyn, ok = v.groupOf(group)
			}
			if !ok {
				return 0, allot.Errorf(allot.EINVALID, "%s: group %s does not exist", b.memberLine.at(i), m[0])
			}
			if !(known != nil && known[i]) && !v.isUser(m[1]) { // most members are users: the groups are asked only for the others
				if _, isGroup := v.groupOf(m[1]); !isGroup {
					return 0, allot.Errorf(allot.EINVALID, "%s: member %s is neither a user nor a group", b.memberLine.at(i), m[1])
				}
			}
			if dup(i) {
				return 0, allot.Errorf(allot.EINVALID, "%s: membership %s in %s is listed twice", b.memberLine.at(i), m[1], m[0])
			}
			if m[0] == m[1] {
				return 0, allot.Errorf(allot.EINVALID, "%s: group %s cannot be a member of itself", b.memberLine.at(i), m[0])
			}
			if !dyn {
				out[n] = m
				n++
			}
		}
		return n - from, nil
	}
	// The ranges: one unless the runs are apart and many, each then
	// beginning with a run.
	bounds := []int{0, len(ms)}
	apart := runsApart(ms)
	if w := min(goruntime.GOMAXPROCS(0), len(ms)/minMembersPerCheck); apart && w > 1 {
		bounds = bounds[:1]
		for k := 1; k < w; k++ {
			i := max(k*len(ms)/w, bounds[len(bounds)-1])
			for i < len(ms) && i > 0 && ms[i][0] == ms[i-1][0] {
				i++
			}
			bounds = append(bounds, i)
		}
		bounds = append(bounds, len(ms))
	}
	kept := make([]int, len(bounds)-1)
	errs := make([]error, len(bounds)-1)
	run := func(r int) {
		var dup func(int) bool
		if apart {
			dup = sameRunBefore(ms)
		} else {
			dup = seenBefore(ms)
		}
		kept[r], errs[r] = check(bounds[r], bounds[r+1], dup)
	}
	var wg sync.WaitGroup
	for r := 1; r < len(kept); r++ {
		wg.Go(func() { run(r) })
	}
	run(0)
	wg.Wait()
	n := 0
	for r, err := range errs {
		if err != nil {
			return err
		}
		n += copy(out[n:], out[bounds[r]:bounds[r]+kept[r]])
	}
	clear(out[n:]) // (copies of rows kept)
	v.out.Members = out[:n]
	return nil
}

// minMembersPerCheck keeps small bundles' memberships on one goroutine
// (tests lower it).
var minMembersPerCheck = 1 << 16

// resolve resolves a license source's product, allotment and disabled
// plans to ids.
func (v *validation) resolve(at string, s licensing.OwnedSource) (licensing.OwnedSource, error) {
	sku, ok := v.cat.SKU(s.SKUID)
	if !ok {
		return s, allot.Errorf(allot.EINVALID, "%s: unknown product %q", at, s.SKUID)
	}
	s.SKUID = sku.ID
	if s.AllotmentID != "" {
		if v.allotSKU[s.AllotmentID] != sku.ID {
			return s, allot.Errorf(allot.EINVALID, "%s: allotment %s does not exist for %s", at, s.AllotmentID, sku.PartNumber)
		}
	} else if !v.hasUnits(sku.ID) {
		return s, allot.Errorf(allot.EINVALID, "%s: the tenant has no subscription for %s (add it to subscriptions.csv)", at, sku.PartNumber)
	}
	plans, err := resolvePlans(v.cat, sku, s.DisabledPlans)
	if err != nil {
		return s, allot.Errorf(allot.EINVALID, "%s: %v", at, err)
	}
	s.DisabledPlans = plans
	return s, nil
}

// licenses resolves the group and direct licenses (each to an existing
// owner, once) and the grant dates they and the Graph JSON carry.
func (v *validation) licenses() error {
	b, d := v.b, v.b.Data
	type key struct{ owner, sku, allot string }
	seen := map[key]bool{}
	add := func(at string, s licensing.OwnedSource, ownerOK func(string) bool, ownerKind string, dst *[]licensing.OwnedSource) error {
		r, err := v.resolve(at, s)
		if err != nil {
			return err
		}
		if !ownerOK(r.Owner) {
			return allot.Errorf(allot.EINVALID, "%s: %s %s does not exist", at, ownerKind, r.Owner)
		}
		k := key{r.Owner, r.SKUID, r.AllotmentID}
		if seen[k] {
			return allot.Errorf(allot.EINVALID, "%s: this license is listed twice", at)
		}
		seen[k] = true
		*dst = append(*dst, r)
		return nil
	}
	isGroup := func(id string) bool { _, ok := v.groupOf(id); return ok }
	for i, s := range d.GroupLicenses {
		if err := add(b.glLine.at(i), s, isGroup, "group", &v.out.GroupLicenses); err != nil {
			return err
		}
	}
	for i, s := range d.DirectLicenses {
		if err := add(b.dlLine.at(i), s, v.isUser, "user", &v.out.DirectLicenses); err != nil {
			return err
		}
	}
	for _, r := range v.out.DirectLicenses {
		if !r.AssignedAt.IsZero() {
			// The direct license's assignedAt dates the user's grant.
			v.out.SeatDates = append(v.out.SeatDates, licensing.SeatDate{UserID: r.Owner, SKUID: r.SKUID, AllotmentID: r.AllotmentID,
				GrantedAt: r.AssignedAt, Updated: map[string]time.Time{"": r.AssignedAt}})
		}
	}
	for i := range b.graphDates {
		if v.isUser(b.graphDates[i].user) {
			v.out.SeatDates = append(v.out.SeatDates, graphSeatDates(v.cat, &b.graphDates[i])...)
		}
	}
	return nil
}

// seats resolves the seat claims in place (a million of them would be
// copied otherwise): a product's id resolves to itself, so validating
// again gives the same result.
func (v *validation) seats() error {
	d := v.b.Data
	skus := map[string]*catalog.SKU{}
	for i := range d.Seats {
		l := &d.Seats[i]
		sku, ok := skus[l.SKUID]
		if !ok {
			if sku, ok = v.cat.SKU(l.SKUID); ok {
				skus[l.SKUID] = sku
			}
		}
		if !ok || !v.isUser(l.UserID) {
			return allot.Errorf(allot.EINVALID, "%s: unknown user or product", v.b.seatLine.at(i))
		}
		l.SKUID = sku.ID
	}
	v.out.Seats = d.Seats
	return nil
}

// resolvePlans turns plan names or ids of a product into plan ids.
func resolvePlans(cat *catalog.Catalog, sku *catalog.SKU, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		p, ok := cat.Plan(n)
		if !ok || !sku.HasPlan(p.ID) {
			// A name can be ambiguous across products: look in the SKU.
			found := false
			for _, sp := range sku.Plans {
				if strings.EqualFold(sp.Name, n) || sp.ID == strings.ToLower(n) {
					out = append(out, sp.ID)
					found = true
					break
				}
			}
			if !found {
				return nil, allot.Errorf(allot.EINVALID, "disabled plan %q is not a plan of %s", n, sku.PartNumber)
			}
			continue
		}
		out = append(out, p.ID)
	}
	sort.Strings(out)
	return out, nil
}

// CheckIdentity applies the directory rules of package identity to the
// users, groups and allotments of data (what Validate returned), as every
// other write path does: userPrincipalNames in the tenant's domains,
// Entra's lengths, ISO 3166 usage locations, NFC (in place). The first
// refused record is returned with its file and line.
func (b *Bundle) CheckIdentity(s *tenant.State, data *licensing.ImportData) error {
	if i, err := identity.CheckImportUsers(s, data.Users); err != nil {
		return allot.Errorf(allot.EINVALID, "%s: %s", b.userLine.at(i), allot.ErrorMessage(err))
	}
	if i, err := identity.CheckImportGroups(s, data.Groups); err != nil {
		return allot.Errorf(allot.EINVALID, "%s: %s", b.groupLine.at(i), allot.ErrorMessage(err))
	}
	if i, err := identity.CheckImportAllotments(s, data.Allotments); err != nil {
		return allot.Errorf(allot.EINVALID, "%s: %s", b.allotLine.at(i), allot.ErrorMessage(err))
	}
	return nil
}

// runsApart reports whether each group's memberships in ms are one run
// (members.csv as written by allot, and as most exports list them).
func runsApart(ms [][2]string) bool {
	runs := make(map[string]bool)
	for i, m := range ms {
		if i > 0 && ms[i-1][0] == m[0] {
			continue
		}
		if runs[m[0]] {
			return false
		}
		runs[m[0]] = true
	}
	return true
}

// seenBefore returns a function that, called with the index of each of
// ms in order, reports whether that membership came before.
func seenBefore(ms [][2]string) func(int) bool {
	seen := make(map[[2]string]struct{}, len(ms))
	return func(i int) bool {
		if _, dup := seen[ms[i]]; dup {
			return true
		}
		seen[ms[i]] = struct{}{}
		return false
	}
}

// sameRunBefore is seenBefore for memberships whose groups' runs are apart
// (runsApart): a run's members are remembered until the next group
// begins, so a set of one group's members stays in the cache, where one
// of millions of pairs missed it at every insert. A large run's set is
// made for its size; the small runs share one set, cleared for each.
func sameRunBefore(ms [][2]string) func(int) bool {
	var group string
	var members map[string]struct{}
	small := make(map[string]struct{})
	return func(i int) bool {
		m := ms[i]
		if members == nil || m[0] != group {
			group = m[0]
			n := 1
			for n < len(ms)-i && ms[i+n][0] == group {
				n++
			}
			if n <= smallRun {
				clear(small)
				members = small
			} else {
				members = make(map[string]struct{}, n)
			}
		}
		if _, dup := members[m[1]]; dup {
			return true
		}
		members[m[1]] = struct{}{}
		return false
	}
}

// smallRun is the most members of a run that shares the small runs' set.
const smallRun = 1024
