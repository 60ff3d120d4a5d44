package licensing

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"

	"allot"
	"allot/audit"
	"allot/catalog"
)

// Messages that Microsoft Graph returns for the same conditions; clients and
// scripts compare them, so they are kept word for word.
const (
	msgInvalidUsageLocation = "License assignment cannot be done for user with invalid usage location."
	msgInheritedRemove      = "User license is inherited from a group membership and it cannot be removed directly from the user."
	msgNoSuchUserLicense    = "User does not have a corresponding license."
	msgMemberExists         = "One or more added object references already exist for the following modified properties: 'members'."
)

func msgNoCompanyLicense(sku string) string {
	return fmt.Sprintf("License %s does not correspond to a valid company License.", sku)
}

func msgNoAvailable(sku string) string {
	return fmt.Sprintf("Subscription with SKU %s does not have any available licenses.", sku)
}

func msgNotFound(id string) string {
	return fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// ValidUsageLocation reports whether s is an ISO 3166 alpha-2 code (upper case).
func ValidUsageLocation(s string) bool { return countryRE.MatchString(s) }

// UPNKey is the key under which a userPrincipalName is unique in a tenant:
// compared case-insensitively (as Entra does) and after Unicode
// normalisation (NFC), so that "josé" typed with a composed "é" and with
// "e" plus a combining accent are one name.
func UPNKey(upn string) string { return norm.NFC.String(strings.ToLower(upn)) }

// dropUPN removes u's name from the index, unless another user holds it
// (stored data from before NFC keys may hold two users under one key).
func (e *Engine) dropUPN(u *user) {
	if k := UPNKey(u.UserPrincipalName); e.byUPN[k] == u {
		delete(e.byUPN, k)
	}
}

// PutUser creates the user or replaces its properties. The userPrincipalName
// is unique per tenant, case-insensitively. A user with direct licenses must
// keep a usage location.
func (e *Engine) PutUser(op Op, in User) error {
	if err := CheckUser(&in); err != nil {
		return err
	}
	if in.UserType == "" {
		in.UserType = "Member"
	}
	if in.Kind == "" {
		in.Kind = KindPerson
	}
	upn := UPNKey(in.UserPrincipalName)
	u, exists := e.users[in.ID]
	// A user that keeps its name is not checked again: stored data from
	// before NFC keys may hold two users under one key, and both stay
	// editable.
	if !exists || UPNKey(u.UserPrincipalName) != upn {
		if other, ok := e.byUPN[upn]; ok && other.ID != in.ID {
			return allot.Errorf(allot.ECONFLICT, "Another object with the same value for property userPrincipalName already exists.")
		}
	}
	if exists && in.UsageLocation == "" && len(u.direct) > 0 {
		return allot.Errorf(allot.EINVALID, "The usage location of a user with directly assigned licenses cannot be removed; remove the licenses first.")
	}
	e.tick(op.Now)
	var old *User
	if !exists {
		if in.CreatedAt.IsZero() {
			in.CreatedAt = e.clock
		}
		u = &user{idx: len(e.all)}
		e.users[in.ID] = u
		e.all = append(e.all, u)
		e.audit(op, "Add user", in.ID, "", "")
	} else {
		in.CreatedAt = u.CreatedAt
		e.dropUPN(u)
		e.audit(op, "Update user", in.ID, "", "")
		old = u.User
	}
	u.User = &in
	if e.byUPN[upn] == nil {
		e.byUPN[upn] = u
	}
	mark(&e.delta.Users, in.ID, true)
	e.touch(u, actorOf(op), "user properties changed")
	e.reevaluateUser(u, old, e.clock)
	e.settle(e.clock)
	return nil
}

// DeleteUser removes the user, its memberships and direct licenses, and
// releases its seats (which admits waiting users).
func (e *Engine) DeleteUser(op Op, id string) error {
	u, ok := e.users[id]
	if !ok {
		return allot.NewError(allot.ENOTFOUND, msgNotFound(id))
	}
	e.tick(op.Now)
	for _, g := range u.groups {
		delete(g.members, u)
		mark(&e.delta.Members, Key2{g.ID, u.ID}, false)
	}
	for i := range u.direct {
		// Every source the user owns, outside allotments and through them,
		// under the key it is stored by.
		mark(&e.delta.DirectLicenses, Key2{u.ID, sourceKey(&u.direct[i])}, false)
	}
	r := reason{actorOf(op), "user deleted"}
	for _, l := range u.licenses {
		e.w.unclaim(l)
		e.countErrors(l.Sources, -1)
		e.deletedLicense(l)
		e.w.auditLicense(u, l, l.Sources, nil, r)
	}
	u.groups, u.direct, u.licenses = nil, nil, nil
	e.dropUser(u)
	e.dropUPN(u)
	mark(&e.delta.Users, id, false)
	e.audit(op, "Delete user", id, "", "")
	e.settle(e.clock)
	return nil
}

// PutGroup creates the group or replaces its properties. A dynamic group
// (groupTypes DynamicMembership) needs a valid membershipRule; when the rule
// or its processing state changes, the members become the users the rule
// matches, in this one command (see dynamic.go).
func (e *Engine) PutGroup(op Op, in Group) error {
	rule, err := e.checkGroup(&in)
	if err != nil {
		return err
	}
	g, exists := e.groups[in.ID]
	e.tick(op.Now)
	if !exists {
		if in.CreatedAt.IsZero() {
			in.CreatedAt = e.clock
		}
		g = &group{members: make(map[*user]struct{}), memberGroups: make(map[*group]struct{}), parents: make(map[*group]struct{})}
		e.groups[in.ID] = g
		e.audit(op, "Add group", "", in.ID, "")
	} else {
		in.CreatedAt = g.CreatedAt
		e.audit(op, "Update group", "", in.ID, "")
	}
	modeChanged := exists && g.AssignmentMode != in.AssignmentMode
	ruleChanged := !exists || g.MembershipRule != in.MembershipRule || g.MembershipRuleProcessingState != in.MembershipRuleProcessingState || g.IsDynamic() != in.IsDynamic()
	g.Group = in
	mark(&e.delta.Groups, in.ID, true)
	if rule == nil {
		e.dyn.Delete(in.ID)
	} else if ruleChanged {
		e.dyn.Set(in.ID, rule)
		e.applyRule(op, g, rule, e.clock)
	}
	if modeChanged {
		for _, u := range e.licensedUsers(g) {
			e.touch(u, audit.ActorGroupLicensing, "assignment mode of group "+g.DisplayName+" changed to "+in.AssignmentMode)
		}
	}
	e.settle(e.clock)
	return nil
}

// DeleteGroup removes a group that has no licenses.
func (e *Engine) DeleteGroup(op Op, id string) error {
	g, ok := e.groups[id]
	if !ok {
		return allot.NewError(allot.ENOTFOUND, msgNotFound(id))
	}
	if len(g.licenses) > 0 {
		return allot.Errorf(allot.EINVALID, "The group %s has %d license(s) assigned; remove the group's licenses before deleting it.", g.DisplayName, len(g.licenses))
	}
	e.tick(op.Now)
	e.convertKeptToDirect(op, g)
	affected := e.licensedUsers(g)
	for u := range g.members {
		u.groups = removeGroup(u.groups, g)
		mark(&e.delta.Members, Key2{g.ID, u.ID}, false)
	}
	for c := range g.memberGroups {
		delete(c.parents, g)
		mark(&e.delta.Members, Key2{g.ID, c.ID}, false)
	}
	for p := range g.parents {
		delete(p.memberGroups, g)
		mark(&e.delta.Members, Key2{p.ID, g.ID}, false)
	}
	delete(e.groups, id)
	e.dyn.Delete(id)
	mark(&e.delta.Groups, id, false)
	for _, u := range affected {
		e.touch(u, audit.ActorGroupLicensing, "group "+g.DisplayName+" deleted")
	}
	e.audit(op, "Delete group", "", id, "")
	e.settle(e.clock)
	return nil
}

func removeGroup(gs []*group, g *group) []*group {
	for i, x := range gs {
		if x == g {
			gs[i] = gs[len(gs)-1]
			return gs[:len(gs)-1]
		}
	}
	return gs
}

// licensedUsers returns the users who inherit licenses through g: its
// members, and with nested group licensing the members of its member groups,
// sorted by id.
func (e *Engine) licensedUsers(g *group) []*user {
	seen := map[*user]struct{}{}
	var walk func(*group, map[*group]bool)
	walk = func(x *group, visited map[*group]bool) {
		if visited[x] {
			return
		}
		visited[x] = true
		for u := range x.members {
			seen[u] = struct{}{}
		}
		if e.settings.NestedGroups {
			for c := range x.memberGroups {
				walk(c, visited)
			}
		}
	}
	walk(g, map[*group]bool{})
	us := make([]*user, 0, len(seen))
	for u := range seen {
		us = append(us, u)
	}
	sort.Slice(us, func(i, j int) bool { return us[i].ID < us[j].ID })
	return us
}

// AddMembers adds users or groups (by id) to a group, all or nothing.
// Already a member → EINVALID with Graph's message; unknown id → ENOTFOUND;
// a group that would contain itself → EINVALID.
func (e *Engine) AddMembers(op Op, groupID string, memberIDs []string) error {
	g, ok := e.groups[groupID]
	if !ok {
		return allot.NewError(allot.ENOTFOUND, msgNotFound(groupID))
	}
	if g.IsDynamic() {
		return allot.NewError(allot.EINVALID, msgDynamicMembers)
	}
	seen := map[string]bool{}
	for _, id := range memberIDs {
		if seen[id] {
			return allot.NewError(allot.EINVALID, msgMemberExists)
		}
		seen[id] = true
		if u, ok := e.users[id]; ok {
			if u.inGroup(g) {
				return allot.NewError(allot.EINVALID, msgMemberExists)
			}
			continue
		}
		c, ok := e.groups[id]
		if !ok {
			return allot.NewError(allot.ENOTFOUND, msgNotFound(id))
		}
		if _, dup := g.memberGroups[c]; dup {
			return allot.NewError(allot.EINVALID, msgMemberExists)
		}
		if c == g || e.isAncestor(c, g) {
			return allot.Errorf(allot.EINVALID, "Group %s cannot be a member of %s: groups may not contain themselves, directly or through other groups.", c.DisplayName, g.DisplayName)
		}
	}
	e.tick(op.Now)
	why := "member added to group " + g.DisplayName + " by " + actorOf(op)
	if op.Why != "" {
		why = op.Why
	}
	for _, id := range memberIDs {
		if u, ok := e.users[id]; ok {
			g.members[u] = struct{}{}
			u.groups = append(u.groups, g)
			mark(&e.delta.Members, Key2{g.ID, u.ID}, true)
			e.audit(op, "Add member to group", u.ID, g.ID, "")
			if hasInheritableLicenses(e, g) {
				e.touch(u, audit.ActorGroupLicensing, why)
			}
			continue
		}
		c := e.groups[id]
		g.memberGroups[c] = struct{}{}
		c.parents[g] = struct{}{}
		mark(&e.delta.Members, Key2{g.ID, c.ID}, true)
		e.audit(op, "Add member to group", "", g.ID, "")
		if e.settings.NestedGroups {
			for _, u := range e.licensedUsers(c) {
				e.touch(u, audit.ActorGroupLicensing, why)
			}
		}
	}
	e.settle(e.clock)
	return nil
}

// hasInheritableLicenses reports whether joining g can change a user's
// licenses: g or (with nested licensing) one of its ancestors has licenses.
func hasInheritableLicenses(e *Engine, g *group) bool {
	if len(g.licenses) > 0 {
		return true
	}
	if !e.settings.NestedGroups {
		return false
	}
	for p := range g.parents {
		if hasInheritableLicenses(e, p) {
			return true
		}
	}
	return false
}

// isAncestor reports whether a contains d, directly or through other groups.
func (e *Engine) isAncestor(a, d *group) bool {
	seen := map[*group]bool{}
	var walk func(x *group) bool
	walk = func(x *group) bool {
		if x == a {
			return true
		}
		if seen[x] {
			return false
		}
		seen[x] = true
		for p := range x.parents {
			if walk(p) {
				return true
			}
		}
		return false
	}
	return walk(d)
}

// RemoveMembers removes users or groups from a group, all or nothing. A
// member that is not in the group → ENOTFOUND.
func (e *Engine) RemoveMembers(op Op, groupID string, memberIDs []string) error {
	g, ok := e.groups[groupID]
	if !ok {
		return allot.NewError(allot.ENOTFOUND, msgNotFound(groupID))
	}
	if g.IsDynamic() {
		return allot.NewError(allot.EINVALID, msgDynamicMembers)
	}
	seen := map[string]bool{}
	for _, id := range memberIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		if u, ok := e.users[id]; ok && u.inGroup(g) {
			continue
		}
		if c, ok := e.groups[id]; ok {
			if _, in := g.memberGroups[c]; in {
				continue
			}
		}
		return allot.NewError(allot.ENOTFOUND, msgNotFound(id))
	}
	e.tick(op.Now)
	why := "member removed from group " + g.DisplayName + " by " + actorOf(op)
	if op.Why != "" {
		why = op.Why
	}
	for id := range seen {
		if u, ok := e.users[id]; ok && u.inGroup(g) {
			delete(g.members, u)
			u.groups = removeGroup(u.groups, g)
			mark(&e.delta.Members, Key2{g.ID, u.ID}, false)
			e.audit(op, "Remove member from group", u.ID, g.ID, "")
			if hasInheritableLicenses(e, g) {
				e.touch(u, audit.ActorGroupLicensing, why)
			}
			continue
		}
		c := e.groups[id]
		var affected []*user
		if e.settings.NestedGroups {
			affected = e.licensedUsers(c)
		}
		delete(g.memberGroups, c)
		delete(c.parents, g)
		mark(&e.delta.Members, Key2{g.ID, c.ID}, false)
		e.audit(op, "Remove member from group", "", g.ID, "")
		for _, u := range affected {
			e.touch(u, audit.ActorGroupLicensing, why)
		}
	}
	e.settle(e.clock)
	return nil
}

