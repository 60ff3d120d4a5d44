// Package userprop is the directory user (User; licensing.User is the same
// type) and the one list of its properties that every surface reads: Graph
// (rendering, $select, $filter, create and update), SCIM (the plain
// attribute mappings), the membership-rule language (package rules accepts
// every property with a Rule, of its Type) and the engine's evaluation of
// rules (ByRule, RuleValue, Equal), the users.csv columns of tenant bundles
// and Graph JSON import, the documented lengths identity checks, the facts
// the admin center's user page shows and the inputs of its user form, the
// properties a Microsoft 365 sync owns on a synced user (m365), and the
// properties a tenant names (chargeback groupings, the position's leave
// attribute: Read). It imports
// no other package of the module, so that the rules below the engine can
// read it.
//
// Adding a user property is one entry in Users, plus, when it has a field of
// its own in User, that field and its storage codec (licensing/codec.go;
// docs/STORAGE.md). A property without a field of its own (Attribute) is
// kept in User.Attributes under its lower-case name and needs no codec
// change.
//
// What stays with a surface is what is not a plain property: Graph's
// computed properties (assignedLicenses, licenseAssignmentStates, …), SCIM's
// multi-valued and conditional attributes (emails, addresses, userName,
// active, userType), and the properties Entra's rules document that allot
// keeps only as attributes (extensionAttribute1…15, mobile, …: package
// rules).
package userprop

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Type is what a property holds.
type Type uint8

const (
	String  Type = iota // a string; "" is unset (Graph null)
	Date                // a string holding an RFC 3339 instant ("" unset)
	Bool                // a boolean
	Time                // a time.Time (zero unset)
	Strings             // a string collection
)

// Filter is how Graph's $filter may compare a String or Date property.
type Filter uint8

const (
	NoFilter       Filter = iota // not filterable
	Eq                           // eq, ne, in (and ranges on dates)
	StartsWith                   // Eq and startsWith
	StartsEndsWith               // StartsWith and endsWith (advanced queries)
)

// SCIMPath is where a SCIM User keeps a property: an attribute of the core
// schema (Ext "") or of the extension schema Ext, or a sub-attribute of it;
// with Type, the sub-attribute of the element of that type of a
// multi-valued attribute (addresses[type eq "work"].locality).
type SCIMPath struct{ Ext, Attr, Sub, Type string }

// EnterpriseUser is the SCIM enterprise extension (RFC 7643 section 4.3).
const EnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// Property is one user property and what each surface does with it.
type Property struct {
	// Name is the Graph JSON name ("employeeId"); bundle columns and rule
	// attributes use it too unless said otherwise below.
	Name string
	Type Type
	// Attribute: kept in User.Attributes under Key (no field of
	// its own, no codec change). Only for String properties.
	Attribute bool

	str func(*User) *string // String fields of their own
	// text is a String or Date property kept in the packed profile
	// (isText).
	text    Text
	isText  bool
	bool    func(*User) *bool
	time    func(*User) *time.Time
	strs    func(*User) []string
	setStrs func(*User, []string)

	// Max is the documented length of a String property (Microsoft Graph
	// user resource type); 0 is identity.MaxAttribute for attributes and
	// unbounded here for fields checked by their own rule (the
	// userPrincipalName, usageLocation).
	Max int
	// Upper: values are stored in upper case (usageLocation).
	Upper bool
	// GraphDefault: returned by Graph without $select.
	GraphDefault bool
	// ReadOnly: a client may not set it (Graph 400, bundles still load it).
	ReadOnly bool
	// Filter is what Graph's $filter allows on a String/Date property;
	// Bool, Time and Strings properties are always filterable as their
	// type allows. FilterAdvanced: any use needs the advanced query
	// parameters (ConsistencyLevel: eventual).
	Filter         Filter
	FilterAdvanced bool
	// Search: Graph's $search may match it (a "property:words" term).
	Search bool
	// Sortable: Graph's $orderby and the admin center may order by it (the
	// directory read model keeps an order for it).
	Sortable bool
	// SCIM is the plain string mapping of a SCIM User ("" Attr: none, or
	// mapped by the SCIM surface's own rules).
	SCIM SCIMPath
	// Rule is the attribute name after "user." in a membership rule
	// ("" when rules cannot read the property).
	Rule string
	// Column: a users.csv column of its own (bundle import and export, in
	// the order of Users). Attribute properties travel in the attribute
	// columns every bundle keeps.
	Column bool
	// MicrosoftGraph: a Microsoft Graph property (false for allot's own
	// extensions); the Graph JSON import reads those Entra owns (Entra).
	MicrosoftGraph bool
	// Label is the name the admin center's user page shows it under (""
	// not shown there).
	Label string
	// Form: the admin center's user form (create and edit) has an input
	// for it, named as the property (nil: not on the form).
	Form *Input
	// Entra: Microsoft Entra owns it: a Microsoft 365 sync reads it (its
	// $select), the Graph JSON import takes it (bundle.FromGraph), and it
	// is read-only in allot on a synced user (m365.EntraOwnedUserFields,
	// m365.CheckPatch).
	Entra bool

	key, ruleKey string // lower-case Name and Rule, set once (index)
}

