package bundle

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/userprop"
)

// Graph JSON import: the responses an administrator can save from a real
// Microsoft 365 tenant —
//
//	GET /v1.0/users?$select=id,userPrincipalName,…,assignedLicenses,licenseAssignmentStates
//	GET /v1.0/groups?$expand=members&$select=id,displayName,…,assignedLicenses
//	GET /v1.0/subscribedSkus
//
// one or many pages each ({"value":[…]}). Direct licenses are the user
// licenses whose licenseAssignmentState has no assignedByGroup; without
// licenseAssignmentStates, a user's assignedLicenses that none of its
// groups assigns count as direct.

type graphPage[T any] struct {
	Value []T `json:"value"`
}

type graphLicense struct {
	SKUID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

type graphState struct {
	SKUID           string   `json:"skuId"`
	AssignedByGroup *string  `json:"assignedByGroup"`
	DisabledPlans   []string `json:"disabledPlans"`
	State           string   `json:"state"`
	LastUpdated     string   `json:"lastUpdatedDateTime"`
}

// graphPlan is one of a user's assignedPlans.
type graphPlan struct {
	AssignedDateTime string `json:"assignedDateTime"`
	CapabilityStatus string `json:"capabilityStatus"`
	ServicePlanID    string `json:"servicePlanId"`
}

// graphDates are the dates a Graph user gives for its licenses, resolved
// against the catalog in Validate (graphSeatDates).
type graphDates struct {
	user   string
	skus   []string             // every product the user holds (assignedLicenses, licenseAssignmentStates)
	plans  map[string]time.Time // servicePlanId (lower case) → assignedDateTime
	states []graphState         // with a parsed lastUpdatedDateTime
	times  []time.Time          // states[i]'s lastUpdatedDateTime
}

// graphUser is a Graph user: what the import reads besides the
// user-property registry's properties (raw keeps the whole object for
// those: registryProps).
type graphUser struct {
	ID              string         `json:"id"`
	AccountEnabled  *bool          `json:"accountEnabled"`
	CreatedDateTime string         `json:"createdDateTime"`
	Licenses        []graphLicense `json:"assignedLicenses"`
	States          []graphState   `json:"licenseAssignmentStates"`
	Plans           []graphPlan    `json:"assignedPlans"`
	Extensions      map[string]any `json:"onPremisesExtensionAttributes"`

	raw []byte
}

func (u *graphUser) UnmarshalJSON(b []byte) error {
	type plain graphUser // the fields above, without this method
	if err := json.Unmarshal(b, (*plain)(u)); err != nil {
		return err
	}
	u.raw = append([]byte(nil), b...)
	return nil
}

// registryProps sets on lu the registry's properties Microsoft Entra owns
// (userprop.Property.Entra: the properties a sync reads) that the user
// object has, found by name (else in any case, as encoding/json finds
// struct fields); accountEnabled is read with the fixed fields (absent:
// enabled).
func (u *graphUser) registryProps(lu *licensing.User) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(u.raw, &members); err != nil {
		return err
	}
	byKey := make(map[string]json.RawMessage, len(members))
	for k, v := range members {
		byKey[strings.ToLower(k)] = v
	}
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if !p.Entra || p.Type == userprop.Bool {
			continue
		}
		raw, ok := members[p.Name]
		if !ok {
			raw, ok = byKey[p.Key()]
		}
		if !ok {
			continue
		}
		if err := setProp(p, lu, raw); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return nil
}

