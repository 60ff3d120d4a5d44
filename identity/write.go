package identity

import (
	"allot/licensing"
	"allot/tenant"
)

// The writes of directory objects, for commands (inside tenant.Tenant.Do):
// each checks the object against the rules of this package and the
// tenant's domains, then hands it to the engine. Every API, import and
// page that creates or changes users, groups or allotments goes through
// them; a refused write changes nothing.

// PutUser checks a user (CheckUser against the stored user and the
// tenant's domains) and creates or updates it (licensing.Engine.PutUser).
func PutUser(tx *tenant.Tx, u licensing.User) error {
	var old *licensing.User
	if cur, ok := tx.Engine.User(u.ID); ok {
		old = &cur
	}
	if err := CheckUser(&u, old, DomainNames(tx.State)); err != nil {
		return err
	}
	return tx.Engine.PutUser(tx.Op, u)
}

// PutGroup checks a group (CheckGroup) and creates or updates it
// (licensing.Engine.PutGroup).
func PutGroup(tx *tenant.Tx, g licensing.Group) error {
	var old *licensing.Group
	if cur, ok := tx.Engine.Group(g.ID); ok {
		old = &cur
	}
	if err := CheckGroup(&g, old); err != nil {
		return err
	}
	return tx.Engine.PutGroup(tx.Op, g)
}

// PutAllotment checks an allotment (CheckAllotment) and creates or
// updates it (licensing.Engine.PutAllotment).
func PutAllotment(tx *tenant.Tx, a licensing.Allotment) error {
	var old *licensing.Allotment
	if cur, ok := tx.Engine.AllotmentByID(a.ID); ok {
		old = &cur.Allotment
	}
	if err := CheckAllotment(&a, old); err != nil {
		return err
	}
	return tx.Engine.PutAllotment(tx.Op, a)
}

// CheckImportUsers checks users about to be imported into a tenant
// (against the stored user of the same id, if any, and the tenant's
// domains), normalising them in place. It returns the index of the first
// refused user with the error.
func CheckImportUsers(s *tenant.State, users []licensing.User) (int, error) {
	domains := DomainNames(s)
	for i := range users {
		var old *licensing.User
		if cur, ok := s.Engine.User(users[i].ID); ok {
			old = &cur
		}
		if err := CheckUser(&users[i], old, domains); err != nil {
			return i, err
		}
	}
	return -1, nil
}

// CheckImportGroups is CheckImportUsers for groups.
func CheckImportGroups(s *tenant.State, groups []licensing.Group) (int, error) {
	for i := range groups {
		var old *licensing.Group
		if cur, ok := s.Engine.Group(groups[i].ID); ok {
			old = &cur
		}
		if err := CheckGroup(&groups[i], old); err != nil {
			return i, err
		}
	}
	return -1, nil
}

// CheckImportAllotments is CheckImportUsers for allotments.
func CheckImportAllotments(s *tenant.State, as []licensing.Allotment) (int, error) {
	for i := range as {
		var old *licensing.Allotment
		if cur, ok := s.Engine.AllotmentByID(as[i].ID); ok {
			old = &cur.Allotment
		}
		if err := CheckAllotment(&as[i], old); err != nil {
			return i, err
		}
	}
	return -1, nil
}
