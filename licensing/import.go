package licensing

import (
	"fmt"

	"allot"
	"allot/audit"
)

// ImportData is a tenant's directory and licenses in bulk (a bundle or a
// Graph export), already validated by the caller.
type ImportData struct {
	Units          map[string]int // skuId → enabled units
	Allotments     []Allotment
	Users          []User
	Groups         []Group
	Members        [][2]string // (groupId, memberId)
	GroupLicenses  []OwnedSource
	DirectLicenses []OwnedSource
	// Seats optionally restores seat claims exactly (claim time and whether
	// a seat is held), so that an export imported again gives the same
	// waiting-room order. Without them, claims date from the sources'
	// AssignedAt.
	Seats []License
}

// OwnedSource is a license source with its owner (group or user id).
type OwnedSource struct {
	Owner string
	LicenseSource
}

// ImportStats counts what an import changed.
type ImportStats struct {
	Users, Groups, Members, Licenses int
}

// Import merges data into the tenant as one command: objects that exist
// unchanged stay as they are (importing the same data twice changes
// nothing), others are created or replaced, and licenses are reconciled
// once at the end. Into an empty tenant it loads and recomputes in bulk.
// References must have been validated; an error means a defect of the
// caller and the engine may be partly changed (the runtime then rebuilds
// it from the store).
func (e *Engine) Import(op Op, d ImportData) (ImportStats, error) {
	if len(e.users) == 0 && len(e.groups) == 0 && len(e.allotments) == 0 {
		return e.importEmpty(op, d)
	}
	return e.importMerge(op, d)
}

func (e *Engine) importEmpty(op Op, d ImportData) (ImportStats, error) {
	var st ImportStats
	for sku, n := range d.Units {
		if err := e.LoadUnits(sku, Units{Enabled: n, Status: "Enabled"}); err != nil {
			return st, err
		}
		mark(&e.delta.Pools, sku, true)
	}
	for _, a := range d.Allotments {
		if err := e.LoadAllotment(a); err != nil {
			return st, err
		}
		mark(&e.delta.Allotments, a.ID, true)
	}
	e.delta.Users = make(map[string]bool, len(d.Users))
	for _, u := range d.Users {
		if u.UserType == "" {
			u.UserType = "Member"
		}
		if u.Kind == "" {
			u.Kind = KindPerson
		}
		if err := e.LoadUser(u); err != nil {
			return st, err
		}
		e.delta.Users[u.ID] = true
	}
	for _, g := range d.Groups {
		if err := e.LoadGroup(g); err != nil {
			return st, err
		}
		mark(&e.delta.Groups, g.ID, true)
	}
	e.delta.Members = make(map[Key2]bool, len(d.Members))
	for _, m := range d.Members {
		if err := e.LoadMember(m[0], m[1]); err != nil {
			return st, err
		}
		e.delta.Members[Key2{m[0], m[1]}] = true
	}
	for _, s := range d.GroupLicenses {
		if err := e.LoadGroupLicense(s.Owner, s.LicenseSource); err != nil {
			return st, err
		}
		mark(&e.delta.GroupLicenses, Key2{s.Owner, sourceKey(&s.LicenseSource)}, true)
	}
	for _, s := range d.DirectLicenses {
		if err := e.LoadDirectLicense(s.Owner, s.LicenseSource); err != nil {
			return st, err
		}
		mark(&e.delta.DirectLicenses, Key2{s.Owner, sourceKey(&s.LicenseSource)}, true)
	}
	for _, l := range d.Seats {
		if err := e.LoadLicense(l); err != nil {
			return st, err
		}
	}
	// Dynamic groups: members follow their rules.
	now := e.tick(op.Now)
	for _, g := range d.Groups {
		if r := e.dyn.Get(g.ID); r != nil {
			e.applyRule(op, e.groups[g.ID], r, now)
		}
	}
	e.pending.init()
	e.Recompute(Op{Actor: op.Actor, Now: now, Why: "tenant import"})
	st = ImportStats{Users: len(d.Users), Groups: len(d.Groups), Members: len(d.Members), Licenses: len(d.GroupLicenses) + len(d.DirectLicenses)}
	e.delta.Audit = append(e.delta.Audit, audit.Entry{At: e.clock, Actor: actorOf(op), Action: "Import tenant",
		Detail: fmt.Sprintf("%d users, %d groups, %d memberships, %d licenses", st.Users, st.Groups, st.Members, st.Licenses)})
	return st, nil
}

// sourceKey is a source's pool key: skuId, or skuId/allotmentId.
func sourceKey(l *LicenseSource) string {
	if l.AllotmentID != "" {
		return l.SKUID + "/" + l.AllotmentID
	}
	return l.SKUID
}