// checkLicenses validates licenses to add and SKUs to remove against the
// tenant's subscriptions and returns the normalised additions.
func (e *Engine) checkLicenses(add []AssignedLicense, remove []string) ([]LicenseSource, []string, error) {
	seen := map[string]bool{}
	out := make([]LicenseSource, 0, len(add))
	for _, a := range add {
		id := strings.ToLower(strings.TrimSpace(a.SKUID))
		p := e.pools[id]
		if p == nil || !catalog.IsGUID(id) {
			return nil, nil, allot.NewError(allot.EINVALID, msgNoCompanyLicense(a.SKUID))
		}
		if seen[id] {
			return nil, nil, allot.Errorf(allot.EINVALID, "License %s is listed more than once.", id)
		}
		seen[id] = true
		dis := make([]string, 0, len(a.DisabledPlans))
		for _, pl := range a.DisabledPlans {
			pid := strings.ToLower(strings.TrimSpace(pl))
			if !p.sku.HasPlan(pid) {
				return nil, nil, allot.Errorf(allot.EINVALID, "Service plan %s in disabledPlans is not part of license %s (%s).", pl, id, p.sku.PartNumber)
			}
			if !containsString(dis, pid) {
				dis = append(dis, pid)
			}
		}
		sort.Strings(dis)
		out = append(out, LicenseSource{SKUID: id, DisabledPlans: dis})
	}
	rm := make([]string, 0, len(remove))
	for _, r := range remove {
		id := strings.ToLower(strings.TrimSpace(r))
		if e.pools[id] == nil {
			return nil, nil, allot.NewError(allot.EINVALID, msgNoCompanyLicense(r))
		}
		if seen[id] {
			return nil, nil, allot.Errorf(allot.EINVALID, "License %s cannot be added and removed in the same request.", id)
		}
		seen[id] = true
		rm = append(rm, id)
	}
	return out, rm, nil
}

