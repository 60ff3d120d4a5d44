package licensing

import (
	"testing"

	"allot/userprop"

	"allot"
)

// deleteUser deletes a user as the deleted items do: it keeps what a
// restore needs.
func (f *fixture) deleteUser(id string) DeletedUser {
	f.t.Helper()
	d, ok := f.e.DeletedUserOf(id)
	if !ok {
		f.t.Fatalf("no user %s", id)
	}
	f.must(f.e.DeleteUser(f.op(), id))
	return d
}

func TestRestoredUserGetsBackMembershipsAndLicenses(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuWPA, 5)
	f.units(skuEXO1, 5)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3, planTeams))
	u := f.user(1)
	f.add(g, u)
	f.directLicense(u, lic(skuWPA))
	f.directLicense(u, lic(skuEXO1))
	d := f.deleteUser(u)
	if f.consumed(skuE3) != 0 || f.consumed(skuWPA) != 0 || f.consumed(skuEXO1) != 0 {
		t.Fatal("a deleted user must release its seats")
	}
	f.must(f.e.RestoreUser(f.op(), d))
	if !f.e.IsMember(g, u) {
		t.Fatal("group membership not restored")
	}
	for _, sku := range []string{skuE3, skuWPA, skuEXO1} {
		if !f.holds(u, sku) || f.consumed(sku) != 1 {
			t.Fatalf("license %s not restored: %s", sku, f.states(u, sku))
		}
	}
	if got := f.e.EnabledPlans(u, skuE3); len(got) != 2 {
		t.Fatalf("the group's disabled plan must stay disabled, enabled = %v", got)
	}
	if got := f.e.DirectLicenses(u); len(got) != 2 || !got[0].AssignedAt.Equal(d.DirectLicenses[0].AssignedAt) {
		t.Fatalf("direct licenses = %+v, want the two assignments as they were", got)
	}
}

func TestRestoredLicenseWithoutFreeSeatWaitsInsteadOfOversubscribing(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	u1 := f.user(1)
	f.directLicense(u1, lic(skuE3))
	d := f.deleteUser(u1)
	u2 := f.user(2)
	f.directLicense(u2, lic(skuE3)) // the freed seat is taken
	f.must(f.e.RestoreUser(f.op(), d))
	if f.consumed(skuE3) != 1 || !f.holds(u2, skuE3) {
		t.Fatal("the restore took a seat from its holder or oversubscribed the SKU")
	}
	if got := f.states(u1, skuE3); got != "Error/CountViolation" {
		t.Fatalf("restored license state = %s, want Error/CountViolation (waiting)", got)
	}
	f.must(f.e.AssignUserLicenses(f.op(), u2, nil, []string{skuE3}))
	if !f.holds(u1, skuE3) {
		t.Fatal("the restored user should be admitted when the seat frees")
	}
}

func TestRestoreIsRefusedWhenTheUserPrincipalNameIsTaken(t *testing.T) {
	f := newFixture(t)
	u1 := f.user(1)
	d := f.deleteUser(u1)
	f.user(2, func(u *User) { u.UserPrincipalName = "USER1@test" })
	f.e.TakeDelta()
	err := f.e.RestoreUser(f.op(), d)
	if allot.ErrorCode(err) != allot.ECONFLICT {
		t.Fatalf("err = %v, want a conflict", err)
	}
	wantErr(t, err, "Another object with the same value for property userPrincipalName already exists.")
	if _, ok := f.e.User(u1); ok {
		t.Fatal("a refused restore must change nothing")
	}
	if dd := f.e.TakeDelta(); !dd.Empty() {
		t.Fatalf("refused restore left changes: %+v", dd)
	}
	d.User.UserPrincipalName = "user1-restored@test"
	f.must(f.e.RestoreUser(f.op(), d))
}

func TestRestoreSkipsGroupsAndAllotmentsThatNoLongerExist(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 4)
	f.allotment("sales", skuE3, 2)
	g1, g2 := f.group(1), f.group(2)
	u := f.user(1)
	f.add(g1, u)
	f.add(g2, u)
	f.must(f.e.AssignThroughAllotment(f.op(), "sales", u, nil))
	d := f.deleteUser(u)
	f.must(f.e.DeleteGroup(f.op(), g2))
	f.must(f.e.DeleteAllotment(f.op(), "sales"))
	f.must(f.e.RestoreUser(f.op(), d))
	if !f.e.IsMember(g1, u) || f.e.IsMember(g2, u) {
		t.Fatalf("memberships after restore: g1 %v g2 %v", f.e.IsMember(g1, u), f.e.IsMember(g2, u))
	}
	if len(f.e.DirectLicenses(u)) != 0 || len(f.e.Licenses(u)) != 0 {
		t.Fatalf("a license through a deleted allotment came back: %+v", f.e.DirectLicenses(u))
	}
}

func TestRestoredUserRejoinsDynamicGroupsByRule(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 2)
	g := f.group(1, func(g *Group) {
		g.GroupTypes = []string{"DynamicMembership"}
		g.MembershipRule = `user.department -eq "Sales"`
	})
	f.groupLicense(g, lic(skuE3))
	u := f.user(1, func(u *User) { u.SetText(userprop.Department, "Sales") })
	d := f.deleteUser(u)
	if len(d.MemberOf) != 0 {
		t.Fatalf("dynamic memberships must not be kept as assigned ones: %v", d.MemberOf)
	}
	f.must(f.e.RestoreUser(f.op(), d))
	if !f.e.IsMember(g, u) || !f.holds(u, skuE3) {
		t.Fatal("the rule should take the restored user back, with the group's license")
	}
}

func TestRestoredGroupGetsBackItsMembers(t *testing.T) {
	f := newFixture(t)
	parent := f.group(1)
	g := f.group(2, func(g *Group) { g.GroupTypes = []string{"Unified"}; g.MailEnabled = true })
	u1, u2 := f.user(1), f.user(2)
	f.add(g, u1, u2)
	f.add(parent, g)
	d, _ := f.e.DeletedGroupOf(g)
	f.must(f.e.DeleteGroup(f.op(), g))
	f.must(f.e.DeleteUser(f.op(), u2))
	f.must(f.e.RestoreGroup(f.op(), d))
	if !f.e.IsMember(g, u1) || f.e.IsMember(g, u2) {
		t.Fatal("the restored group should have its members that still exist")
	}
	if !f.e.IsMember(parent, g) {
		t.Fatal("the restored group should be back in the group it belonged to")
	}
	if err := f.e.RestoreGroup(f.op(), d); allot.ErrorCode(err) != allot.ECONFLICT {
		t.Fatalf("restoring a live group: err = %v, want a conflict", err)
	}
}

func TestRestoreEqualsFullRecompute(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 2)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	u1, u2, u3 := f.user(1), f.user(2), f.user(3)
	f.add(g, u1, u2, u3)
	d := f.deleteUser(u1) // u3 takes the seat
	f.must(f.e.RestoreUser(f.op(), d))
	if got := f.states(u1, skuE3); got != "Error/CountViolation" {
		t.Fatalf("restored user's state = %s, want waiting behind the holders", got)
	}
	n := reloadWith(t, f.e, f.now, true, 1)
	if a, b := dump(f.e), dump(n); a != b {
		t.Fatalf("full recompute differs after restore\n%s\n---\n%s", a, b)
	}
}
