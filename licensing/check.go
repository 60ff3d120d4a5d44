package licensing

import (
	"strings"

	"allot"
)

// CheckUser applies the rules of a user's own properties that every write
// path shares (PutUser, and bundles before an import): an id, a
// userPrincipalName, an ISO 3166 usage location (or none), userType Member
// or Guest, a kind of user allot knows; an empty userType or kind is the
// default (Member, person). The refusal is EINVALID with Graph's message.
// What depends on other objects (a unique userPrincipalName, the tenant's
// domains: package identity) is checked where those are known.
func CheckUser(u *User) error {
	switch {
	case u.ID == "":
		return allot.Errorf(allot.EINVALID, "A user needs an id.")
	case strings.TrimSpace(u.UserPrincipalName) == "":
		return allot.Errorf(allot.EINVALID, "Invalid value specified for property 'userPrincipalName' of resource 'User'.")
	case u.UsageLocation != "" && !ValidUsageLocation(u.UsageLocation):
		return allot.Errorf(allot.EINVALID, "Invalid value specified for property 'usageLocation' of resource 'User'.")
	}
	switch u.UserType {
	case "", "Member", "Guest":
	default:
		return allot.Errorf(allot.EINVALID, "Invalid value specified for property 'userType' of resource 'User'.")
	}
	switch u.Kind {
	case "", KindPerson, KindSharedMailbox, KindServiceAccount, KindRoom:
	default:
		return allot.Errorf(allot.EINVALID, "Invalid kind %q: use person, sharedMailbox, serviceAccount or room.", u.Kind)
	}
	return nil
}

// CheckGroup applies the rules of a group's own properties that every
// write path shares (PutGroup, and bundles before an import): an id, a
// displayName, assignmentMode perProduct or allOrNone (empty: perProduct).
// The membership rule is checked where the group is stored (compileRule).
func CheckGroup(g *Group) error {
	switch {
	case g.ID == "":
		return allot.Errorf(allot.EINVALID, "A group needs an id.")
	case strings.TrimSpace(g.DisplayName) == "":
		return allot.Errorf(allot.EINVALID, "Invalid value specified for property 'displayName' of resource 'Group'.")
	}
	switch g.AssignmentMode {
	case "", ModePerProduct, ModeAllOrNone:
	default:
		return allot.Errorf(allot.EINVALID, "Invalid assignmentMode %q: use perProduct or allOrNone.", g.AssignmentMode)
	}
	return nil
}
