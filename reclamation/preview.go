package reclamation

import (
	"net/mail"
	"slices"
	"strings"
	"time"

	"allot"
	"allot/licensing"
	"allot/m365"
	"allot/position"
	"allot/prices"
	"allot/tenant"
)

// Build makes a campaign and its members from a tenant copy and its
// position: the findings of the spec's kinds, products and group, one
// member per (user, product), each either in the campaign (pending) or
// excluded with the reason. It changes nothing. spec must have passed
// Validate.
//
// A member is in the campaign only when the product comes to the user
// through direct licenses allot may remove: not through a group (removing
// the user from the group could take other licenses too — the preview
// says which group), and not a direct license Entra assigns to a user
// synced from Microsoft 365 (the next sync would bring it back; it is
// removed in Entra). A downgrade applies to direct licenses outside
// allotments.
func Build(st *tenant.State, pos *position.Position, spec Spec, actor, creatorKey string, now time.Time) (Campaign, []Member, error) {
	e := st.Engine
	cat := e.Catalog()
	c := Campaign{Spec: spec, Status: Draft, AsOf: pos.AsOf, CreatedBy: actor, CreatorKey: creatorKey, CreatedAt: now}
	if c.ID == "" {
		c.ID = newID()
	}
	skus := map[string]bool{}
	for _, ref := range spec.SKUs {
		s, ok := cat.SKU(ref)
		if !ok {
			return c, nil, invalid("product %q is not known.", ref)
		}
		skus[s.ID] = true
	}
	var target *licensingSKU
	if spec.Action == Downgrade {
		s, ok := cat.SKU(spec.DowngradeTo)
		if !ok {
			return c, nil, invalid("downgradeTo: product %q is not known.", spec.DowngradeTo)
		}
		if _, ok := e.Pool(s.ID); !ok {
			return c, nil, invalid("downgradeTo: product %s has no units in this tenant.", s.PartNumber)
		}
		if skus[s.ID] {
			return c, nil, invalid("downgradeTo: %s is one of the products the campaign takes back.", s.PartNumber)
		}
		c.DowngradeSKUID = s.ID
		target = &licensingSKU{id: s.ID, part: s.PartNumber}
	}
	var inGroup map[string]bool
	if spec.GroupID != "" {
		users, _, ok := e.TransitiveMembers(spec.GroupID)
		if !ok {
			return c, nil, invalid("group %q does not exist.", spec.GroupID)
		}
		inGroup = make(map[string]bool, len(users))
		for _, u := range users {
			inGroup[u] = true
		}
	}
	pl, _, err := prices.Of(st)
	if err != nil {
		return c, nil, err
	}
	if pl != nil {
		c.Currency = pl.Currency
	}
	var members []Member
	seen := map[[2]string]bool{}
	var saving int64
	priced := false
	var tooMany bool
	pos.EachFinding(func(f *position.Finding) bool {
		if !slices.Contains(spec.Kinds, f.Kind) || f.OnLeave || f.UserID == "" || f.SKUID == "" {
			return true
		}
		if len(skus) > 0 && !skus[f.SKUID] || inGroup != nil && !inGroup[f.UserID] {
			return true
		}
		k := [2]string{f.UserID, f.SKUID}
		if seen[k] {
			return true
		}
		seen[k] = true
		if len(members) >= MaxMembers {
			tooMany = true
			return false
		}
		m, ok := member(st, c, f, target, pl)
		if !ok {
			return true
		}
		if m.State == MemberPending {
			c.Members++
			if m.MonthlySaving != nil {
				saving += prices.ToUnits(*m.MonthlySaving)
				priced = true
			}
		} else {
			c.Excluded++
		}
		members = append(members, m)
		return true
	})
	if tooMany {
		return c, nil, invalid("The campaign would have more than %d members: narrow it by kinds, skus or groupId.", MaxMembers)
	}
	if priced {
		v := prices.FromUnits(saving)
		c.MonthlySaving = &v
	}
	c.Counts = counts(members)
	return c, members, nil
}

