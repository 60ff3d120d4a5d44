package licensing

import (
	"strings"
	"testing"

	"allot"
	"allot/audit"
)

func TestOneSeatPerUserAndUnionOfPlansAcrossSources(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 10)
	u := f.user(1)
	g1, g2 := f.group(1), f.group(2)
	f.groupLicense(g1, lic(skuE3, planTeams))
	f.groupLicense(g2, lic(skuE3, planApps))
	f.add(g1, u)
	f.add(g2, u)
	f.directLicense(u, lic(skuE3, planTeams, planApps))
	if got := f.consumed(skuE3); got != 1 {
		t.Fatalf("consumed = %d, want 1", got)
	}
	if got := f.states(u, skuE3); got != "Active/None,Active/None,Active/None" {
		t.Fatalf("states = %s", got)
	}
	plans := f.e.EnabledPlans(u, skuE3)
	if len(plans) != 3 {
		t.Fatalf("enabled plans = %v, want all three (union)", plans)
	}
	l, _ := f.e.License(u, skuE3)
	if l.Sources[0].AssignedByGroup != "" || l.Sources[1].AssignedByGroup != g1 || l.Sources[2].AssignedByGroup != g2 {
		t.Fatalf("sources not direct first then by group: %+v", l.Sources)
	}
}

func TestCountViolationAdmitsOldestWaiterWhenSeatFrees(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 2)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	var us []string
	for i := 1; i <= 5; i++ {
		u := f.user(i)
		us = append(us, u)
		f.add(g, u) // one at a time: user i claims before user i+1
	}
	for i, u := range us {
		want := i < 2
		if f.holds(u, skuE3) != want {
			t.Fatalf("user %d holds = %v, want %v", i+1, !want, want)
		}
	}
	if got := f.states(us[2], skuE3); got != "Error/CountViolation" {
		t.Fatalf("waiting user state = %s", got)
	}
	if !f.e.HasMembersWithLicenseErrors(g) || len(f.e.MembersWithLicenseErrors(g)) != 3 {
		t.Fatalf("group should report 3 members with license errors, got %v", f.e.MembersWithLicenseErrors(g))
	}
	// The counts by code (a code named twice counts once; an unknown code
	// counts nothing).
	for _, c := range []struct {
		codes []string
		want  int
	}{{[]string{"CountViolation"}, 3}, {[]string{"DependencyViolation"}, 0}, {[]string{"CountViolation", "CountViolation", "DependencyViolation"}, 3},
		{[]string{"NotACode"}, 0}, {nil, 0}} {
		if got := f.e.GroupErrorCountOf(g, c.codes...); got != c.want {
			t.Fatalf("GroupErrorCountOf(%v) = %d, want %d", c.codes, got, c.want)
		}
	}
	f.remove(g, us[0]) // frees a seat: user 3 (oldest waiter) gets it
	if got := f.e.GroupErrorCountOf(g, "CountViolation"); got != 2 {
		t.Fatalf("CountViolation after a seat freed: %d, want 2", got)
	}
	if !f.holds(us[2], skuE3) || f.holds(us[3], skuE3) {
		t.Fatalf("oldest waiter not admitted first")
	}
	if got := f.states(us[2], skuE3); got != "Active/None" {
		t.Fatalf("admitted user state = %s", got)
	}
	f.units(skuE3, 4) // buying units admits the rest, oldest first
	if !f.holds(us[3], skuE3) || !f.holds(us[4], skuE3) {
		t.Fatal("raising units did not admit waiters")
	}
	if f.e.HasMembersWithLicenseErrors(g) {
		t.Fatal("group still reports errors")
	}
}

