package bundle

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"allot"
	"allot/licensing"
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
}

type graphUser struct {
	ID                string         `json:"id"`
	UserPrincipalName string         `json:"userPrincipalName"`
	DisplayName       string         `json:"displayName"`
	AccountEnabled    *bool          `json:"accountEnabled"`
	UserType          string         `json:"userType"`
	UsageLocation     string         `json:"usageLocation"`
	Department        string         `json:"department"`
	JobTitle          string         `json:"jobTitle"`
	Country           string         `json:"country"`
	City              string         `json:"city"`
	CompanyName       string         `json:"companyName"`
	EmployeeID        string         `json:"employeeId"`
	EmployeeHireDate  string         `json:"employeeHireDate"`
	Mail              string         `json:"mail"`
	GivenName         string         `json:"givenName"`
	Surname           string         `json:"surname"`
	ProxyAddresses    []string       `json:"proxyAddresses"`
	OtherMails        []string       `json:"otherMails"`
	CreatedDateTime   string         `json:"createdDateTime"`
	Licenses          []graphLicense `json:"assignedLicenses"`
	States            []graphState   `json:"licenseAssignmentStates"`
	Extensions        map[string]any `json:"onPremisesExtensionAttributes"`
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
			lu := licensing.User{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, AccountEnabled: true,
				UserType: u.UserType, UsageLocation: u.UsageLocation, Department: u.Department, JobTitle: u.JobTitle, Country: u.Country,
				City: u.City, CompanyName: u.CompanyName, EmployeeID: u.EmployeeID, EmployeeHireDate: u.EmployeeHireDate, Mail: u.Mail,
				GivenName: u.GivenName, Surname: u.Surname, ProxyAddresses: u.ProxyAddresses, OtherMails: u.OtherMails}
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
			for _, l := range directLicenses(u, memberOf[u.ID], groupSKUs) {
				b.Data.DirectLicenses = append(b.Data.DirectLicenses, licensing.OwnedSource{Owner: u.ID, LicenseSource: l})
				b.dlLine.text(at)
			}
		}
	}
	return b, nil
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