type licensingSKU struct{ id, part string }

// member makes the member of a finding; false if the user is gone.
func member(st *tenant.State, c Campaign, f *position.Finding, target *licensingSKU, pl *prices.List) (Member, bool) {
	e := st.Engine
	u, ok := e.User(f.UserID)
	if !ok {
		return Member{}, false
	}
	m := Member{CampaignID: c.ID, UserID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
		SKUID: f.SKUID, SKUPartNumber: f.SKUPartNumber, Kind: f.Kind, FindingID: f.ID, State: MemberPending}
	for _, l := range e.LicensesOf(u.ID, f.SKUID) {
		for _, src := range l.Sources {
			if src.AssignedByGroup != "" {
				name := src.AssignedByGroup
				if g, ok := e.Group(name); ok {
					name = g.DisplayName + " (" + g.ID + ")"
				}
				m.State, m.Excluded = MemberExcluded, "licensed through group "+name+": remove the user from the group or change the group's licenses"
				return m, true
			}
		}
	}
	for _, src := range e.DirectLicenses(u.ID) {
		if src.SKUID == f.SKUID {
			src.DisabledPlans = slices.Clone(src.DisabledPlans)
			m.Sources = append(m.Sources, src)
		}
	}
	switch {
	case len(m.Sources) == 0:
		m.State, m.Excluded = MemberExcluded, "no direct license of the product"
	case m365.EntraDirect(st, u.ID, f.SKUID):
		m.State, m.Excluded = MemberExcluded, "assigned directly in Microsoft 365 (Entra): remove it there; allot's sync would bring it back"
	case target != nil && slices.ContainsFunc(m.Sources, func(s licensing.LicenseSource) bool { return s.AllotmentID != "" }):
		m.State, m.Excluded = MemberExcluded, "licensed through an allotment: a downgrade applies to licenses outside allotments"
	}
	if p, ok := pl.Units(f.SKUID); ok {
		n := int64(len(m.Sources))
		v := p * n
		if target != nil {
			if q, ok := pl.Units(target.id); ok {
				v = (p - q) * n
			} else {
				v = -1
			}
		}
		if v >= 0 {
			x := prices.FromUnits(v)
			m.MonthlySaving = &x
		}
	}
	m.Mail = addressOf(u)
	if c.NotifyManager {
		m.ManagerMail = managerOf(e, u, c.ManagerAttribute)
	}
	return m, true
}

// addressOf is where a user's notice goes: the mail property, else the
// userPrincipalName when it is an address ("" for neither).
func addressOf(u licensing.User) string {
	for _, a := range []string{u.Mail(), u.UserPrincipalName} {
		if a == "" {
			continue
		}
		if p, err := mail.ParseAddress(a); err == nil && p.Address == a {
			return a
		}
	}
	return ""
}

// managerOf reads the user's manager attribute: an email address, or the
// object id or userPrincipalName of a user whose address is used.
func managerOf(e *licensing.Engine, u licensing.User, attr string) string {
	v := strings.TrimSpace(u.Attributes[attr])
	if v == "" {
		return ""
	}
	if mgr, ok := e.User(v); ok {
		return addressOf(mgr)
	}
	if mgr, ok := e.UserByUPN(v); ok {
		return addressOf(mgr)
	}
	if p, err := mail.ParseAddress(v); err == nil && p.Address == v {
		return v
	}
	return ""
}

// checkNew checks that a new campaign fits the tenant.
func checkNew(s *tenant.State, c *Campaign) error {
	if ok, _ := s.Decode(KindCampaign, c.ID, &Campaign{}); ok {
		return allot.Errorf(allot.ECONFLICT, "Reclamation campaign %q exists.", c.ID)
	}
	if len(s.IDs(KindCampaign)) >= MaxCampaigns {
		return allot.Errorf(allot.ECONFLICT, "A tenant has at most %d reclamation campaigns.", MaxCampaigns)
	}
	return nil
}
