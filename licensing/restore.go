package licensing

import (
	"slices"
	"sort"
	"strings"

	"allot"
	"allot/audit"
)

// Restoring deleted users and groups (Graph: POST
// /directory/deletedItems/{id}/restore). The engine keeps no deleted
// objects: a caller that offers restore takes a DeletedUser (or
// DeletedGroup) before deleting and keeps it; RestoreUser brings the user
// back from it. That keeps every reader of the engine — Graph lists,
// $filter, $count, SCIM, the admin center, the position — free of deleted
// objects by construction.

// DeletedUser is what restoring a user needs: the user's properties, the
// groups whose membership was assigned (static groups; dynamic groups take
// the user back by their rules), and its direct licenses (outside
// allotments and through them).
type DeletedUser struct {
	User           User            `json:"user"`
	MemberOf       []string        `json:"memberOf,omitempty"`
	DirectLicenses []LicenseSource `json:"directLicenses,omitempty"`
}

// DeletedGroup is what restoring a group needs: its properties, its
// direct members (users and groups; none for a dynamic group, whose rule
// brings them back) and the static groups it was a member of.
type DeletedGroup struct {
	Group    Group    `json:"group"`
	Members  []string `json:"members,omitempty"`
	MemberOf []string `json:"memberOf,omitempty"`
}

// DeletedUserOf returns what RestoreUser needs to bring the user back;
// false if there is no such user. Call it before DeleteUser.
func (e *Engine) DeletedUserOf(id string) (DeletedUser, bool) {
	u, ok := e.users[id]
	if !ok {
		return DeletedUser{}, false
	}
	d := DeletedUser{User: *u.User}
	for _, g := range u.groups {
		if !g.IsDynamic() {
			d.MemberOf = append(d.MemberOf, g.ID)
		}
	}
	sort.Strings(d.MemberOf)
	for _, s := range u.direct {
		s.DisabledPlans = slices.Clone(s.DisabledPlans)
		d.DirectLicenses = append(d.DirectLicenses, s)
	}
	return d, true
}

// DeletedGroupOf returns what RestoreGroup needs to bring the group back;
// false if there is no such group. Call it before DeleteGroup.
func (e *Engine) DeletedGroupOf(id string) (DeletedGroup, bool) {
	g, ok := e.groups[id]
	if !ok {
		return DeletedGroup{}, false
	}
	d := DeletedGroup{Group: g.Group}
	d.Group.GroupTypes = slices.Clone(g.GroupTypes)
	if !g.IsDynamic() {
		for u := range g.members {
			d.Members = append(d.Members, u.ID)
		}
		for c := range g.memberGroups {
			d.Members = append(d.Members, c.ID)
		}
	}
	for p := range g.parents {
		if !p.IsDynamic() {
			d.MemberOf = append(d.MemberOf, p.ID)
		}
	}
	sort.Strings(d.Members)
	sort.Strings(d.MemberOf)
	return d, true
}