// AssignUserLicenses adds and removes direct licenses of a user in one
// step, as Graph's user assignLicense. It is refused (and changes nothing)
// when the user has no usage location, a SKU has no free seat for a user who
// does not already hold one, the result would break a plan dependency or
// exclusion, or a license to remove is inherited from a group.
func (e *Engine) AssignUserLicenses(op Op, userID string, add []AssignedLicense, remove []string) error {
	u, ok := e.users[userID]
	if !ok {
		return allot.NewError(allot.ENOTFOUND, msgNotFound(userID))
	}
	adds, rms, err := e.checkLicenses(add, remove)
	if err != nil {
		return err
	}
	for _, a := range adds {
		if err := e.checkDirectAssignee(u, a.SKUID); err != nil {
			return err
		}
	}
	for _, id := range rms {
		if _, ok := u.directFor(id); ok {
			continue
		}
		if l := u.licenseOf(e.pools[id]); l != nil {
			return allot.NewError(allot.EINVALID, msgInheritedRemove)
		}
		return allot.NewError(allot.EINVALID, msgNoSuchUserLicense)
	}
	for _, a := range adds {
		p := e.pools[a.SKUID]
		if l := u.licenseOf(p); l != nil && l.Held {
			continue
		}
		if p.free() <= 0 {
			return allot.NewError(allot.EINVALID, msgNoAvailable(a.SKUID))
		}
	}
	if err := e.checkUserPlanRules(u, adds, rms); err != nil {
		return err
	}
	now := e.tick(op.Now)
	for _, a := range adds {
		if i, ok := u.directFor(a.SKUID); ok {
			a.AssignedAt = u.direct[i].AssignedAt
			u.direct[i] = a
		} else {
			a.AssignedAt = now
			u.direct = append(u.direct, a)
			sortSources(u.direct) // as a load orders them
		}
		mark(&e.delta.DirectLicenses, Key2{u.ID, a.SKUID}, true)
	}
	for _, id := range rms {
		i, _ := u.directFor(id)
		u.direct = append(u.direct[:i], u.direct[i+1:]...)
		mark(&e.delta.DirectLicenses, Key2{u.ID, id}, false)
	}
	sort.Slice(u.direct, func(i, j int) bool { return u.direct[i].SKUID < u.direct[j].SKUID })
	why := "assignLicense"
	if op.Why != "" {
		why = op.Why
	}
	e.touch(u, actorOf(op), why)
	e.settle(now)
	return nil
}