func TestHoldersNeverLoseTheirSeatToNewcomers(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	holder := f.user(9) // a higher id than the newcomer: ids must not decide
	newcomer := f.user(1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	f.add(g, holder)
	f.add(g, newcomer)
	if !f.holds(holder, skuE3) || f.holds(newcomer, skuE3) {
		t.Fatal("the newcomer took the holder's seat")
	}
	// A second source for the newcomer does not help it jump the queue.
	g2 := f.group(2)
	f.groupLicense(g2, lic(skuE3))
	f.add(g2, newcomer)
	if f.holds(newcomer, skuE3) {
		t.Fatal("a second source jumped the queue")
	}
}

func TestSeatsFreedByEveryKindOfRelease(t *testing.T) {
	cases := []struct {
		name    string
		release func(f *fixture, holder, g string)
	}{
		{"member removed", func(f *fixture, h, g string) { f.remove(g, h) }},
		{"user deleted", func(f *fixture, h, g string) { f.must(f.e.DeleteUser(f.op(), h)) }},
		{"group license removed", func(f *fixture, h, g string) {
			f.must(f.e.AssignGroupLicenses(f.op(), g, nil, []string{skuE3}))
		}},
		{"usage location becomes prohibited", nil},
	}
	for _, c := range cases {
		if c.release == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.units(skuE3, 1)
			h, w := f.user(1), f.user(2)
			g := f.group(1)
			f.groupLicense(g, lic(skuE3))
			f.add(g, h)
			g2 := f.group(2)
			f.groupLicense(g2, lic(skuE3))
			f.add(g2, w)
			if f.holds(w, skuE3) {
				t.Fatal("waiter holds a seat before release")
			}
			c.release(f, h, g)
			if !f.holds(w, skuE3) {
				t.Fatal("waiter not admitted after release")
			}
		})
	}
}

func TestDirectLicenseRemovalAdmitsWaiter(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	h, w := f.user(1), f.user(2)
	f.directLicense(h, lic(skuE3))
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	f.add(g, w)
	if f.holds(w, skuE3) {
		t.Fatal("waiter holds a seat")
	}
	f.must(f.e.AssignUserLicenses(f.op(), h, nil, []string{skuE3}))
	if !f.holds(w, skuE3) || f.holds(h, skuE3) {
		t.Fatal("seat not passed to the waiter")
	}
}

func TestDirectAssignmentRefusals(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	f.units(skuWPA, 5)
	f.units(skuKiosk, 5)
	noLoc := f.user(1, func(u *User) { u.UsageLocation = "" })
	a, b := f.user(2), f.user(3)
	f.directLicense(a, lic(skuE3))
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"no usage location", f.e.AssignUserLicenses(f.op(), noLoc, []AssignedLicense{lic(skuE3)}, nil), "License assignment cannot be done for user with invalid usage location."},
		{"no seats", f.e.AssignUserLicenses(f.op(), b, []AssignedLicense{lic(skuE3)}, nil), "Subscription with SKU " + skuE3 + " does not have any available licenses."},
		{"unknown sku", f.e.AssignUserLicenses(f.op(), b, []AssignedLicense{lic(skuE5)}, nil), "License " + skuE5 + " does not correspond to a valid company License."},
		{"plan not in sku", f.e.AssignUserLicenses(f.op(), a, []AssignedLicense{lic(skuE3, planATP)}, nil), "is not part of license"},
		{"dependency", f.e.AssignUserLicenses(f.op(), b, []AssignedLicense{lic(skuWPA)}, nil), "License assignment failed because service plan " + planWPA + " depends on the service plan(s)"},
		{"exclusion", f.e.AssignUserLicenses(f.op(), a, []AssignedLicense{lic(skuKiosk)}, nil), "are mutually exclusive."},
		{"remove what the user lacks", f.e.AssignUserLicenses(f.op(), b, nil, []string{skuE3}), "User does not have a corresponding license."},
		{"add and remove same", f.e.AssignUserLicenses(f.op(), a, []AssignedLicense{lic(skuE3)}, []string{skuE3}), "cannot be added and removed in the same request"},
		{"unknown user", f.e.AssignUserLicenses(f.op(), gid("u", 99), []AssignedLicense{lic(skuE3)}, nil), "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.err, c.want) })
	}
	if f.holds(b, skuE3) || f.consumed(skuE3) != 1 {
		t.Fatal("a refused assignment changed state")
	}
	// With its prerequisite, the add-on is accepted.
	f.directLicense(a, lic(skuWPA))
	if got := f.states(a, skuWPA); got != "Active/None" {
		t.Fatalf("WPA with Exchange: %s", got)
	}
}

