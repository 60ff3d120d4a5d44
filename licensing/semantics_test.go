package licensing

import (
	"strings"
	"testing"
)

// Tests of the rules that keep users' service where Entra does: mutual
// exclusions keep what the user has, a product change never leaves a user
// with neither, a prerequisite stays while a dependent needs it, and sources
// that cannot be used hold no seat.

func TestExclusionFailsTheProductAddedAndKeepsWhatTheUserHas(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuKiosk, 5)
	u := f.user(1)
	gk := f.group(1)
	f.groupLicense(gk, lic(skuKiosk)) // created first
	ge := f.group(2)
	f.groupLicense(ge, lic(skuE3))
	f.add(ge, u)
	if got := f.states(u, skuE3); got != "Active/None" {
		t.Fatalf("E3 before: %s", got)
	}
	// The conflicting group's license is older, but the user already has E3:
	// the product being added fails, E3 stays.
	f.add(gk, u)
	if got := f.states(u, skuE3); got != "Active/None" {
		t.Fatalf("E3 after a conflicting product was added: %s", got)
	}
	if got := f.states(u, skuKiosk); got != "Error/MutuallyExclusiveViolation" {
		t.Fatalf("Kiosk: %s", got)
	}
	if len(f.e.EnabledPlans(u, skuE3)) != 3 {
		t.Fatalf("E3 plans: %v", f.e.EnabledPlans(u, skuE3))
	}
	// When E3 goes, the Kiosk product applies.
	f.remove(ge, u)
	if got := f.states(u, skuKiosk); got != "Active/None" {
		t.Fatalf("Kiosk after E3 left: %s", got)
	}
	// And now E3 is the product being added: it fails.
	f.add(ge, u)
	if f.states(u, skuE3) != "Error/MutuallyExclusiveViolation" || f.states(u, skuKiosk) != "Active/None" {
		t.Fatalf("E3 re-added: E3 %s Kiosk %s", f.states(u, skuE3), f.states(u, skuKiosk))
	}
	checkReload(t, f)
}

func TestExclusionLoserHoldsNoSeat(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuKiosk, 1)
	u1, u2 := f.user(1), f.user(2)
	ge, gk := f.group(1), f.group(2)
	f.groupLicense(ge, lic(skuE3))
	f.groupLicense(gk, lic(skuKiosk))
	f.add(ge, u1)
	f.add(gk, u1, u2)
	if f.holds(u1, skuKiosk) {
		t.Fatal("a Kiosk source in MutuallyExclusiveViolation holds a seat")
	}
	if !f.holds(u2, skuKiosk) || f.states(u2, skuKiosk) != "Active/None" {
		t.Fatalf("the free Kiosk seat went to nobody: user 2 %s", f.states(u2, skuKiosk))
	}
	if got := f.consumed(skuKiosk); got != 1 {
		t.Fatalf("Kiosk consumed %d, want 1", got)
	}
	l, _ := f.e.License(u1, skuKiosk)
	if l.Usable() || l.Claimed {
		t.Fatalf("user 1's Kiosk record: claimed %v usable %v", l.Claimed, l.Usable())
	}
	checkReload(t, f)
}

func TestAdmissionNeverSwitchesOffAWorkingProduct(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 0)
	f.units(skuKiosk, 5)
	u := f.user(1)
	gk, ge := f.group(1), f.group(2)
	f.groupLicense(gk, lic(skuKiosk))
	f.groupLicense(ge, lic(skuE3))
	f.add(gk, u)
	f.add(ge, u) // E3 comes later and conflicts: it fails whatever the seats
	f.units(skuE3, 5)
	if f.states(u, skuKiosk) != "Active/None" || f.states(u, skuE3) != "Error/MutuallyExclusiveViolation" || f.holds(u, skuE3) {
		t.Fatalf("after E3 seats were bought: Kiosk %s, E3 %s held %v", f.states(u, skuKiosk), f.states(u, skuE3), f.holds(u, skuE3))
	}
	checkReload(t, f)
}

