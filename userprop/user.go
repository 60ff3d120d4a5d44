package userprop

import (
	"strings"
	"time"
)

// User is a directory user as the engine (licensing.User, an alias) and the
// rules see it. Its fields are the properties of Users that have a field of
// their own; every other property is kept in Attributes.
type User struct {
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"userPrincipalName"`
	DisplayName       string   `json:"displayName"`
	AccountEnabled    bool     `json:"accountEnabled"`
	UserType          string   `json:"userType"` // Member | Guest
	UsageLocation     string   `json:"usageLocation,omitempty"`
	Kind              string   `json:"kind"` // person | sharedMailbox | serviceAccount | room
	Department        string   `json:"department,omitempty"`
	JobTitle          string   `json:"jobTitle,omitempty"`
	Country           string   `json:"country,omitempty"`
	City              string   `json:"city,omitempty"`
	CompanyName       string   `json:"companyName,omitempty"`
	EmployeeID        string   `json:"employeeId,omitempty"`
	EmployeeHireDate  string   `json:"employeeHireDate,omitempty"` // RFC 3339
	Mail              string   `json:"mail,omitempty"`
	GivenName         string   `json:"givenName,omitempty"`
	Surname           string   `json:"surname,omitempty"`
	ProxyAddresses    []string `json:"proxyAddresses,omitempty"`
	OtherMails        []string `json:"otherMails,omitempty"`
	// Attributes holds every other Entra user property (extensionAttribute1..15,
	// state, officeLocation, …) keyed by its lower-case Graph name.
	Attributes map[string]string `json:"attributes,omitempty"`
	CreatedAt  time.Time         `json:"createdDateTime"`
}

// IsGuest reports whether the user is a B2B guest.
func (u *User) IsGuest() bool { return strings.EqualFold(u.UserType, "Guest") }
