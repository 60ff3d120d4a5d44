package userprop

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
)

// User is a directory user as the engine (licensing.User, an alias) and the
// rules see it. Its fields are the properties every user has and the engine
// reads; the optional profile texts (department, mail, …: Text) are packed
// in one string, read with Text or a named accessor (Department()) and set
// with SetText, SetTexts or With; every other property is kept in
// Attributes. A User marshals to JSON with a field per property, as it did
// when each text was a field.
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	AccountEnabled    bool
	UserType          string // Member | Guest
	UsageLocation     string
	Kind              string // person | sharedMailbox | serviceAccount | room
	// Attributes holds every other Entra user property (extensionAttribute1..15,
	// state, officeLocation, …) keyed by its lower-case Graph name.
	Attributes map[string]string
	CreatedAt  time.Time
	// texts is the packed profile (texts.go).
	texts string
	// lists holds the proxyAddresses and otherMails, nil when the user
	// has neither (most users: a pointer instead of two slices, 40 bytes
	// less per user). Never changed in place: Users share it.
	lists *lists
}

type lists struct{ proxyAddresses, otherMails []string }

// ProxyAddresses is the user's proxyAddresses ("SMTP:…", "smtp:…"). The
// slice is shared: do not change it.
func (u *User) ProxyAddresses() []string {
	if u.lists == nil {
		return nil
	}
	return u.lists.proxyAddresses
}

// OtherMails is the user's otherMails. The slice is shared: do not change
// it.
func (u *User) OtherMails() []string {
	if u.lists == nil {
		return nil
	}
	return u.lists.otherMails
}

// SetProxyAddresses sets the user's proxyAddresses (v is kept, not
// copied).
func (u *User) SetProxyAddresses(v []string) { u.SetLists(v, u.OtherMails()) }

// SetOtherMails sets the user's otherMails (v is kept, not copied).
func (u *User) SetOtherMails(v []string) { u.SetLists(u.ProxyAddresses(), v) }

// SetLists sets both lists at once (kept, not copied).
func (u *User) SetLists(proxy, other []string) {
	if proxy == nil && other == nil {
		u.lists = nil
		return
	}
	u.lists = &lists{proxyAddresses: proxy, otherMails: other}
}

// IsGuest reports whether the user is a B2B guest.
func (u *User) IsGuest() bool { return strings.EqualFold(u.UserType, "Guest") }

// jsonUser is User's JSON shape (stored records of earlier versions hold
// it; keep the names).
type jsonUser struct {
	ID                string            `json:"id"`
	UserPrincipalName string            `json:"userPrincipalName"`
	DisplayName       string            `json:"displayName"`
	AccountEnabled    bool              `json:"accountEnabled"`
	UserType          string            `json:"userType"`
	UsageLocation     string            `json:"usageLocation,omitempty"`
	Kind              string            `json:"kind"`
	Department        string            `json:"department,omitempty"`
	JobTitle          string            `json:"jobTitle,omitempty"`
	Country           string            `json:"country,omitempty"`
	City              string            `json:"city,omitempty"`
	CompanyName       string            `json:"companyName,omitempty"`
	EmployeeID        string            `json:"employeeId,omitempty"`
	EmployeeHireDate  string            `json:"employeeHireDate,omitempty"`
	Mail              string            `json:"mail,omitempty"`
	GivenName         string            `json:"givenName,omitempty"`
	Surname           string            `json:"surname,omitempty"`
	ProxyAddresses    []string          `json:"proxyAddresses,omitempty"`
	OtherMails        []string          `json:"otherMails,omitempty"`
	Attributes        map[string]string `json:"attributes,omitempty"`
	CreatedAt         time.Time         `json:"createdDateTime"`
}

// MarshalJSON writes the user with a field per property.
func (u User) MarshalJSON() ([]byte, error) { return json.Marshal(u.jsonUser()) }

// UnmarshalJSON reads what MarshalJSON writes; as for a struct with a
// field per property, a property the JSON does not name keeps its value.
func (u *User) UnmarshalJSON(b []byte) error {
	j := u.jsonUser()
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*u = User{ID: j.ID, UserPrincipalName: j.UserPrincipalName, DisplayName: j.DisplayName, AccountEnabled: j.AccountEnabled,
		UserType: j.UserType, UsageLocation: j.UsageLocation, Kind: j.Kind, Attributes: j.Attributes, CreatedAt: j.CreatedAt}
	u.SetLists(j.ProxyAddresses, j.OtherMails)
	u.SetTexts(&Texts{Department: j.Department, JobTitle: j.JobTitle, Country: j.Country, City: j.City,
		CompanyName: j.CompanyName, EmployeeID: j.EmployeeID, EmployeeHireDate: j.EmployeeHireDate, Mail: j.Mail,
		GivenName: j.GivenName, Surname: j.Surname})
	return nil
}

func (u *User) jsonUser() jsonUser {
	t := u.Texts()
	return jsonUser{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
		AccountEnabled: u.AccountEnabled, UserType: u.UserType, UsageLocation: u.UsageLocation, Kind: u.Kind,
		Department: t[Department], JobTitle: t[JobTitle], Country: t[Country], City: t[City], CompanyName: t[CompanyName],
		EmployeeID: t[EmployeeID], EmployeeHireDate: t[EmployeeHireDate], Mail: t[Mail], GivenName: t[GivenName],
		Surname: t[Surname], ProxyAddresses: u.ProxyAddresses(), OtherMails: u.OtherMails(), Attributes: u.Attributes,
		CreatedAt: u.CreatedAt}
}

// WithProxyAddresses and WithOtherMails return a copy of u with the list
// set: for building a user in an expression, as With.
func (u User) WithProxyAddresses(v []string) User { u.SetProxyAddresses(v); return u }

func (u User) WithOtherMails(v []string) User { u.SetOtherMails(v); return u }

// Equal reports whether u and v hold the same properties (a nil and an
// empty list or map are the same; times are compared as instants).
func (u *User) Equal(v *User) bool {
	return u.ID == v.ID && u.UserPrincipalName == v.UserPrincipalName && u.DisplayName == v.DisplayName &&
		u.AccountEnabled == v.AccountEnabled && u.UserType == v.UserType && u.UsageLocation == v.UsageLocation &&
		u.Kind == v.Kind && u.texts == v.texts && slices.Equal(u.ProxyAddresses(), v.ProxyAddresses()) &&
		slices.Equal(u.OtherMails(), v.OtherMails()) && maps.Equal(u.Attributes, v.Attributes) && u.CreatedAt.Equal(v.CreatedAt)
}