// setProp sets a String, Date or Strings property from its JSON value as
// it stands (no case change; an empty attribute is left unset).
func setProp(p *userprop.Property, lu *licensing.User, raw json.RawMessage) error {
	if p.Type == userprop.Strings {
		var v []string
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		p.SetStrings(lu, v)
		return nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	if p.Own() || v != "" {
		p.SetExact(lu, v) // as the source wrote it: the checks report a bad value as it is
	}
	return nil
}

type graphGroup struct {
	ID                            string         `json:"id"`
	DisplayName                   string         `json:"displayName"`
	Description                   string         `json:"description"`
	MailNickname                  string         `json:"mailNickname"`
	MailEnabled                   bool           `json:"mailEnabled"`
	SecurityEnabled               bool           `json:"securityEnabled"`
	GroupTypes                    []string       `json:"groupTypes"`
	MembershipRule                string         `json:"membershipRule"`
	MembershipRuleProcessingState string         `json:"membershipRuleProcessingState"`
	Licenses                      []graphLicense `json:"assignedLicenses"`
	Members                       []struct {
		ID string `json:"id"`
	} `json:"members"`
}

type graphSKU struct {
	SKUID         string `json:"skuId"`
	SKUPartNumber string `json:"skuPartNumber"`
	PrepaidUnits  struct {
		Enabled   int `json:"enabled"`
		Warning   int `json:"warning"`
		Suspended int `json:"suspended"`
		LockedOut int `json:"lockedOut"`
	} `json:"prepaidUnits"`
}

// FromGraph builds a bundle from Graph JSON pages of users, groups (with
// members expanded) and subscribedSkus. Each page is named for errors.
func FromGraph(users, groups, skus map[string][]byte) (*Bundle, error) {
	b := &Bundle{subLine: map[string]string{}, subPart: map[string]string{}}
	b.Data.Units = map[string]int{}
	groupSKUs := map[string]map[string]bool{} // group → skuIds
	memberOf := map[string][]string{}         // user → groups
	for _, name := range sortedKeys(skus) {
		var p graphPage[graphSKU]
		if err := json.Unmarshal(skus[name], &p); err != nil {
			return nil, allot.Errorf(allot.EINVALID, "%s: not a subscribedSkus response: %v", name, err)
		}
		for i, s := range p.Value {
			key := s.SKUID
			if key == "" {
				key = s.SKUPartNumber
			}
			u := licensing.Units{Enabled: s.PrepaidUnits.Enabled, Warning: s.PrepaidUnits.Warning,
				Suspended: s.PrepaidUnits.Suspended, LockedOut: s.PrepaidUnits.LockedOut}
			at := fmt.Sprintf("%s: value[%d]", name, i)
			b.Data.Units[key] += u.Total()
			b.subLine[key] = at
			b.graphUnitRows(key, u, at)
		}
	}
	for _, name := range sortedKeys(groups) {
		var p graphPage[graphGroup]
		if err := json.Unmarshal(groups[name], &p); err != nil {
			return nil, allot.Errorf(allot.EINVALID, "%s: not a groups response: %v", name, err)
		}
		for i, g := range p.Value {
			at := fmt.Sprintf("%s: value[%d]", name, i)
			b.Data.Groups = append(b.Data.Groups, licensing.Group{ID: g.ID, DisplayName: g.DisplayName, Description: g.Description,
				MailNickname: g.MailNickname, MailEnabled: g.MailEnabled, SecurityEnabled: g.SecurityEnabled, GroupTypes: g.GroupTypes,
				MembershipRule: g.MembershipRule, MembershipRuleProcessingState: g.MembershipRuleProcessingState})
			b.groupLine.text(at)
			groupSKUs[g.ID] = map[string]bool{}
			for _, l := range g.Licenses {
				groupSKUs[g.ID][strings.ToLower(l.SKUID)] = true
				b.Data.GroupLicenses = append(b.Data.GroupLicenses, licensing.OwnedSource{Owner: g.ID,
					LicenseSource: licensing.LicenseSource{SKUID: l.SKUID, DisabledPlans: l.DisabledPlans}})
				b.glLine.text(at)
			}
			for _, m := range g.Members {
				b.Data.Members = append(b.Data.Members, [2]string{g.ID, m.ID})
				b.memberLine.text(at)
				memberOf[m.ID] = append(memberOf[m.ID], g.ID)
			}
		}
	}
	for _, name := range sortedKeys(users) {
		var p graphPage[graphUser]
		if err := json.Unmarshal(users[name], &p); err != nil {
			return nil, allot.Errorf(allot.EINVALID, "%s: not a users response: %v", name, err)
		}
		for i, u := range p.Value {
			at := fmt.Sprintf("%s: value[%d]", name, i)
			lu := licensing.User{ID: u.ID, AccountEnabled: true}
			if err := u.registryProps(&lu); err != nil {
				return nil, allot.Errorf(allot.EINVALID, "%s: not a users response: %v", at, err)
			}
			if u.AccountEnabled != nil {
				lu.AccountEnabled = *u.AccountEnabled
			}
			if u.CreatedDateTime != "" {
				if t, err := time.Parse(time.RFC3339, u.CreatedDateTime); err == nil {
					lu.CreatedAt = t
				}
			}
			for k, v := range u.Extensions {
				if s, ok := v.(string); ok && s != "" {
					if lu.Attributes == nil {
						lu.Attributes = map[string]string{}
					}
					lu.Attributes[strings.ToLower(k)] = s
				}
			}
			b.Data.Users = append(b.Data.Users, lu)
			b.userLine.text(at)
			if gd := datesOf(u); gd != nil {
				b.graphDates = append(b.graphDates, *gd)
			}
			for _, l := range directLicenses(u, memberOf[u.ID], groupSKUs) {
				b.Data.DirectLicenses = append(b.Data.DirectLicenses, licensing.OwnedSource{Owner: u.ID, LicenseSource: l})
				b.dlLine.text(at)
			}
		}
	}
	return b, nil
}

// GraphSeatDates returns the seat dates a Graph JSON page of users
// ({"value":[…]}) gives, as FromGraph takes them (graphSeatDates: the
// users' assignedPlans' assignedDateTime and licenseAssignmentStates'
// lastUpdatedDateTime), resolved against the catalog cat: what
// licensing.Engine.SetGrantDates takes for seats granted after the users
// were imported (a membership read later).
func GraphSeatDates(cat *catalog.Catalog, users []byte) ([]licensing.SeatDate, error) {
	var p graphPage[graphUser]
	if err := json.Unmarshal(users, &p); err != nil {
		return nil, allot.Errorf(allot.EINVALID, "not a users response: %v", err)
	}
	var out []licensing.SeatDate
	for _, u := range p.Value {
		if gd := datesOf(u); gd != nil && u.ID != "" {
			out = append(out, graphSeatDates(cat, gd)...)
		}
	}
	return out, nil
}

// directLicenses separates a Graph user's direct licenses from inherited
// ones.
func directLicenses(u graphUser, groups []string, groupSKUs map[string]map[string]bool) []licensing.LicenseSource {
	var out []licensing.LicenseSource
	if len(u.States) > 0 {
		for _, s := range u.States {
			if s.AssignedByGroup == nil || *s.AssignedByGroup == "" {
				out = append(out, licensing.LicenseSource{SKUID: s.SKUID, DisabledPlans: s.DisabledPlans})
			}
		}
		return out
	}
	for _, l := range u.Licenses {
		inherited := false
		for _, g := range groups {
			if groupSKUs[g][strings.ToLower(l.SKUID)] {
				inherited = true
				break
			}
		}
		if !inherited {
			out = append(out, licensing.LicenseSource{SKUID: l.SKUID, DisabledPlans: l.DisabledPlans})
		}
	}
	return out
}

// datesOf keeps the dates a Graph user gives (nil when none): its
// assignedPlans' assignedDateTime and its licenseAssignmentStates'
// lastUpdatedDateTime. Unreadable dates are left out (a date only refines
// the import).
func datesOf(u graphUser) *graphDates {
	gd := graphDates{user: u.ID}
	for _, p := range u.Plans {
		t, err := time.Parse(time.RFC3339, p.AssignedDateTime)
		if err != nil || p.ServicePlanID == "" || !strings.EqualFold(p.CapabilityStatus, "Enabled") && p.CapabilityStatus != "" {
			continue
		}
		if gd.plans == nil {
			gd.plans = map[string]time.Time{}
		}
		id := strings.ToLower(p.ServicePlanID)
		if cur, ok := gd.plans[id]; !ok || t.After(cur) {
			gd.plans[id] = t
		}
	}
	for _, s := range u.States {
		t, err := time.Parse(time.RFC3339, s.LastUpdated)
		if err != nil {
			continue
		}
		gd.states, gd.times = append(gd.states, s), append(gd.times, t)
	}
	if gd.plans == nil && gd.states == nil {
		return nil
	}
	for _, l := range u.Licenses {
		gd.skus = append(gd.skus, l.SKUID)
	}
	for _, s := range u.States {
		gd.skus = append(gd.skus, s.SKUID)
	}
	return &gd
}

// graphSeatDates turns a Graph user's dates into seat dates. A product's
// grant is the latest assignedDateTime of its plans that none of the
// user's other products has (a plan several products share tells nothing
// of which came first; a later date only makes the seat younger, never
// older than it is), else the earliest lastUpdatedDateTime of its states
// (a state changes at the grant or after). Each source's
// lastUpdatedDateTime is kept as given.
func graphSeatDates(cat *catalog.Catalog, gd *graphDates) []licensing.SeatDate {
	var held []*catalog.SKU
	seen := map[string]bool{}
	for _, id := range gd.skus {
		if sku, ok := cat.SKU(id); ok && !seen[sku.ID] {
			seen[sku.ID] = true
			held = append(held, sku)
		}
	}
	var out []licensing.SeatDate
	for _, sku := range held {
		sd := licensing.SeatDate{UserID: gd.user, SKUID: sku.ID}
		for _, p := range sku.Plans {
			t, ok := gd.plans[p.ID]
			if !ok || !t.After(sd.GrantedAt) {
				continue
			}
			shared := false
			for _, o := range held {
				if o != sku && o.HasPlan(p.ID) {
					shared = true
					break
				}
			}
			if !shared {
				sd.GrantedAt = t
			}
		}
		fromStates := sd.GrantedAt.IsZero()
		for i, s := range gd.states {
			if st, ok := cat.SKU(s.SKUID); !ok || st.ID != sku.ID {
				continue
			}
			group := ""
			if s.AssignedByGroup != nil {
				group = *s.AssignedByGroup
			}
			if sd.Updated == nil {
				sd.Updated = map[string]time.Time{}
			}
			sd.Updated[group] = gd.times[i]
			if fromStates && (sd.GrantedAt.IsZero() || gd.times[i].Before(sd.GrantedAt)) {
				sd.GrantedAt = gd.times[i]
			}
		}
		out = append(out, sd)
	}
	return out
}
