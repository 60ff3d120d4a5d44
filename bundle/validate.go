package bundle

import (
	"sort"
	"strings"
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
func (b *Bundle) Validate(e *licensing.Engine) (licensing.ImportData, error) {
	cat := e.Catalog()
	d := b.Data
	out := licensing.ImportData{Units: map[string]int{}}

	// Subscriptions.
	for part, n := range d.Units {
		s, ok := cat.SKU(part)
		if !ok {
			return out, allot.Errorf(allot.EINVALID, "%s: unknown product %q", b.subLine[part], part)
		}
		out.Units[s.ID] += n
	}
	if err := b.validateSubs(e); err != nil {
		return out, err
	}
	hasUnits := func(skuID string) bool {
		if _, ok := out.Units[skuID]; ok {
			return true
		}
		_, ok := e.Pool(skuID)
		return ok
	}

	// Allotments.
	allotSKU := map[string]string{}
	for i, a := range d.Allotments {
		s, ok := cat.SKU(a.SKUID)
		if !ok || !hasUnits(s.ID) {
			return out, allot.Errorf(allot.EINVALID, "%s: product %q has no subscription in the bundle or the tenant", b.allotLine.at(i), a.SKUID)
		}
		if a.ID == "" || a.DisplayName == "" {
			return out, allot.Errorf(allot.EINVALID, "%s: an allotment needs an id and a displayName", b.allotLine.at(i))
		}
		if _, dup := allotSKU[a.ID]; dup {
			return out, allot.Errorf(allot.EINVALID, "%s: allotment %s is listed twice", b.allotLine.at(i), a.ID)
		}
		a.SKUID = s.ID
		allotSKU[a.ID] = s.ID
		out.Allotments = append(out.Allotments, a)
	}
	for _, a := range e.Allotments() {
		if _, ok := allotSKU[a.ID]; !ok {
			allotSKU[a.ID] = a.SKUID
		}
	}

	// Users.
	ids := make(map[string]bool, len(d.Users))
	upns := make(map[string]string, len(d.Users))
	for i, u := range d.Users {
		if err := licensing.CheckUser(&d.Users[i]); err != nil {
			return out, allot.Errorf(allot.EINVALID, "%s: %s", b.userLine.at(i), allot.ErrorMessage(err))
		}
		if ids[u.ID] {
			return out, allot.Errorf(allot.EINVALID, "%s: user %s is listed twice", b.userLine.at(i), u.ID)
		}
		ids[u.ID] = true
		k := strings.ToLower(u.UserPrincipalName)
		if other, dup := upns[k]; dup {
			return out, allot.Errorf(allot.EINVALID, "%s: userPrincipalName %s is also used by user %s", b.userLine.at(i), u.UserPrincipalName, other)
		}
		if existing, ok := e.UserByUPN(u.UserPrincipalName); ok && existing.ID != u.ID {
			return out, allot.Errorf(allot.EINVALID, "%s: userPrincipalName %s belongs to another user of the tenant (%s)", b.userLine.at(i), u.UserPrincipalName, existing.ID)
		}
		upns[k] = u.ID
	}
	out.Users = d.Users
	isUser := func(id string) bool {
		if ids[id] {
			return true
		}
		_, ok := e.User(id)
		return ok
	}

	// Groups.
	gids := map[string]*licensing.Group{}
	for i := range d.Groups {
		g := &d.Groups[i]
		if err := licensing.CheckGroup(g); err != nil {
			return out, allot.Errorf(allot.EINVALID, "%s: %s", b.groupLine.at(i), allot.ErrorMessage(err))
		}
		if gids[g.ID] != nil || ids[g.ID] {
			return out, allot.Errorf(allot.EINVALID, "%s: id %s is listed twice", b.groupLine.at(i), g.ID)
		}
		if g.MembershipRule != "" {
			if _, err := rules.Parse(g.MembershipRule); err != nil {
				return out, allot.Errorf(allot.EINVALID, "%s: membershipRule: %v", b.groupLine.at(i), err)
			}
		}
		gids[g.ID] = g
	}
	out.Groups = d.Groups
	groupOf := func(id string) (dynamic bool, ok bool) {
		if g := gids[id]; g != nil {
			return g.MembershipRule != "", true
		}
		if g, found := e.Group(id); found {
			return g.IsDynamic(), true
		}
		return false, false
	}

	// Members: members of dynamic groups follow their rules and are skipped.
	seen := make(map[[2]string]struct{}, len(d.Members))
	out.Members = make([][2]string, 0, len(d.Members))
	for i, m := range d.Members {
		dyn, ok := groupOf(m[0])
		if !ok {
			return out, allot.Errorf(allot.EINVALID, "%s: group %s does not exist", b.memberLine.at(i), m[0])
		}
		if _, isGroup := groupOf(m[1]); !isUser(m[1]) && !isGroup {
			return out, allot.Errorf(allot.EINVALID, "%s: member %s is neither a user nor a group", b.memberLine.at(i), m[1])
		}
		if _, dup := seen[m]; dup {
			return out, allot.Errorf(allot.EINVALID, "%s: membership %s in %s is listed twice", b.memberLine.at(i), m[1], m[0])
		}
		seen[m] = struct{}{}
		if m[0] == m[1] {
			return out, allot.Errorf(allot.EINVALID, "%s: group %s cannot be a member of itself", b.memberLine.at(i), m[0])
		}
		if !dyn {
			out.Members = append(out.Members, m)
		}
	}

	// Licenses.
	resolve := func(at string, s licensing.OwnedSource) (licensing.OwnedSource, error) {
		sku, ok := cat.SKU(s.SKUID)
		if !ok {
			return s, allot.Errorf(allot.EINVALID, "%s: unknown product %q", at, s.SKUID)
		}
		s.SKUID = sku.ID
		if s.AllotmentID != "" {
			if allotSKU[s.AllotmentID] != sku.ID {
				return s, allot.Errorf(allot.EINVALID, "%s: allotment %s does not exist for %s", at, s.AllotmentID, sku.PartNumber)
			}
		} else if !hasUnits(sku.ID) {
			return s, allot.Errorf(allot.EINVALID, "%s: the tenant has no subscription for %s (add it to subscriptions.csv)", at, sku.PartNumber)
		}
		plans, err := resolvePlans(cat, sku, s.DisabledPlans)
		if err != nil {
			return s, allot.Errorf(allot.EINVALID, "%s: %v", at, err)
		}
		s.DisabledPlans = plans
		return s, nil
	}
	type key struct{ owner, sku, allot string }
	seenL := map[key]bool{}
	for i, s := range d.GroupLicenses {
		r, err := resolve(b.glLine.at(i), s)
		if err != nil {
			return out, err
		}
		if _, ok := groupOf(r.Owner); !ok {
			return out, allot.Errorf(allot.EINVALID, "%s: group %s does not exist", b.glLine.at(i), r.Owner)
		}
		if k := (key{r.Owner, r.SKUID, r.AllotmentID}); seenL[k] {
			return out, allot.Errorf(allot.EINVALID, "%s: this license is listed twice", b.glLine.at(i))
		} else {
			seenL[k] = true
		}
		out.GroupLicenses = append(out.GroupLicenses, r)
	}
	for i, s := range d.DirectLicenses {
		r, err := resolve(b.dlLine.at(i), s)
		if err != nil {
			return out, err
		}
		if !isUser(r.Owner) {
			return out, allot.Errorf(allot.EINVALID, "%s: user %s does not exist", b.dlLine.at(i), r.Owner)
		}
		if k := (key{r.Owner, r.SKUID, r.AllotmentID}); seenL[k] {
			return out, allot.Errorf(allot.EINVALID, "%s: this license is listed twice", b.dlLine.at(i))
		} else {
			seenL[k] = true
		}
		out.DirectLicenses = append(out.DirectLicenses, r)
		if !r.AssignedAt.IsZero() {
			// The direct license's assignedAt dates the user's grant.
			out.SeatDates = append(out.SeatDates, licensing.SeatDate{UserID: r.Owner, SKUID: r.SKUID, AllotmentID: r.AllotmentID,
				GrantedAt: r.AssignedAt, Updated: map[string]time.Time{"": r.AssignedAt}})
		}
	}
	for i := range b.graphDates {
		if isUser(b.graphDates[i].user) {
			out.SeatDates = append(out.SeatDates, graphSeatDates(cat, &b.graphDates[i])...)
		}
	}
	// Seats are resolved in place (a million of them would be copied
	// otherwise): a product's id resolves to itself, so validating again
	// gives the same result.
	skus := map[string]*catalog.SKU{}
	for i := range d.Seats {
		l := &d.Seats[i]
		sku, ok := skus[l.SKUID]
		if !ok {
			if sku, ok = cat.SKU(l.SKUID); ok {
				skus[l.SKUID] = sku
			}
		}
		if !ok || !isUser(l.UserID) {
			return out, allot.Errorf(allot.EINVALID, "%s: unknown user or product", b.seatLine.at(i))
		}
		l.SKUID = sku.ID
	}
	out.Seats = d.Seats
	return out, nil
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