// checkDirectAssignee is the rule for a license assigned to the user
// itself, directly or through an allotment (group assignments use the
// tenant's default location instead): as Graph does, it is refused when
// the user has no usage location of its own, or when the product is not
// available there.
func (e *Engine) checkDirectAssignee(u *user, skuID string) error {
	if u.UsageLocation == "" {
		return allot.NewError(allot.EINVALID, msgInvalidUsageLocation)
	}
	if e.prohibited(skuID, u.UsageLocation) {
		part := skuID
		if s, ok := e.cat.SKU(skuID); ok {
			part = s.PartNumber
		}
		return allot.Errorf(allot.EINVALID, "License %s (%s) cannot be assigned to users with usage location %s.", skuID, part, u.UsageLocation)
	}
	return nil
}

// checkUserPlanRules refuses direct license changes whose resulting plan set
// breaks a dependency or an exclusion, with Graph's messages.
func (e *Engine) checkUserPlanRules(u *user, adds []LicenseSource, rms []string) error {
	plans := planSet{}
	owner := map[string]string{} // plan -> sku that enables it
	addPlans := func(skuID string, disabled []string) {
		p := e.pools[skuID]
		for _, pl := range p.sku.Plans {
			if !containsString(disabled, pl.ID) {
				plans[pl.ID]++
				if _, ok := owner[pl.ID]; !ok {
					owner[pl.ID] = skuID
				}
			}
		}
	}
	replaced := map[string]bool{}
	for _, a := range adds {
		replaced[a.SKUID] = true
	}
	for _, id := range rms {
		replaced[id] = true
	}
	// Dependencies need plans the user can use; exclusions count every
	// source that is not itself blocked (a source waiting for a seat came
	// first, and the direct license would be the source added later).
	active := planSet{}
	for _, l := range u.licenses {
		for _, s := range l.Sources {
			if s.AssignedByGroup == "" && replaced[l.skuID()] {
				continue
			}
			if s.Usable() {
				p := e.pools[l.skuID()]
				enabledBy(p.sku, &s, func(id string) { active[id]++ })
			}
			if s.State == StateError && (s.Error == ErrMutuallyExclusive || s.Error == ErrProhibitedInUsageLoc) {
				continue
			}
			addPlans(l.skuID(), s.DisabledPlans)
		}
	}
	for _, a := range adds {
		addPlans(a.SKUID, a.DisabledPlans)
		p := e.pools[a.SKUID]
		s := SourceState{DisabledPlans: a.DisabledPlans}
		enabledBy(p.sku, &s, func(id string) { active[id]++ })
	}
	for _, a := range adds {
		p := e.pools[a.SKUID]
		for _, pl := range p.sku.Plans {
			if containsString(a.DisabledPlans, pl.ID) {
				continue
			}
			for _, d := range e.plan.deps[pl.ID] {
				if !anyPlan(d.RequiresAnyOf, active) {
					// Graph's sentence (ids only), then the names.
					return allot.Errorf(allot.EINVALID, "License assignment failed because service plan %s depends on the service plan(s) %s. %s of %s needs %s, which no license of the user enables.",
						pl.ID, strings.Join(d.RequiresAnyOf, ", "), e.planLabel(pl.ID), e.skuLabel(p.sku.ID), e.planLabels(d.RequiresAnyOf, " or "))
				}
			}
		}
	}
	for _, pair := range e.plan.excl {
		if plans[pair[0]] > 0 && plans[pair[1]] > 0 && owner[pair[0]] != owner[pair[1]] && (replaced[owner[pair[0]]] || replaced[owner[pair[1]]]) {
			return allot.Errorf(allot.EINVALID, "License assignment failed because service plans %s, %s are mutually exclusive. %s cannot be enabled together with %s.",
				pair[0], pair[1], e.planLabel(pair[0]), e.planLabel(pair[1]))
		}
	}
	return nil
}