func TestProductChangeKeepsTheOldProductUntilTheNewOneHasASeat(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 4)
	f.units(skuE5, 2)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	var us []string
	for i := 1; i <= 4; i++ {
		us = append(us, f.user(i))
	}
	f.add(g, us...)
	f.must(f.e.AssignGroupLicenses(f.op(), g, []AssignedLicense{lic(skuE5)}, []string{skuE3}))
	for i, u := range us {
		hasE3, hasE5 := len(f.e.EnabledPlans(u, skuE3)) > 0, len(f.e.EnabledPlans(u, skuE5)) > 0
		if !hasE3 && !hasE5 {
			t.Fatalf("user %d was left with neither E3 nor E5", i+1)
		}
		if hasE5 && (f.holds(u, skuE3) || !f.holds(u, skuE5)) {
			t.Fatalf("user %d has E5 but still holds E3 (or no E5 seat)", i+1)
		}
		if !hasE5 {
			if got := f.states(u, skuE3); got != "ActiveWithError/CountViolation" {
				t.Fatalf("user %d's kept E3: %s", i+1, got)
			}
			if got := f.states(u, skuE5); got != "Error/CountViolation" {
				t.Fatalf("user %d's E5: %s", i+1, got)
			}
		}
	}
	if f.consumed(skuE3) != 2 || f.consumed(skuE5) != 2 {
		t.Fatalf("consumed E3 %d E5 %d, want 2 and 2", f.consumed(skuE3), f.consumed(skuE5))
	}
	checkReload(t, f)
	// More E5 seats: the waiting users move to E5 and release E3.
	f.units(skuE5, 4)
	for i, u := range us {
		if f.holds(u, skuE3) || !f.holds(u, skuE5) || f.states(u, skuE5) != "Active/None" {
			t.Fatalf("user %d after E5 seats: E3 held %v, E5 %s", i+1, f.holds(u, skuE3), f.states(u, skuE5))
		}
		if _, ok := f.e.License(u, skuE3); ok {
			t.Fatalf("user %d still has an E3 record", i+1)
		}
	}
	if f.consumed(skuE3) != 0 {
		t.Fatalf("E3 consumed %d", f.consumed(skuE3))
	}
	checkReload(t, f)
}

func TestProductChangeWaiterWhoLeavesTheGroupLosesBoth(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 2)
	f.units(skuE5, 1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	u1, u2 := f.user(1), f.user(2)
	f.add(g, u1, u2)
	f.must(f.e.AssignGroupLicenses(f.op(), g, []AssignedLicense{lic(skuE5)}, []string{skuE3}))
	if !f.holds(u2, skuE3) {
		t.Fatal("user 2 should keep E3 while waiting for E5")
	}
	f.remove(g, u2)
	if _, ok := f.e.License(u2, skuE3); ok {
		t.Fatal("user 2 left the group but keeps E3")
	}
	if _, ok := f.e.License(u2, skuE5); ok {
		t.Fatal("user 2 left the group but waits for E5")
	}
	checkReload(t, f)
}