func TestInheritedLicenseCannotBeRemovedFromUser(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	u := f.user(1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	f.add(g, u)
	err := f.e.AssignUserLicenses(f.op(), u, nil, []string{skuE3})
	wantErr(t, err, "User license is inherited from a group membership and it cannot be removed directly from the user.")
	if allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("code = %s", allot.ErrorCode(err))
	}
	// A direct license on top can be removed; the inherited one stays.
	f.directLicense(u, lic(skuE3))
	f.must(f.e.AssignUserLicenses(f.op(), u, nil, []string{skuE3}))
	if !f.holds(u, skuE3) || f.states(u, skuE3) != "Active/None" {
		t.Fatal("inherited license lost when the direct one was removed")
	}
}

func TestUsageLocation(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuPhone, 5)
	noLoc := f.user(1, func(u *User) { u.UsageLocation = "" })
	kp := f.user(2, func(u *User) { u.UsageLocation = "KP" })
	g := f.group(1)
	f.groupLicense(g, lic(skuE3), lic(skuPhone))
	f.add(g, noLoc, kp)
	if !f.holds(noLoc, skuE3) {
		t.Fatal("group licensing should use the tenant default location")
	}
	if u, _ := f.e.User(noLoc); u.UsageLocation != "" {
		t.Fatal("group licensing changed the user's usage location")
	}
	if got := f.states(kp, skuPhone); got != "Error/ProhibitedInUsageLocationViolation" {
		t.Fatalf("prohibited location: %s", got)
	}
	if f.holds(kp, skuPhone) || f.consumed(skuPhone) != 1 {
		t.Fatal("a prohibited user consumes a seat")
	}
	if got := f.states(kp, skuE3); got != "Active/None" {
		t.Fatalf("other product of the group should stay active (per product): %s", got)
	}
	// Moving the user to an allowed country licenses it.
	u, _ := f.e.User(kp)
	u.UsageLocation = "DE"
	f.must(f.e.PutUser(f.op(), u))
	if !f.holds(kp, skuPhone) {
		t.Fatal("user not licensed after moving to an allowed location")
	}
	// A user with direct licenses cannot lose the usage location.
	d := f.user(3)
	f.directLicense(d, lic(skuE3))
	du, _ := f.e.User(d)
	du.UsageLocation = ""
	wantErr(t, f.e.PutUser(f.op(), du), "usage location")
}

func TestGroupAddOnNeedsPrerequisiteInSameGroup(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuWPA, 5)
	g := f.group(1)
	err := f.e.AssignGroupLicenses(f.op(), g, []AssignedLicense{lic(skuWPA)}, nil)
	wantErr(t, err, "License operation failed. Make sure that the group has necessary services before adding or removing a dependent service. The service WPA friendly requires EXO1 friendly or EXO2 friendly to be enabled as well.")
	err = f.e.AssignGroupLicenses(f.op(), g, []AssignedLicense{lic(skuWPA), lic(skuE3, planEXO2)}, nil)
	wantErr(t, err, "The service WPA friendly requires")
	f.must(f.e.AssignGroupLicenses(f.op(), g, []AssignedLicense{lic(skuWPA), lic(skuE3, planTeams, planApps)}, nil))
	// Removing the prerequisite while the add-on stays is refused too.
	wantErr(t, f.e.AssignGroupLicenses(f.op(), g, nil, []string{skuE3}), "requires")
}

func TestMutuallyExclusivePlansFailTheLaterSource(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuKiosk, 5)
	u := f.user(1)
	gk, ge := f.group(1), f.group(2)
	f.groupLicense(gk, lic(skuKiosk))
	f.groupLicense(ge, lic(skuE3))
	f.add(gk, u)
	f.add(ge, u)
	// The E3 group license was assigned later than the Kiosk one.
	if got := f.states(u, skuE3); got != "Error/MutuallyExclusiveViolation" {
		t.Fatalf("E3: %s", got)
	}
	if got := f.states(u, skuKiosk); got != "Active/None" {
		t.Fatalf("Kiosk: %s", got)
	}
	// Disabling the conflicting plan in the E3 group resolves it.
	f.must(f.e.AssignGroupLicenses(f.op(), ge, []AssignedLicense{lic(skuE3, planEXO2)}, nil))
	if got := f.states(u, skuE3); got != "Active/None" {
		t.Fatalf("E3 without Exchange: %s", got)
	}
}

