package identity

import (
	"runtime"
	"sync"

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
	if err := CheckUser(&u, stored(tx.Engine.User, u.ID), DomainNames(tx.State)); err != nil {
		return err
	}
	return tx.Engine.PutUser(tx.Op, u)
}

// PutGroup checks a group (CheckGroup) and creates or updates it
// (licensing.Engine.PutGroup).
func PutGroup(tx *tenant.Tx, g licensing.Group) error {
	if err := CheckGroup(&g, stored(tx.Engine.Group, g.ID)); err != nil {
		return err
	}
	return tx.Engine.PutGroup(tx.Op, g)
}

// stored is a copy of what get finds for id, nil when it finds nothing
// (the engine's User or Group). Only a found object is allocated: taking
// the address of the lookup's result would put every lookup on the heap
// (350 MB for a million-user import into an empty tenant, where none is
// found).
func stored[T any](get func(string) (T, bool), id string) *T {
	v, ok := get(id)
	if !ok {
		return nil
	}
	p := new(T)
	*p = v
	return p
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
	check := func(from, to int) (int, error) {
		for i := from; i < to; i++ {
			if err := CheckUser(&users[i], stored(s.Engine.User, users[i].ID), domains); err != nil {
				return i, err
			}
		}
		return -1, nil
	}
	// A large import's users are checked on every core, each a range of
	// them (CheckUser changes only the user it is given; the engine is
	// only read): the first refusal in order is the first of the first
	// range that has one.
	n := 1
	if len(users) >= 2*minUsersPerCheck {
		n = min(runtime.GOMAXPROCS(0), len(users)/minUsersPerCheck)
	}
	if n <= 1 {
		return check(0, len(users))
	}
	type result struct {
		i   int
		err error
	}
	rs := make([]result, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			i, err := check(w*len(users)/n, (w+1)*len(users)/n)
			rs[w] = result{i, err}
		})
	}
	wg.Wait()
	for _, r := range rs {
		if r.err != nil {
			return r.i, r.err
		}
	}
	return -1, nil
}

// minUsersPerCheck keeps small imports' checks on one goroutine.
const minUsersPerCheck = 16384

// CheckImportGroups is CheckImportUsers for groups.
func CheckImportGroups(s *tenant.State, groups []licensing.Group) (int, error) {
	for i := range groups {
		if err := CheckGroup(&groups[i], stored(s.Engine.Group, groups[i].ID)); err != nil {
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