// AssignGroupLicenses adds and removes licenses of a group in one atomic
// step (so replacing one product by another never leaves a member with
// neither). An add-on whose prerequisite plan is not enabled by the group's
// own licenses is refused with Microsoft's message.
func (e *Engine) AssignGroupLicenses(op Op, groupID string, add []AssignedLicense, remove []string) error {
	g, ok := e.groups[groupID]
	if !ok {
		return allot.NewError(allot.ENOTFOUND, msgNotFound(groupID))
	}
	adds, rms, err := e.checkLicenses(add, remove)
	if err != nil {
		return err
	}
	if len(adds) > 0 && !g.SecurityEnabled {
		return allot.Errorf(allot.EINVALID, "Licenses can only be assigned to security-enabled groups; group %s is not security enabled.", g.DisplayName)
	}
	for _, id := range rms {
		if _, ok := g.licenseFor(id); !ok {
			return allot.Errorf(allot.EINVALID, "Group %s does not have license %s.", g.DisplayName, e.skuLabel(id))
		}
	}
	// The group's licenses after the change.
	// Only the group's general-pool licenses are replaced or removed: its
	// assignments through allotments are the allotments API's.
	result := make([]LicenseSource, 0, len(g.licenses)+len(adds))
	for _, gl := range g.licenses {
		if gl.AllotmentID != "" || (!containsString(rms, gl.SKUID) && !containsSource(adds, gl.SKUID)) {
			result = append(result, gl)
		}
	}
	result = append(result, adds...)
	if err := e.checkGroupPrerequisites(result); err != nil {
		return err
	}
	now := e.tick(op.Now)
	for i := range adds {
		if j, ok := g.licenseFor(adds[i].SKUID); ok {
			adds[i].AssignedAt = g.licenses[j].AssignedAt
		} else {
			adds[i].AssignedAt = now
		}
	}
	next := make([]LicenseSource, 0, len(result))
	for _, gl := range g.licenses {
		if gl.AllotmentID != "" || (!containsString(rms, gl.SKUID) && !containsSource(adds, gl.SKUID)) {
			next = append(next, gl)
		}
	}
	next = append(next, adds...)
	sortSources(next)
	g.licenses = next
	var picked []string
	for _, a := range adds {
		mark(&e.delta.GroupLicenses, Key2{g.ID, a.SKUID}, true)
		change := "added " + e.partNumber(a.SKUID) + disabledNote(a.DisabledPlans)
		e.auditDetail(op, audit.ActivitySetGroupLicense, "", g.ID, a.SKUID, change)
		picked = append(picked, change)
	}
	for _, id := range rms {
		mark(&e.delta.GroupLicenses, Key2{g.ID, id}, false)
		change := "removed " + e.partNumber(id)
		e.auditDetail(op, audit.ActivitySetGroupLicense, "", g.ID, id, change)
		picked = append(picked, change)
	}
	e.noteReplacements(g, adds, rms)
	why := "licenses of group " + g.DisplayName + " changed by " + actorOf(op)
	e.applyGroup(g, why, strings.Join(picked, "; "), now)
	return nil
}