// Input is how the admin center's user form asks for a property: a text
// input for a String property, a checkbox for a Bool.
type Input struct {
	Label string
	// Order is the input's place on the form, smaller first.
	Order int
	// Required: the form refuses it empty (what Graph's create requires).
	Required bool
	// Max is the input's length limit where the property's Max is 0 (a
	// property whose length its own rule checks).
	Max int
	// Help is the hint shown under the input.
	Help string
}

// FormMax is the length limit of the property's form input (0: none).
func (p *Property) FormMax() int {
	if p.Max > 0 || p.Form == nil {
		return p.Max
	}
	return p.Form.Max
}

// Key is the lower-case name: the key surfaces look names up by, and the key
// of an Attribute property in User.Attributes.
func (p *Property) Key() string {
	if p.key == "" {
		return strings.ToLower(p.Name)
	}
	return p.key
}

// RuleKey is the lower-case Rule: the name package rules passes to a rule
// subject (licensing's evaluation looks it up with ByRule).
func (p *Property) RuleKey() string {
	if p.ruleKey == "" {
		return strings.ToLower(p.Rule)
	}
	return p.ruleKey
}

// RuleValue is the value a membership rule compares for a single-valued
// property: a String or Date property's text (false when unset), a Bool's
// "true" or "false", a Time's RFC 3339 instant (false when zero). A Strings
// property has none (a rule reads it with GetStrings).
func (p *Property) RuleValue(u *User) (string, bool) {
	switch p.Type {
	case Bool:
		return strconv.FormatBool(p.GetBool(u)), true
	case Time:
		if t := p.GetTime(u); !t.IsZero() {
			return t.UTC().Format(time.RFC3339), true
		}
		return "", false
	case Strings:
		return "", false
	}
	v := p.Get(u)
	return v, v != ""
}

// Equal reports whether two users hold the same value of the property.
func (p *Property) Equal(a, b *User) bool {
	switch p.Type {
	case Bool:
		return p.GetBool(a) == p.GetBool(b)
	case Time:
		return p.GetTime(a).Equal(p.GetTime(b))
	case Strings:
		return slices.Equal(p.GetStrings(a), p.GetStrings(b))
	}
	return p.Get(a) == p.Get(b)
}

// Get returns a String or Date property's value ("" for other types).
func (p *Property) Get(u *User) string {
	switch {
	case p.Attribute:
		return u.Attributes[p.Key()]
	case p.isText:
		return u.Text(p.text)
	case p.str != nil:
		return *p.str(u)
	}
	return ""
}

// Set sets a String or Date property (in upper case when Upper). An
// Attribute property's map is written in place: a caller that shares
// u.Attributes with the engine's copy clones it first; "" removes the
// key.
func (p *Property) Set(u *User, v string) {
	if p.Upper {
		v = strings.ToUpper(v)
	}
	p.SetExact(u, v)
}

// SetExact is Set without the upper case Upper gives: for a reader that
// keeps a value as its source wrote it, for the checks to report.
func (p *Property) SetExact(u *User, v string) {
	switch {
	case p.Attribute:
		if v == "" {
			delete(u.Attributes, p.Key())
			return
		}
		if u.Attributes == nil {
			u.Attributes = map[string]string{}
		}
		u.Attributes[p.Key()] = v
	case p.isText:
		u.SetText(p.text, v)
	case p.str != nil:
		*p.str(u) = v
	}
}

// Own reports whether a String or Date property is kept by User itself (a
// field of its own or a profile Text), not in Attributes.
func (p *Property) Own() bool { return p.isText || p.str != nil }

// ProfileText is the Text that keeps the property, if a profile text does.
func (p *Property) ProfileText() (Text, bool) { return p.text, p.isText }

// GetBool, GetTime and GetStrings read a Bool, Time or Strings property
// (the zero value for a property of another type).
func (p *Property) GetBool(u *User) bool {
	if p.bool == nil {
		return false
	}
	return *p.bool(u)
}