func TestPerProductGroupsDoNotBlockOtherProducts(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuWPA, 0)
	u := f.user(1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3), lic(skuWPA))
	f.add(g, u)
	if got := f.states(u, skuE3); got != "Active/None" {
		t.Fatalf("E3: %s", got)
	}
	if got := f.states(u, skuWPA); got != "Error/CountViolation" {
		t.Fatalf("WPA: %s", got)
	}
}

func TestAllOrNoneGroupFailsTogetherAndRecovers(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuWPA, 0)
	u := f.user(1)
	g := f.group(1, func(g *Group) { g.AssignmentMode = ModeAllOrNone })
	f.groupLicense(g, lic(skuE3), lic(skuWPA))
	f.add(g, u)
	if got := f.states(u, skuE3); got != "Error/CountViolation" {
		t.Fatalf("E3 in an all-or-none group with WPA short: %s", got)
	}
	if f.holds(u, skuE3) {
		t.Fatal("the E3 seat should not be held while the group waits for WPA")
	}
	x, _ := f.e.Explain(u, skuE3)
	if !strings.Contains(x.Sources[0].Reason, "all or none") {
		t.Fatalf("explain: %s", x.Sources[0].Reason)
	}
	f.units(skuWPA, 1)
	if f.states(u, skuE3) != "Active/None" || f.states(u, skuWPA) != "Active/None" {
		t.Fatalf("after units: E3 %s WPA %s", f.states(u, skuE3), f.states(u, skuWPA))
	}
	// Switching the group back to per product takes effect for members.
	f.units(skuWPA, 1)
	gr, _ := f.e.Group(g)
	gr.AssignmentMode = ModePerProduct
	f.must(f.e.PutGroup(f.op(), gr))
}

func TestGroupWithLicensesCannotBeDeleted(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	wantErr(t, f.e.DeleteGroup(f.op(), g), "remove the group's licenses before deleting it")
	f.must(f.e.AssignGroupLicenses(f.op(), g, nil, []string{skuE3}))
	f.must(f.e.DeleteGroup(f.op(), g))
	if f.e.IsGroup(g) {
		t.Fatal("group not deleted")
	}
}

func TestChangingGroupProductIsAtomic(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 3)
	f.units(skuE5, 3)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	var us []string
	for i := 1; i <= 3; i++ {
		us = append(us, f.user(i))
	}
	f.add(g, us...)
	f.must(f.e.AssignGroupLicenses(f.op(), g, []AssignedLicense{lic(skuE5)}, []string{skuE3}))
	for _, u := range us {
		if f.holds(u, skuE3) || !f.holds(u, skuE5) {
			t.Fatalf("user %s: E3 %v E5 %v", u, f.holds(u, skuE3), f.holds(u, skuE5))
		}
	}
	if f.consumed(skuE3) != 0 || f.consumed(skuE5) != 3 {
		t.Fatalf("consumed E3 %d E5 %d", f.consumed(skuE3), f.consumed(skuE5))
	}
	// Exactly one audit entry per member and product for the switch.
	if err := checkInvariants(f.e); err != nil {
		t.Fatal(err)
	}
}

func TestGuestsAreLicensedUnlessExcluded(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	guest := f.user(1, func(u *User) { u.UserType = "Guest" })
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	f.add(g, guest)
	if !f.holds(guest, skuE3) {
		t.Fatal("guest not licensed by default")
	}
	s := f.e.Settings()
	s.ExcludeGuests = true
	f.must(f.e.SetSettings(f.op(), s))
	if f.holds(guest, skuE3) || f.consumed(skuE3) != 0 {
		t.Fatal("guest still licensed with ExcludeGuests")
	}
	x, _ := f.e.Explain(guest, skuE3)
	if !strings.Contains(x.Summary, "Guests are excluded") {
		t.Fatalf("explain: %s", x.Summary)
	}
}