func containsSource(ss []LicenseSource, skuID string) bool {
	for _, s := range ss {
		if s.SKUID == skuID {
			return true
		}
	}
	return false
}

// checkGroupPrerequisites requires every enabled plan's prerequisites to be
// enabled by the same group's licenses.
func (e *Engine) checkGroupPrerequisites(ls []LicenseSource) error {
	plans := planSet{}
	for _, l := range ls {
		s := SourceState{DisabledPlans: l.DisabledPlans}
		enabledBy(e.pools[l.SKUID].sku, &s, func(id string) { plans[id]++ })
	}
	for _, l := range ls {
		sku := e.pools[l.SKUID].sku
		for _, pl := range sku.Plans {
			if containsString(l.DisabledPlans, pl.ID) {
				continue
			}
			for _, d := range e.plan.deps[pl.ID] {
				if anyPlan(d.RequiresAnyOf, plans) {
					continue
				}
				names := make([]string, 0, len(d.RequiresAnyOf))
				for _, r := range d.RequiresAnyOf {
					names = append(names, e.planFriendlyName(r))
				}
				// Graph's sentence (names only), then the ids.
				return allot.Errorf(allot.EINVALID, "License operation failed. Make sure that the group has necessary services before adding or removing a dependent service. The service %s requires %s to be enabled as well. %s of %s needs %s.",
					e.planFriendlyName(pl.ID), strings.Join(names, " or "), e.planLabel(pl.ID), e.skuLabel(sku.ID), e.planLabels(d.RequiresAnyOf, " or "))
			}
		}
	}
	return nil
}

