package userprop

import (
	"encoding/json"
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
	ProxyAddresses    []string
	OtherMails        []string
	// Attributes holds every other Entra user property (extensionAttribute1..15,
	// state, officeLocation, …) keyed by its lower-case Graph name.
	Attributes map[string]string
	CreatedAt  time.Time
	// texts is the packed profile (texts.go).
	texts string
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
		UserType: j.UserType, UsageLocation: j.UsageLocation, Kind: j.Kind, ProxyAddresses: j.ProxyAddresses,
		OtherMails: j.OtherMails, Attributes: j.Attributes, CreatedAt: j.CreatedAt}
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
		Surname: t[Surname], ProxyAddresses: u.ProxyAddresses, OtherMails: u.OtherMails, Attributes: u.Attributes,
		CreatedAt: u.CreatedAt}
}