// RestoreUser brings a deleted user back with its properties, its
// memberships of the static groups that still exist, and its direct
// licenses whose SKU (and allotment) still exist; dynamic groups whose
// rules match take it back too.
//
// Entra restores the licenses "even if there are no seats available" and
// leaves the organisation over its purchased count (Microsoft Entra
// documentation, "Restore or remove a recently deleted user"). allot never
// oversubscribes: a restored license without a free seat keeps its intent
// and waits in the SKU's waiting room (Error/CountViolation) until a seat
// frees, oldest claim first — the restored claims are new claims.
//
// Refused, changing nothing: the id is in use (ECONFLICT), or the
// userPrincipalName now belongs to another user (ECONFLICT, Graph's
// message), or the user's properties are no longer valid (EINVALID).
func (e *Engine) RestoreUser(op Op, d DeletedUser) error {
	if _, ok := e.users[d.User.ID]; ok || e.groups[d.User.ID] != nil {
		return allot.Errorf(allot.ECONFLICT, "An object with id %s already exists.", d.User.ID)
	}
	why := op.Why
	if why == "" {
		why = "restored from deleted items"
	}
	create := op
	create.Why = why
	if err := e.PutUser(create, d.User); err != nil {
		return err
	}
	u := e.users[d.User.ID]
	now := e.tick(op.Now)
	r := reason{actorOf(op), why}
	for _, id := range d.MemberOf {
		g := e.groups[id]
		if g == nil || g.IsDynamic() || u.inGroup(g) {
			continue
		}
		g.members[u] = struct{}{}
		u.groups = append(u.groups, g)
		mark(&e.delta.Members, Key2{g.ID, u.ID}, true)
		e.audit(create, "Add member to group", u.ID, g.ID, "")
		if hasInheritableLicenses(e, g) {
			e.touch(u, audit.ActorGroupLicensing, "member of group "+g.DisplayName+" restored")
		}
	}
	var dropped []string
	for _, s := range d.DirectLicenses {
		p := e.sourcePool(&s)
		if p == nil || (s.AllotmentID != "" && p.sku.ID != s.SKUID) {
			dropped = append(dropped, s.SKUID)
			continue
		}
		if _, dup := u.directIn(s.SKUID, s.AllotmentID); dup {
			continue
		}
		dis := make([]string, 0, len(s.DisabledPlans))
		for _, pl := range s.DisabledPlans {
			if p.sku.HasPlan(pl) {
				dis = append(dis, pl)
			}
		}
		s.DisabledPlans = dis
		if s.AssignedAt.IsZero() {
			s.AssignedAt = now
		}
		u.direct = append(u.direct, s)
		mark(&e.delta.DirectLicenses, Key2{u.ID, p.key}, true)
		e.touch(u, r.actor, r.why)
	}
	sortSources(u.direct)
	detail := "restored from deleted items"
	if len(dropped) > 0 {
		detail += "; direct licenses not restored (their subscription or allotment is gone): " + strings.Join(dropped, ", ")
	}
	e.delta.Audit = append(e.delta.Audit, audit.Entry{At: e.clock, Actor: actorOf(op), Action: "Restore user", UserID: u.ID, Why: op.Why, Detail: detail})
	e.settle(now)
	return nil
}

// RestoreGroup brings a deleted group back with its properties, its
// members that still exist (a dynamic group's rule brings back its
// members) and its memberships of static groups that still exist. A
// membership that would make a group contain itself is left out.
//
// Refused, changing nothing: the id is in use (ECONFLICT), or the group's
// properties are no longer valid (EINVALID).
func (e *Engine) RestoreGroup(op Op, d DeletedGroup) error {
	if _, ok := e.groups[d.Group.ID]; ok || e.users[d.Group.ID] != nil {
		return allot.Errorf(allot.ECONFLICT, "An object with id %s already exists.", d.Group.ID)
	}
	create := op
	if create.Why == "" {
		create.Why = "restored from deleted items"
	}
	if err := e.PutGroup(create, d.Group); err != nil {
		return err
	}
	g := e.groups[d.Group.ID]
	now := e.tick(op.Now)
	why := "group " + g.DisplayName + " restored by " + actorOf(op)
	if !g.IsDynamic() {
		for _, id := range d.Members {
			if u := e.users[id]; u != nil {
				if u.inGroup(g) {
					continue
				}
				g.members[u] = struct{}{}
				u.groups = append(u.groups, g)
				mark(&e.delta.Members, Key2{g.ID, u.ID}, true)
				e.audit(create, "Add member to group", u.ID, g.ID, "")
				continue
			}
			c := e.groups[id]
			if c == nil || c == g || e.isAncestor(c, g) {
				continue
			}
			g.memberGroups[c] = struct{}{}
			c.parents[g] = struct{}{}
			mark(&e.delta.Members, Key2{g.ID, c.ID}, true)
			e.audit(create, "Add member to group", "", g.ID, "")
		}
	}
	for _, id := range d.MemberOf {
		p := e.groups[id]
		if p == nil || p.IsDynamic() || p == g || e.isAncestor(g, p) {
			continue
		}
		if _, dup := p.memberGroups[g]; dup {
			continue
		}
		p.memberGroups[g] = struct{}{}
		g.parents[p] = struct{}{}
		mark(&e.delta.Members, Key2{p.ID, g.ID}, true)
		e.audit(create, "Add member to group", "", p.ID, "")
	}
	if hasInheritableLicenses(e, g) {
		for _, u := range e.licensedUsers(g) {
			e.touch(u, audit.ActorGroupLicensing, why)
		}
	}
	e.delta.Audit = append(e.delta.Audit, audit.Entry{At: e.clock, Actor: actorOf(op), Action: "Restore group", GroupID: g.ID, Why: op.Why, Detail: "restored from deleted items"})
	e.settle(now)
	return nil
}