func TestNestedGroupLicensing(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	u := f.user(1)
	parent, child := f.group(1), f.group(2)
	f.groupLicense(parent, lic(skuE3))
	f.add(child, u)
	f.add(parent, child)
	if f.holds(u, skuE3) {
		t.Fatal("nested membership licensed with the setting off (Entra does not)")
	}
	s := f.e.Settings()
	s.NestedGroups = true
	f.must(f.e.SetSettings(f.op(), s))
	if !f.holds(u, skuE3) {
		t.Fatal("nested membership not licensed with the setting on")
	}
	x, _ := f.e.Explain(u, skuE3)
	if !strings.Contains(x.Sources[0].Via, "Group 2, which is a member of Group 1") {
		t.Fatalf("via: %s", x.Sources[0].Via)
	}
	wantErr(t, f.e.AddMembers(f.op(), child, []string{parent}), "may not contain themselves")
	wantErr(t, f.e.AddMembers(f.op(), child, []string{child}), "may not contain themselves")
	f.remove(parent, child)
	if f.holds(u, skuE3) {
		t.Fatal("license kept after the nested group left")
	}
}

func TestReducingUnitsBelowConsumptionIsRefused(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 3)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	f.add(g, f.user(1), f.user(2), f.user(3))
	err := f.e.SetUnits(f.op(), skuE3, Units{Enabled: 1})
	wantErr(t, err, "3 licenses of E3 are assigned; remove at least 2 assignment(s) before reducing the units to 1.")
	if allot.ErrorCode(err) != allot.ECONFLICT {
		t.Fatalf("code %s", allot.ErrorCode(err))
	}
	if p, _ := f.e.Pool(skuE3); p.Units.Enabled != 3 {
		t.Fatal("refused change applied")
	}
	f.must(f.e.SetUnits(f.op(), skuE3, Units{Enabled: 3, Warning: 1}))
	wantErr(t, f.e.SetUnits(f.op(), skuE3, Units{Enabled: -1}), "negative")
}

func TestMembershipErrors(t *testing.T) {
	f := newFixture(t)
	u := f.user(1)
	g := f.group(1)
	f.add(g, u)
	wantErr(t, f.e.AddMembers(f.op(), g, []string{u}), "One or more added object references already exist for the following modified properties: 'members'.")
	err := f.e.AddMembers(f.op(), g, []string{gid("u", 77)})
	if allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("unknown member: %v", err)
	}
	// All or nothing: one bad id in a batch adds nobody.
	u2 := f.user(2)
	if err := f.e.AddMembers(f.op(), g, []string{u2, gid("u", 77)}); err == nil {
		t.Fatal("batch with an unknown id accepted")
	}
	if us, _ := f.e.Members(g); len(us) != 1 {
		t.Fatalf("members after failed batch: %v", us)
	}
	wantErr(t, f.e.RemoveMembers(f.op(), g, []string{u2}), "does not exist")
}

func TestDisabledAccountKeepsItsSeat(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	u := f.user(1)
	f.directLicense(u, lic(skuE3))
	usr, _ := f.e.User(u)
	usr.AccountEnabled = false
	f.must(f.e.PutUser(f.op(), usr))
	if !f.holds(u, skuE3) {
		t.Fatal("disabled user lost its seat (Entra keeps it)")
	}
}

func TestUPNIsUniqueCaseInsensitively(t *testing.T) {
	f := newFixture(t)
	f.user(1)
	err := f.e.PutUser(f.op(), User{ID: gid("u", 2), UserPrincipalName: "USER1@TEST"})
	if allot.ErrorCode(err) != allot.ECONFLICT {
		t.Fatalf("duplicate UPN: %v", err)
	}
	if _, ok := f.e.UserByUPN("User1@Test"); !ok {
		t.Fatal("lookup by UPN is case-sensitive")
	}
}

