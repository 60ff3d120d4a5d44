package directory

import (
	"slices"
	"strings"
)

// The sets returned below belong to the index: read them only while the
// tenant's read lock is held (inside Tenant.Read), never change them. A
// missing set is nil, which reads as empty.

// User returns what the index knows of a user (nil if there is no such user).
func (x *Index) User(id string) *User { return x.users[id] }

// UsersByID, UsersByUPN and UsersByName are the users in the order of
// their id, lower-cased userPrincipalName and lower-cased displayName.
func (x *Index) UsersByID() *Set   { return x.usersByID }
func (x *Index) UsersByUPN() *Set  { return x.usersByUPN }
func (x *Index) UsersByName() *Set { return x.usersByName }

// UsersByMail returns the users whose mail is mail (any case), by id.
func (x *Index) UsersByMail(mail string) []string {
	m := strings.ToLower(mail)
	var ids []string
	x.usersByMail.Scan(&Key{K: m}, false, func(k Key) bool {
		if k.K != m {
			return false
		}
		ids = append(ids, k.ID)
		return true
	})
	return ids
}

// UsersWithSKU returns the users with a license record of a product
// (holding, waiting or in error).
func (x *Index) UsersWithSKU(skuID string) *Set { return x.bySKU[skuID] }

// UsersInDept returns the users of a department (any case).
func (x *Index) UsersInDept(dept string) *Set {
	return x.byDept[strings.ToLower(strings.TrimSpace(dept))]
}

// UsersInError returns the users with a license source in Error; of one
// product when skuID is not empty.
func (x *Index) UsersInError(skuID string) *Set {
	if skuID != "" {
		return x.errBySKU[skuID]
	}
	return x.errUsers
}

// UsersWaiting returns the users with a license record waiting for a seat.
func (x *Index) UsersWaiting() *Set { return x.waiting }

// Licensed is the number of users holding a seat; WithSKUs the number
// with a license record; ErrorCodes the (user, product) pairs in error
// by error code (a map the caller must not change).
func (x *Index) Licensed() int              { return x.licensed }
func (x *Index) WithSKUs() int              { return x.withSKUs }
func (x *Index) ErrorCodes() map[string]int { return x.errCodes }

// Departments returns the departments that have users, as first written,
// in case-insensitive order.
func (x *Index) Departments() []string {
	out := make([]string, 0, len(x.deptNames))
	for ld, d := range x.deptNames {
		if x.byDept[ld].Len() > 0 {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}

// GroupCount is the number of groups; GroupsByID and GroupsByName the
// groups in the order of their id and lower-cased displayName.
func (x *Index) GroupCount() int    { return len(x.groups) }
func (x *Index) GroupsByID() *Set   { return x.groupsByID }
func (x *Index) GroupsByName() *Set { return x.groupsByName }

// MemberUsers returns a group's direct user members (K = id).
func (x *Index) MemberUsers(groupID string) *Set { return x.members[groupID] }

// MemberCount is the number of a group's direct members, users and groups.
func (x *Index) MemberCount(groupID string) int {
	return x.members[groupID].Len() + x.memberGroups[groupID].Len()
}

// ScanMembers calls fn with the ids of a group's direct members, users
// and groups, in id order after the id after ("" for the first), until fn
// returns false.
func (x *Index) ScanMembers(groupID, after string, fn func(id string) bool) {
	var from *Key
	if after != "" {
		from = &Key{K: after}
	}
	var gs []string // member groups are few: merge them into the walk
	x.memberGroups[groupID].Scan(from, false, func(k Key) bool { gs = append(gs, k.K); return true })
	stopped := false
	x.members[groupID].Scan(from, false, func(k Key) bool {
		for len(gs) > 0 && gs[0] < k.K {
			if !fn(gs[0]) {
				stopped = true
				return false
			}
			gs = gs[1:]
		}
		if !fn(k.K) {
			stopped = true
			return false
		}
		return true
	})
	for _, g := range gs {
		if stopped || !fn(g) {
			return
		}
	}
}