func (p *Property) GetTime(u *User) time.Time {
	if p.time == nil {
		return time.Time{}
	}
	return *p.time(u)
}

func (p *Property) GetStrings(u *User) []string {
	if p.strs == nil {
		return nil
	}
	return p.strs(u)
}

// SetBool, SetTime and SetStrings write a Bool, Time or Strings property
// (nothing for a property of another type).
func (p *Property) SetBool(u *User, v bool) {
	if p.bool != nil {
		*p.bool(u) = v
	}
}

func (p *Property) SetTime(u *User, v time.Time) {
	if p.time != nil {
		*p.time(u) = v
	}
}

func (p *Property) SetStrings(u *User, v []string) {
	if p.setStrs != nil {
		p.setStrs(u, v)
	}
}

func workAddress(sub string) SCIMPath { return SCIMPath{Attr: "addresses", Sub: sub, Type: "work"} }

func str(name string, f func(*User) *string, p Property) Property {
	p.Name, p.Type, p.str, p.MicrosoftGraph = name, String, f, true
	return p
}

// text is a String property kept in the packed profile.
func text(name string, k Text, p Property) Property {
	p.Name, p.Type, p.text, p.isText, p.MicrosoftGraph = name, String, k, true, true
	return p
}

// attr is an Attribute property; rules read it under its name unless Rule
// says otherwise ("-": not at all).
func attr(name string, p Property) Property {
	p.Name, p.Type, p.Attribute, p.MicrosoftGraph = name, String, true, true
	switch p.Rule {
	case "-":
		p.Rule = ""
	case "":
		p.Rule = name
	}
	return p
}