func TestLastUpdatedChangesOnlyWithTheSource(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	u := f.user(1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	f.add(g, u)
	before, _ := f.e.License(u, skuE3)
	g2 := f.group(2)
	f.groupLicense(g2, lic(skuE3))
	f.add(g2, u)
	after, _ := f.e.License(u, skuE3)
	if !after.Sources[0].LastUpdated.Equal(before.Sources[0].LastUpdated) {
		t.Fatal("lastUpdatedDateTime of an unchanged source moved")
	}
	if !after.Sources[1].LastUpdated.After(before.Sources[0].LastUpdated) {
		t.Fatal("new source has an old lastUpdatedDateTime")
	}
}

func TestAuditNamesActorAndReason(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	a, b := f.user(1), f.user(2)
	f.add(g, a, b)
	f.e.TakeDelta()
	f.remove(g, a)
	d := f.e.TakeDelta()
	var found bool
	for _, en := range d.Audit {
		if en.UserID == b && en.Action == "Change user license" {
			found = true
			if en.Actor != audit.ActorGroupLicensing || !strings.Contains(en.Why, "admitted from the waiting room") {
				t.Fatalf("admission entry: %+v", en)
			}
		}
	}
	if !found {
		t.Fatalf("no audit entry for the admitted user: %+v", d.Audit)
	}
	listed := false
	for _, k := range d.Licenses {
		listed = listed || k == Key2{a, skuE3}
	}
	if _, exists := f.e.License(a, skuE3); !listed || exists {
		t.Fatalf("delta should delete (a, E3): listed=%v exists=%v", listed, exists)
	}
}

func TestExplainWaitingPosition(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	for i := 1; i <= 4; i++ {
		f.add(g, f.user(i))
	}
	x, err := f.e.Explain(gid("u", 3), skuE3)
	f.must(err)
	if !x.Waiting || x.WaitingPosition != 2 || x.WaitingCount != 3 {
		t.Fatalf("explain: %+v", x)
	}
	if !strings.Contains(x.Sources[0].Reason, "position 2 of 3") || !strings.Contains(x.Sources[0].Via, "member of group Group 1") {
		t.Fatalf("source: %+v", x.Sources[0])
	}
	x, _ = f.e.Explain(gid("u", 1), skuE3)
	if !x.HoldsSeat || !strings.Contains(x.Summary, "consumes one seat") {
		t.Fatalf("holder: %+v", x)
	}
	if _, err := f.e.Explain(gid("u", 1), skuE5); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("unknown sku: %v", err)
	}
}

func TestReloadEqualsIncrementalState(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 2)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	for i := 1; i <= 4; i++ {
		f.add(g, f.user(i))
	}
	f.e.TakeDelta()
	n := reload(t, f.e, f.now)
	if d := n.TakeDelta(); len(d.Licenses) != 0 || len(d.Audit) != 0 {
		t.Fatalf("recompute of a consistent state changed something: %+v", d)
	}
	if dump(n) != dump(f.e) {
		t.Fatalf("reload differs:\n%s\nvs\n%s", dump(n), dump(f.e))
	}
}

// A refusal names the products and plans next to their ids (Graph's
// sentence, with ids only, comes first).
func TestRefusalsNameProductsAndPlans(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuWPA, 5)
	f.units(skuKiosk, 5)
	a, b := f.user(2), f.user(3)
	f.directLicense(a, lic(skuE3))
	dep := f.e.AssignUserLicenses(f.op(), b, []AssignedLicense{lic(skuWPA)}, nil)
	wantErr(t, dep, "WPA friendly ("+planWPA+") of Workplace Analytics (WPA, "+skuWPA+") needs EXO1 friendly ("+planEXO1+") or EXO2 friendly ("+planEXO2+")")
	excl := f.e.AssignUserLicenses(f.op(), a, []AssignedLicense{lic(skuKiosk)}, nil)
	wantErr(t, excl, "KIOSK friendly ("+planKiosk+") cannot be enabled together with EXO2 friendly ("+planEXO2+")")
}