// planLabel is a plan's name with its id, for messages: "Exchange Online
// (Plan 2) (efb87545-963c-4e0d-99df-69c6916d9eb0)".
func (e *Engine) planLabel(id string) string {
	if n := e.planFriendlyName(id); n != id {
		return n + " (" + id + ")"
	}
	return "service plan " + id
}

// planLabels joins the labels of plans with sep.
func (e *Engine) planLabels(ids []string, sep string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = e.planLabel(id)
	}
	return strings.Join(out, sep)
}

// skuLabel is a product's name, part number and id, for messages.
func (e *Engine) skuLabel(id string) string {
	s, ok := e.cat.SKU(id)
	if !ok {
		return "product " + id
	}
	if s.DisplayName != "" && s.DisplayName != s.PartNumber {
		return s.DisplayName + " (" + s.PartNumber + ", " + id + ")"
	}
	return s.PartNumber + " (" + id + ")"
}

func (e *Engine) planFriendlyName(id string) string {
	if p, ok := e.cat.Plan(id); ok {
		if p.FriendlyName != "" {
			return p.FriendlyName
		}
		return p.Name
	}
	return id
}

// fitUnits is the units rule of a product seen from its units, the one
// SetUnits and Import obey (fitAllotment is the same invariant from the
// allotments' side): the units (Units.Total: in every lifecycle state)
// cover the allotted units and the generalHeld seats held outside
// allotments. Refusals are ECONFLICT (409).
func fitUnits(s *catalog.SKU, total, allotted, generalHeld int) error {
	if total < allotted {
		return allot.Errorf(allot.ECONFLICT, "Allotments of %s hold %d units; reduce them before reducing the units to %d.", s.PartNumber, allotted, total)
	}
	if total-allotted < generalHeld {
		inUse := generalHeld + allotted
		return allot.Errorf(allot.ECONFLICT, "%d licenses of %s are assigned; remove at least %d assignment(s) before reducing the units to %d.", inUse, s.PartNumber, inUse-total, total)
	}
	return nil
}