// Users is every plain user property, in the column order of users.csv.
var Users = []Property{
	str("id", func(u *User) *string { return &u.ID }, Property{GraphDefault: true, ReadOnly: true, Filter: Eq, Rule: "objectId", Column: true}),
	str("userPrincipalName", func(u *User) *string { return &u.UserPrincipalName }, Property{GraphDefault: true,
		Filter: StartsEndsWith, Sortable: true, Search: true, Rule: "userPrincipalName", Column: true, Entra: true,
		Form: &Input{Label: "User name (userPrincipalName)", Order: 2, Required: true, Max: 113}}),
	str("displayName", func(u *User) *string { return &u.DisplayName }, Property{Max: 256, GraphDefault: true,
		Filter: StartsWith, Sortable: true, Search: true, SCIM: SCIMPath{Attr: "displayName"}, Rule: "displayName", Column: true, Entra: true,
		Form: &Input{Label: "Display name", Order: 1, Required: true}}),
	text("department", Department, Property{Max: 64, Filter: StartsWith,
		SCIM: SCIMPath{Ext: EnterpriseUser, Attr: "department"}, Rule: "department", Column: true, Label: "Department", Entra: true,
		Form: &Input{Label: "Department", Order: 7}}),
	text("country", Country, Property{Max: 128, Filter: StartsWith, Rule: "country",
		SCIM: workAddress("country"), Column: true, Label: "Country", Entra: true, Form: &Input{Label: "Country or region", Order: 10}}),
	str("usageLocation", func(u *User) *string { return &u.UsageLocation }, Property{Upper: true, Filter: Eq,
		Rule: "usageLocation", Column: true, Entra: true, Form: &Input{Label: "Usage location", Order: 11, Max: 2,
			Help: "ISO 3166 two-letter code (e.g. US, DE). Direct licenses need one; groups use the tenant default."}}),
	str("userType", func(u *User) *string { return &u.UserType }, Property{Filter: Eq, Rule: "userType", Column: true, Entra: true}),
	{Name: "accountEnabled", Type: Bool, bool: func(u *User) *bool { return &u.AccountEnabled }, Rule: "accountEnabled",
		Column: true, MicrosoftGraph: true, Entra: true, Form: &Input{Label: "Sign-in allowed (accountEnabled)", Order: 12}},
	text("jobTitle", JobTitle, Property{Max: 128, GraphDefault: true, Filter: StartsWith,
		SCIM: SCIMPath{Attr: "title"}, Rule: "jobTitle", Column: true, Label: "Job title", Entra: true,
		Form: &Input{Label: "Job title", Order: 6}}),
	text("city", City, Property{Max: 128, Filter: StartsWith, Rule: "city",
		SCIM: workAddress("locality"), Column: true, Entra: true, Form: &Input{Label: "City", Order: 9}}),
	text("companyName", CompanyName, Property{Max: 64, Filter: StartsWith,
		SCIM: SCIMPath{Ext: EnterpriseUser, Attr: "organization"}, Rule: "companyName", Column: true, Entra: true,
		Form: &Input{Label: "Company", Order: 8}}),
	text("employeeId", EmployeeID, Property{Max: 16, Filter: StartsWith,
		SCIM: SCIMPath{Ext: EnterpriseUser, Attr: "employeeNumber"}, Rule: "employeeId", Column: true, Label: "Employee ID", Entra: true}),
	{Name: "employeeHireDate", Type: Date, text: EmployeeHireDate, isText: true, Filter: Eq,
		FilterAdvanced: true, Rule: "employeeHireDate", Column: true, MicrosoftGraph: true, Entra: true},
	text("mail", Mail, Property{Max: 256, GraphDefault: true, Filter: StartsEndsWith,
		Search: true, Rule: "mail", Column: true, Entra: true}),
	text("givenName", GivenName, Property{Max: 64, GraphDefault: true, Filter: StartsWith, Search: true,
		SCIM: SCIMPath{Attr: "name", Sub: "givenName"}, Rule: "givenName", Column: true, Entra: true,
		Form: &Input{Label: "First name", Order: 4}}),
	text("surname", Surname, Property{Max: 64, GraphDefault: true, Filter: StartsWith, Search: true,
		SCIM: SCIMPath{Attr: "name", Sub: "familyName"}, Rule: "surname", Column: true, Entra: true,
		Form: &Input{Label: "Last name", Order: 5}}),
	{Name: "kind", Type: String, str: func(u *User) *string { return &u.Kind }, Filter: Eq, Column: true},
	{Name: "proxyAddresses", Type: Strings, strs: (*User).ProxyAddresses, setStrs: (*User).SetProxyAddresses, Rule: "proxyAddresses",
		Column: true, MicrosoftGraph: true, Entra: true},
	{Name: "otherMails", Type: Strings, strs: (*User).OtherMails, setStrs: (*User).SetOtherMails, Rule: "otherMails",
		Column: true, MicrosoftGraph: true, Entra: true},
	{Name: "createdDateTime", Type: Time, time: func(u *User) *time.Time { return &u.CreatedAt }, ReadOnly: true,
		Column: true, MicrosoftGraph: true},

	// Entra's rules spell it user.mailNickName.
	attr("mailNickname", Property{Max: 64, Filter: StartsWith, Search: true, Rule: "mailNickName", Entra: true,
		Form: &Input{Label: "Mail nickname", Order: 3, Required: true}}),
	// Entra's rules read the mobile number as user.mobile, a property of
	// its own: not this one.
	attr("mobilePhone", Property{GraphDefault: true, Rule: "-"}),
	// Entra's rules read the office as user.physicalDeliveryOfficeName.
	attr("officeLocation", Property{GraphDefault: true, Filter: StartsWith, Rule: "-"}),
	attr("preferredLanguage", Property{GraphDefault: true, SCIM: SCIMPath{Attr: "preferredLanguage"}}),
	attr("postalCode", Property{SCIM: workAddress("postalCode")}),
	attr("state", Property{Filter: StartsWith, SCIM: workAddress("region")}),
	attr("streetAddress", Property{SCIM: workAddress("streetAddress")}),
	attr("employeeType", Property{Filter: StartsWith}),
}

// byKey and byRule index Users by lower-case Name and Rule.
var byKey, byRule = func() (map[string]*Property, map[string]*Property) {
	names, rules := make(map[string]*Property, len(Users)), make(map[string]*Property, len(Users))
	for i := range Users {
		p := &Users[i]
		p.key, p.ruleKey = strings.ToLower(p.Name), strings.ToLower(p.Rule)
		names[p.key] = p
		if p.Rule != "" {
			rules[p.ruleKey] = p
		}
	}
	return names, rules
}()

// Lookup finds a property by name, in any case.
func Lookup(name string) (*Property, bool) {
	p, ok := byKey[strings.ToLower(name)]
	return p, ok
}

// ByRule finds a property by its lower-case rule attribute name (RuleKey):
// "objectid" is id, "mailnickname" mailNickname.
func ByRule(key string) (*Property, bool) {
	p, ok := byRule[key]
	return p, ok
}

// Read returns a reader of the property a tenant names by its Graph name in
// any case (a chargeback grouping, the leave attribute): a String or Date
// property's value, else the attribute of that lower-case name.
func Read(name string) func(*User) string {
	if p, ok := Lookup(name); ok && (p.Type == String || p.Type == Date) {
		return p.Get
	}
	key := strings.ToLower(name)
	return func(u *User) string { return u.Attributes[key] }
}