func TestRemovingAPrerequisiteKeepsItWhileADependentNeedsIt(t *testing.T) {
	for _, how := range []string{"member removed", "license removed from group"} {
		t.Run(how, func(t *testing.T) {
			f := newFixture(t)
			f.units(skuE3, 5)
			f.units(skuWPA, 5)
			f.units(skuEXO1, 5)
			u := f.user(1)
			g := f.group(1)
			f.groupLicense(g, lic(skuE3))
			f.add(g, u)
			f.directLicense(u, lic(skuWPA)) // depends on Exchange, which E3 from g gives
			if how == "member removed" {
				f.remove(g, u)
			} else {
				f.must(f.e.AssignGroupLicenses(f.op(), g, nil, []string{skuE3}))
			}
			if got := f.states(u, skuE3); got != "ActiveWithError/DependencyViolation" {
				t.Fatalf("E3 after its removal: %s", got)
			}
			if !f.holds(u, skuE3) || len(f.e.EnabledPlans(u, skuE3)) != 3 {
				t.Fatalf("the prerequisite was stripped: held %v plans %v", f.holds(u, skuE3), f.e.EnabledPlans(u, skuE3))
			}
			if got := f.states(u, skuWPA); got != "Active/None" {
				t.Fatalf("WPA: %s", got)
			}
			l, _ := f.e.License(u, skuE3)
			if len(l.Retained()) != 1 || l.Retained()[0].AssignedByGroup != g || l.Retained()[0].KeptReason() != KeptForDependency {
				t.Fatalf("kept: %+v", l.Retained())
			}
			x, err := f.e.Explain(u, skuE3)
			f.must(err)
			if !strings.Contains(x.Sources[0].Reason, "DependencyViolation") {
				t.Fatalf("explain: %s", x.Sources[0].Reason)
			}
			checkReload(t, f)
			// Fixing the dependency (another Exchange) lets the removal finish.
			f.directLicense(u, lic(skuEXO1))
			if _, ok := f.e.License(u, skuE3); ok {
				t.Fatalf("E3 stays after the dependency was fixed: %s", f.states(u, skuE3))
			}
			if f.consumed(skuE3) != 0 || f.states(u, skuWPA) != "Active/None" {
				t.Fatalf("E3 consumed %d, WPA %s", f.consumed(skuE3), f.states(u, skuWPA))
			}
			checkReload(t, f)
		})
	}
}

func TestRemovingTheDependentLetsTheKeptPrerequisiteGo(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuWPA, 5)
	u := f.user(1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	f.add(g, u)
	f.directLicense(u, lic(skuWPA))
	f.remove(g, u)
	if !f.holds(u, skuE3) {
		t.Fatal("prerequisite not kept")
	}
	f.must(f.e.AssignUserLicenses(f.op(), u, nil, []string{skuWPA}))
	if _, ok := f.e.License(u, skuE3); ok || f.consumed(skuE3) != 0 {
		t.Fatalf("E3 kept after the dependent went: %s", f.states(u, skuE3))
	}
	checkReload(t, f)
}

func TestDeletingAGroupConvertsKeptPrerequisitesToDirect(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuWPA, 5)
	u, other := f.user(1), f.user(2)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3, planApps))
	f.add(g, u, other)
	f.directLicense(u, lic(skuWPA))
	f.must(f.e.AssignGroupLicenses(f.op(), g, nil, []string{skuE3}))
	if _, ok := f.e.License(other, skuE3); ok {
		t.Fatal("a member without a dependent keeps E3")
	}
	f.must(f.e.DeleteGroup(f.op(), g))
	ds := f.e.DirectLicenses(u)
	var e3 *LicenseSource
	for i := range ds {
		if ds[i].SKUID == skuE3 {
			e3 = &ds[i]
		}
	}
	if e3 == nil {
		t.Fatalf("E3 was not converted to a direct license: %+v", ds)
	}
	if len(e3.DisabledPlans) != 1 || e3.DisabledPlans[0] != planApps {
		t.Fatalf("converted license lost the group's disabled plans: %v", e3.DisabledPlans)
	}
	if got := f.states(u, skuE3); got != "Active/None" {
		t.Fatalf("E3 after conversion: %s", got)
	}
	l, _ := f.e.License(u, skuE3)
	if len(l.Retained()) != 0 || l.Sources[0].AssignedByGroup != "" {
		t.Fatalf("record after conversion: %+v", l)
	}
	d := f.e.TakeDelta()
	found := false
	for _, a := range d.Audit {
		if a.Action == "Convert inherited license to direct" && a.UserID == u && a.SKUID == skuE3 {
			found = true
		}
	}
	if !found || !d.DirectLicenses[Key2{u, skuE3}] {
		t.Fatalf("conversion not recorded: audit %v direct %v", d.Audit, d.DirectLicenses)
	}
	checkReload(t, f)
}