// ReprocessUser recomputes a user's licenses from scratch (Graph's
// reprocessLicenseAssignment). With automatic admission it rarely changes
// anything, but it is always safe.
func (e *Engine) ReprocessUser(op Op, userID string) error {
	u, ok := e.users[userID]
	if !ok {
		return allot.NewError(allot.ENOTFOUND, msgNotFound(userID))
	}
	now := e.tick(op.Now)
	e.touch(u, actorOf(op), "reprocess requested")
	for _, l := range u.licenses {
		e.pending.pools[l.pool] = struct{}{}
	}
	e.settle(now)
	return nil
}

// ReprocessGroup recomputes the licenses of every user the group licenses.
func (e *Engine) ReprocessGroup(op Op, groupID string) error {
	g, ok := e.groups[groupID]
	if !ok {
		return allot.NewError(allot.ENOTFOUND, msgNotFound(groupID))
	}
	now := e.tick(op.Now)
	e.audit(op, audit.ActivityRecalculateGroup, "", g.ID, "")
	for i := range g.licenses {
		if p := e.sourcePool(&g.licenses[i]); p != nil {
			e.pending.pools[p] = struct{}{}
		}
	}
	e.applyGroup(g, "reprocess of group "+g.DisplayName+" requested by "+actorOf(op), "reprocess", now)
	return nil
}

// SetSettings changes the tenant settings and re-derives every license the
// change can affect.
func (e *Engine) SetSettings(op Op, s Settings) error {
	if s.DefaultUsageLocation != "" && !ValidUsageLocation(s.DefaultUsageLocation) {
		return allot.Errorf(allot.EINVALID, "Invalid default usage location %q: use an ISO 3166 two-letter code.", s.DefaultUsageLocation)
	}
	now := e.tick(op.Now)
	old := e.settings
	e.settings = s
	e.delta.Settings = true
	e.auditDetail(op, "Update tenant settings", "", "", "", changeDetail(old, s))
	if old != s {
		for _, u := range e.all {
			e.touch(u, audit.ActorGroupLicensing, "tenant licensing settings changed by "+actorOf(op))
		}
	}
	e.settle(now)
	return nil
}

func actorOf(op Op) string {
	if op.Actor == "" {
		return "system"
	}
	return op.Actor
}

// audit records an audit entry for a command.
func (e *Engine) audit(op Op, action, userID, groupID, skuID string) {
	e.auditDetail(op, action, userID, groupID, skuID, "")
}

func (e *Engine) auditDetail(op Op, action, userID, groupID, skuID, detail string) {
	e.delta.Audit = append(e.delta.Audit, audit.Entry{
		At: e.clock, Actor: actorOf(op), Action: action,
		UserID: userID, GroupID: groupID, SKUID: skuID, Why: op.Why, Detail: detail,
	})
}

// countErrors adjusts the error counts of the groups of sources by delta.
func (e *Engine) countErrors(ss []SourceState, delta int) {
	e.forEachGroupInError(ss, func(g *group, code SourceErrorCode) { g.errors.add(code, delta) })
}

// forEachGroupInError calls fn with the group and the error code of every
// group source in Error.
func (e *Engine) forEachGroupInError(ss []SourceState, fn func(g *group, code SourceErrorCode)) {
	for k := range ss {
		if s := &ss[k]; s.AssignedByGroup != "" && s.State == StateError {
			if g := e.groups[s.AssignedByGroup]; g != nil {
				fn(g, s.Error)
			}
		}
	}
}

// dropUser removes u from the user indexes.
func (e *Engine) dropUser(u *user) {
	delete(e.users, u.ID)
	last := e.all[len(e.all)-1]
	e.all[u.idx] = last
	last.idx = u.idx
	e.all = e.all[:len(e.all)-1]
}