func (e *Engine) importMerge(op Op, d ImportData) (ImportStats, error) {
	var st ImportStats
	now := e.tick(op.Now)
	why := "tenant import by " + actorOf(op)
	for sku, n := range d.Units {
		if p, ok := e.pools[sku]; ok && p.units.Enabled == n {
			continue
		}
		if err := e.SetUnits(Op{Actor: op.Actor, Now: now}, sku, Units{Enabled: n, Status: "Enabled"}); err != nil {
			return st, err
		}
	}
	for _, a := range d.Allotments {
		if cur, ok := e.allotments[a.ID]; ok && cur.AllottedUnits == a.AllottedUnits && cur.DisplayName == a.DisplayName {
			continue
		}
		if err := e.PutAllotment(Op{Actor: op.Actor, Now: now}, a); err != nil {
			return st, err
		}
	}
	for _, in := range d.Users {
		if u, ok := e.users[in.ID]; ok && sameUser(u.User, &in) {
			continue
		}
		if err := e.PutUser(Op{Actor: op.Actor, Now: now, Why: why}, in); err != nil {
			return st, fmt.Errorf("user %s: %w", in.ID, err)
		}
		st.Users++
	}
	for _, in := range d.Groups {
		if g, ok := e.groups[in.ID]; ok && sameGroup(&g.Group, &in) {
			continue
		}
		if err := e.PutGroup(Op{Actor: op.Actor, Now: now, Why: why}, in); err != nil {
			return st, fmt.Errorf("group %s: %w", in.ID, err)
		}
		st.Groups++
	}
	for _, m := range d.Members {
		g := e.groups[m[0]]
		if g == nil {
			return st, allot.Errorf(allot.EINVALID, "group %s does not exist", m[0])
		}
		if g.IsDynamic() {
			continue
		}
		if u, ok := e.users[m[1]]; ok && u.inGroup(g) {
			continue
		}
		if c, ok := e.groups[m[1]]; ok {
			if _, in := g.memberGroups[c]; in {
				continue
			}
		}
		if err := e.AddMembers(Op{Actor: op.Actor, Now: now, Why: why}, m[0], []string{m[1]}); err != nil {
			return st, err
		}
		st.Members++
	}
	for _, s := range d.GroupLicenses {
		g := e.groups[s.Owner]
		if i, ok := g.licenseIn(s.SKUID, s.AllotmentID); ok && equalStrings(g.licenses[i].DisabledPlans, s.DisabledPlans) {
			continue
		}
		if err := e.importSource(op, g, nil, s.LicenseSource); err != nil {
			return st, err
		}
		st.Licenses++
	}
	for _, s := range d.DirectLicenses {
		u := e.users[s.Owner]
		if i, ok := u.directIn(s.SKUID, s.AllotmentID); ok && equalStrings(u.direct[i].DisabledPlans, s.DisabledPlans) {
			continue
		}
		if err := e.importSource(op, nil, u, s.LicenseSource); err != nil {
			return st, err
		}
		st.Licenses++
	}
	return st, nil
}

// importSource adds a source with its original AssignedAt, bypassing the
// refusals of interactive assignment (an import restores what exists).
func (e *Engine) importSource(op Op, g *group, u *user, l LicenseSource) error {
	if e.sourcePool(&l) == nil {
		return allot.Errorf(allot.EINVALID, "no units of %s", l.SKUID)
	}
	if l.AssignedAt.IsZero() {
		l.AssignedAt = e.clock
	}
	why := "tenant import by " + actorOf(op)
	if g != nil {
		if i, ok := g.licenseIn(l.SKUID, l.AllotmentID); ok {
			g.licenses[i] = l
		} else {
			g.licenses = append(g.licenses, l)
			sortSources(g.licenses)
		}
		mark(&e.delta.GroupLicenses, Key2{g.ID, sourceKey(&l)}, true)
		for _, m := range e.licensedUsers(g) {
			e.touch(m, audit.ActorGroupLicensing, why)
		}
	} else {
		if i, ok := u.directIn(l.SKUID, l.AllotmentID); ok {
			u.direct[i] = l
		} else {
			u.direct = append(u.direct, l)
			sortSources(u.direct)
		}
		mark(&e.delta.DirectLicenses, Key2{u.ID, sourceKey(&l)}, true)
		e.touch(u, actorOf(op), why)
	}
	e.settle(e.clock)
	return nil
}

func sameUser(a, b *User) bool {
	if a.ID != b.ID || a.UserPrincipalName != b.UserPrincipalName || a.DisplayName != b.DisplayName || a.AccountEnabled != b.AccountEnabled ||
		a.UsageLocation != b.UsageLocation || a.Department != b.Department || a.JobTitle != b.JobTitle || a.Country != b.Country ||
		a.City != b.City || a.CompanyName != b.CompanyName || a.EmployeeID != b.EmployeeID || a.EmployeeHireDate != b.EmployeeHireDate ||
		a.Mail != b.Mail || a.GivenName != b.GivenName || a.Surname != b.Surname || !equalStrings(a.ProxyAddresses, b.ProxyAddresses) ||
		!equalStrings(a.OtherMails, b.OtherMails) || len(a.Attributes) != len(b.Attributes) {
		return false
	}
	if (b.UserType != "" && a.UserType != b.UserType) || (b.Kind != "" && a.Kind != b.Kind) {
		return false
	}
	for k, v := range a.Attributes {
		if b.Attributes[k] != v {
			return false
		}
	}
	return true
}

func sameGroup(a, b *Group) bool {
	return a.ID == b.ID && a.DisplayName == b.DisplayName && a.Description == b.Description && a.MailNickname == b.MailNickname &&
		a.MailEnabled == b.MailEnabled && a.SecurityEnabled == b.SecurityEnabled && equalStrings(a.GroupTypes, b.GroupTypes) &&
		a.MembershipRule == b.MembershipRule && (b.MembershipRuleProcessingState == "" || a.MembershipRuleProcessingState == b.MembershipRuleProcessingState) &&
		(b.AssignmentMode == "" || a.AssignmentMode == b.AssignmentMode)
}