func TestAllOrNoneGroupTakesNoSeatWhileAnotherProductWaits(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	f.units(skuWPA, 0)
	u1, u2 := f.user(1), f.user(2)
	g := f.group(1, func(g *Group) { g.AssignmentMode = ModeAllOrNone })
	f.groupLicense(g, lic(skuE3), lic(skuWPA))
	f.add(g, u1)
	if f.holds(u1, skuE3) {
		t.Fatal("an all-or-none group's E3 holds a seat while WPA waits")
	}
	if got := f.states(u1, skuE3); got != "Error/CountViolation" {
		t.Fatalf("E3: %s", got)
	}
	// The E3 seat serves someone who can use it.
	gd := f.group(2)
	f.groupLicense(gd, lic(skuE3))
	f.add(gd, u2)
	if !f.holds(u2, skuE3) || f.states(u2, skuE3) != "Active/None" {
		t.Fatalf("user 2 could not use the free E3 seat: %s", f.states(u2, skuE3))
	}
	checkReload(t, f)
	// A WPA seat alone is not enough: E3 is taken.
	f.units(skuWPA, 1)
	if f.holds(u1, skuWPA) || f.holds(u1, skuE3) {
		t.Fatal("user 1 took one product of the all-or-none group without the other")
	}
	checkReload(t, f)
	// When both have a seat, both are admitted together.
	f.units(skuE3, 2)
	if f.states(u1, skuE3) != "Active/None" || f.states(u1, skuWPA) != "Active/None" {
		t.Fatalf("after seats of both: E3 %s WPA %s", f.states(u1, skuE3), f.states(u1, skuWPA))
	}
	checkReload(t, f)
}

func TestAllOrNoneProductAddedLaterDoesNotSwitchOffHeldProducts(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuPhone, 0)
	u := f.user(1)
	g := f.group(1, func(g *Group) { g.AssignmentMode = ModeAllOrNone })
	f.groupLicense(g, lic(skuE3))
	f.add(g, u)
	f.groupLicense(g, lic(skuPhone)) // no seats: the product added fails alone
	if f.states(u, skuE3) != "Active/None" || f.states(u, skuPhone) != "Error/CountViolation" {
		t.Fatalf("E3 %s Phone %s", f.states(u, skuE3), f.states(u, skuPhone))
	}
	checkReload(t, f)
}

func TestDependencyReservationIsNotListedAsAssigned(t *testing.T) {
	// WPA's prerequisite (Exchange Plan 1) has no seat: WPA keeps its seat
	// reserved (the documented choice) but is not usable.
	f := newFixture(t)
	f.units(skuEXO1, 0)
	f.units(skuWPA, 5)
	u := f.user(1)
	g := f.group(1)
	f.groupLicense(g, lic(skuWPA), lic(skuEXO1))
	f.add(g, u)
	l, _ := f.e.License(u, skuWPA)
	if !l.Held || l.Usable() || f.states(u, skuWPA) != "Error/DependencyViolation" {
		t.Fatalf("WPA: held %v usable %v %s", l.Held, l.Usable(), f.states(u, skuWPA))
	}
	x, err := f.e.Explain(u, skuWPA)
	f.must(err)
	if !strings.Contains(x.Sources[0].Reason, "requires EXO1 or EXO2") {
		t.Fatalf("explain reason: %s", x.Sources[0].Reason)
	}
	f.units(skuEXO1, 1)
	if got := f.states(u, skuWPA); got != "Active/None" {
		t.Fatalf("WPA after Exchange has a seat: %s", got)
	}
}

// checkReload fails the test when a full recompute of the engine's records
// differs from the engine or changes anything.
func checkReload(t *testing.T, f *fixture) {
	t.Helper()
	if err := checkInvariants(f.e); err != nil {
		t.Fatal(err)
	}
	n := reload(t, f.e, f.now)
	if d := n.TakeDelta(); len(d.Licenses) != 0 {
		t.Fatalf("full recompute changed %d licenses", len(d.Licenses))
	}
	if a, b := dump(f.e), dump(n); a != b {
		t.Fatalf("full recompute differs:\n%s\n---\n%s", a, b)
	}
}

