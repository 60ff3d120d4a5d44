package scope_test

import (
	"testing"
	"time"

	"allot"
	"allot/api/scope"
	"allot/auth"
	"allot/catalog"
	"allot/licensing"
)

// TestOwnerDecisions is the contract of the owner's one authorization
// decision on a small engine: allotment A (owner's) with group "mine",
// allotment B with group "theirs", group "pool" licensed from the general
// pool, group "empty" without licenses, and users in each.
func TestOwnerDecisions(t *testing.T) {
	cat := catalog.Default()
	e3, _ := cat.SKU("SPE_E3")
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	op := licensing.Op{Actor: "t", Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.SetUnits(op, e3.ID, licensing.Units{Enabled: 10, Status: "Enabled"}))
	for _, a := range []string{"A", "B"} {
		must(e.PutAllotment(op, licensing.Allotment{ID: a, DisplayName: a, SKUID: e3.ID, AllottedUnits: 3, AssignableTo: "user,group"}))
	}
	for _, g := range []string{"mine", "theirs", "pool", "empty"} {
		must(e.PutGroup(op, licensing.Group{ID: g, DisplayName: g, SecurityEnabled: true}))
	}
	for _, u := range []string{"ann", "bob", "cat", "dan"} {
		must(e.PutUser(op, licensing.User{ID: u, UserPrincipalName: u + "@contoso.example", UsageLocation: "US", AccountEnabled: true}))
	}
	must(e.AssignThroughAllotment(op, "A", "mine", nil))
	must(e.AssignThroughAllotment(op, "B", "theirs", nil))
	must(e.AssignGroupLicenses(op, "pool", []licensing.AssignedLicense{{SKUID: e3.ID}}, nil))
	must(e.AddMembers(op, "mine", []string{"ann"}))
	must(e.AddMembers(op, "theirs", []string{"bob"}))
	must(e.AddMembers(op, "pool", []string{"ann", "cat"}))

	owner := &auth.Principal{TenantID: "t", Roles: []string{auth.RoleAllotmentOwner}, AllotmentIDs: []string{"A"}}
	sc := scope.Of(owner, e)
	if sc == nil {
		t.Fatal("an allotment owner has no scope")
	}
	if admin := scope.Of(&auth.Principal{TenantID: "t", Roles: []string{auth.RoleGlobalAdministrator}}, e); admin != nil {
		t.Fatal("an administrator is scoped")
	}
	check := func(what string, got, want bool) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	check("sees allotment A", sc.Allotment("A"), true)
	check("sees allotment B", sc.Allotment("B"), false)
	check("sees group mine", sc.Group("mine"), true)
	check("sees group pool", sc.Group("pool"), false)
	check("sees ann", sc.User("ann"), true)
	check("sees bob", sc.User("bob"), false)
	// Licenses: A's only.
	check("licenses of A", sc.Licenses("A"), true)
	check("licenses of B", sc.Licenses("B"), false)
	check("licenses of the general pool", sc.Licenses(""), false)
	check("product of A", sc.SKU(e, e3.ID), true)
	check("another product", sc.SKU(e, "6fd2c87f-b296-42f0-b197-1e91e994b900"), false)
	// Assigning: users by id; groups only without licenses from elsewhere.
	check("may assign dan", sc.MayAssign(e, "dan"), true)
	check("may assign group empty", sc.MayAssign(e, "empty"), true)
	check("may assign group mine", sc.MayAssign(e, "mine"), true)
	check("may assign group pool", sc.MayAssign(e, "pool"), false)
	check("may assign group theirs", sc.MayAssign(e, "theirs"), false)
	check("may assign a missing object", sc.MayAssign(e, "nobody"), false)
	// A group without licenses of its own, nested in a licensed one, passes
	// that license on: not the owner's to take.
	must(e.PutGroup(op, licensing.Group{ID: "nested", DisplayName: "nested", SecurityEnabled: true}))
	must(e.AddMembers(op, "pool", []string{"nested"}))
	check("may assign group nested in pool", sc.MayAssign(e, "nested"), false)
	// Members: own groups while every license is its own.
	visible, allowed := sc.MayChangeMembers(e, "mine")
	check("members of mine visible", visible, true)
	check("members of mine allowed", allowed, true)
	visible, _ = sc.MayChangeMembers(e, "pool")
	check("members of pool visible", visible, false)
	must(e.AssignGroupLicenses(op, "mine", []licensing.AssignedLicense{{SKUID: e3.ID}}, nil))
	sc = scope.Of(owner, e)
	visible, allowed = sc.MayChangeMembers(e, "mine")
	check("members of mine visible once licensed from the pool", visible, true)
	check("members of mine allowed once licensed from the pool", allowed, false)
	// Names: only among the users in scope; ids anywhere.
	_, ok := sc.FindUser(e, "ann@contoso.example")
	check("finds ann by name", ok, true)
	_, ok = sc.FindUser(e, "dan@contoso.example")
	check("finds dan (outside) by name", ok, false)
	_, ok = sc.FindUser(e, "dan")
	check("finds dan by id", ok, true)
	// Everyone else: no limits.
	var none *scope.Scope
	check("nil scope may assign pool", none.MayAssign(e, "pool"), true)
	check("nil scope sees general-pool licenses", none.Licenses(""), true)
}

// TestMayChangeAllotment: an owner changes its allotment's name and owners
// only (403 for the product, units and assignableTo); an administrator of
// licensing anything; a reader nothing.
func TestMayChangeAllotment(t *testing.T) {
	owner := &auth.Principal{TenantID: "t", Roles: []string{auth.RoleAllotmentOwner}, AllotmentIDs: []string{"A"}}
	admin := &auth.Principal{TenantID: "t", Roles: []string{auth.RoleLicenseAdministrator}}
	reader := &auth.Principal{TenantID: "t", Roles: []string{auth.RoleGlobalReader}}
	for _, c := range []struct {
		p     *auth.Principal
		props []string
		ok    bool
	}{
		{owner, []string{"displayName", "owners"}, true},
		{owner, []string{"displayName", "allottedUnits"}, false},
		{owner, []string{"skuId"}, false},
		{owner, []string{"assignableTo"}, false},
		{admin, []string{"displayName", "owners", "allottedUnits", "skuId", "assignableTo"}, true},
		{reader, []string{"displayName"}, false},
		{nil, []string{"owners"}, false},
	} {
		err := scope.MayChangeAllotment(c.p, "t", c.props...)
		if (err == nil) != c.ok || err != nil && allot.ErrorCode(err) != allot.EFORBIDDEN {
			t.Errorf("%v may change %v: %v, want allowed=%v", c.p, c.props, err, c.ok)
		}
	}
}