func TestKeptSourceGoesWhenItCannotBeUsed(t *testing.T) {
	f := newFixture(t)
	f.units(skuPhone, 5)
	f.units(skuE5, 0)
	g := f.group(1)
	f.groupLicense(g, lic(skuPhone))
	u := f.user(1)
	f.add(g, u)
	f.must(f.e.AssignGroupLicenses(f.op(), g, []AssignedLicense{lic(skuE5)}, []string{skuPhone}))
	if got := f.states(u, skuPhone); got != "ActiveWithError/CountViolation" {
		t.Fatalf("Phone kept for its replacement: %s", got)
	}
	// Phone is prohibited in KP: keeping it would keep nothing.
	uu, _ := f.e.User(u)
	uu.UsageLocation = "KP"
	f.must(f.e.PutUser(f.op(), uu))
	if _, ok := f.e.License(u, skuPhone); ok || f.consumed(skuPhone) != 0 {
		t.Fatalf("Phone record after the move: %s, consumed %d", f.states(u, skuPhone), f.consumed(skuPhone))
	}
	checkReload(t, f)
}

func TestAllotmentWithKeptUnitsCannotBeDeleted(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 10)
	f.units(skuWPA, 5)
	f.allotment("sales", skuE3, 2)
	g := f.group(1)
	f.must(f.e.AssignThroughAllotment(f.op(), "sales", g, nil))
	u := f.user(1)
	f.add(g, u)
	f.directLicense(u, lic(skuWPA))
	f.must(f.e.RemoveFromAllotment(f.op(), "sales", g))
	if !f.holdsIn(u, "sales") {
		t.Fatal("the prerequisite's allotment unit was not kept")
	}
	wantErr(t, f.e.DeleteAllotment(f.op(), "sales"), "still has 1 unit(s) in use")
	f.must(f.e.AssignUserLicenses(f.op(), u, nil, []string{skuWPA}))
	f.must(f.e.DeleteAllotment(f.op(), "sales"))
	checkReload(t, f)
}

func TestProductChangeToAConflictingProductKeepsTheOldOneUntilTheSwitch(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuKiosk, 0)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	u := f.user(1)
	f.add(g, u)
	// Kiosk conflicts with E3's Exchange: it replaces E3, it is not added
	// next to it.
	f.must(f.e.AssignGroupLicenses(f.op(), g, []AssignedLicense{lic(skuKiosk)}, []string{skuE3}))
	if f.states(u, skuE3) != "ActiveWithError/CountViolation" || f.states(u, skuKiosk) != "Error/CountViolation" {
		t.Fatalf("while Kiosk has no seat: E3 %s Kiosk %s", f.states(u, skuE3), f.states(u, skuKiosk))
	}
	checkReload(t, f)
	f.units(skuKiosk, 1)
	if _, ok := f.e.License(u, skuE3); ok || f.states(u, skuKiosk) != "Active/None" {
		t.Fatalf("after the switch: E3 %s Kiosk %s", f.states(u, skuE3), f.states(u, skuKiosk))
	}
	checkReload(t, f)
}

func TestProductChangeBlockedByAnotherProductKeepsTheOldOne(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.units(skuE5, 5)
	f.units(skuKiosk, 5)
	g, other := f.group(1), f.group(2)
	f.groupLicense(g, lic(skuE3, planEXO2))
	f.groupLicense(other, lic(skuE5))
	u := f.user(1)
	f.add(g, u)
	f.add(other, u) // E5's Exchange: Kiosk can never apply
	f.must(f.e.AssignGroupLicenses(f.op(), g, []AssignedLicense{lic(skuKiosk)}, []string{skuE3}))
	if f.states(u, skuKiosk) != "Error/MutuallyExclusiveViolation" || f.states(u, skuE3) != "ActiveWithError/CountViolation" {
		t.Fatalf("E3 %s Kiosk %s", f.states(u, skuE3), f.states(u, skuKiosk))
	}
	checkReload(t, f)
	// Once the other product goes, the replacement applies and E3 goes.
	f.remove(other, u)
	if _, ok := f.e.License(u, skuE3); ok || f.states(u, skuKiosk) != "Active/None" {
		t.Fatalf("after E5 left: E3 %s Kiosk %s", f.states(u, skuE3), f.states(u, skuKiosk))
	}
	checkReload(t, f)
}
