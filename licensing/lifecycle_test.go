package licensing

import (
	"strings"
	"testing"

	"allot"
)

// Subscription lifecycle ("What if my subscription expires?", Graph's
// licenseUnitsDetail and assignedPlan capabilityStatus): units move from
// enabled to warning (grace), suspended and locked out without touching
// assignments; only a deletion takes seats away.

func TestUnitsInGracePeriodKeepSeatsAndStayAssignable(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 3)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	u1, u2 := f.user(1), f.user(2)
	f.add(g, u1, u2)
	f.must(f.e.SetUnits(f.op(), skuE3, Units{Warning: 3}))
	p, _ := f.e.Pool(skuE3)
	if p.Units.Status != "Warning" || p.Consumed != 2 {
		t.Fatalf("pool after expiry: %+v", p)
	}
	if !f.holds(u1, skuE3) || f.states(u1, skuE3) != "Active/None" {
		t.Fatalf("holder lost its seat in the grace period: %s", f.states(u1, skuE3))
	}
	// Warning: "available for normal use and assignment but in a grace period".
	u3 := f.user(3)
	f.directLicense(u3, lic(skuE3))
	if !f.holds(u3, skuE3) {
		t.Fatal("a unit in its grace period could not be assigned")
	}
}

func TestSuspendingASubscriptionWithSeatsInUseKeepsAssignments(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 2)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	u1, u2, u3 := f.user(1), f.user(2), f.user(3)
	f.add(g, u1, u2, u3) // u3 waits
	f.must(f.e.SetUnits(f.op(), skuE3, Units{Suspended: 2}))
	p, _ := f.e.Pool(skuE3)
	if p.Units.Status != "Suspended" || p.Consumed != 2 {
		t.Fatalf("pool after suspension: %+v", p)
	}
	if !f.holds(u1, skuE3) || !f.holds(u2, skuE3) || f.holds(u3, skuE3) {
		t.Fatal("suspension changed who holds seats")
	}
	// Suspended units cannot be assigned, even when a holder leaves.
	f.remove(g, u1)
	if f.holds(u3, skuE3) {
		t.Fatal("a waiting user was admitted into a suspended unit")
	}
	err := f.e.AssignUserLicenses(f.op(), f.user(4), []AssignedLicense{lic(skuE3)}, nil)
	wantErr(t, err, "does not have any available licenses")
	// Locked out: still kept.
	f.must(f.e.SetUnits(f.op(), skuE3, Units{LockedOut: 2}))
	if p, _ := f.e.Pool(skuE3); p.Units.Status != "LockedOut" || !f.holds(u2, skuE3) {
		t.Fatalf("locked out: %+v", p)
	}
	// Reactivation admits the waiting user at once.
	f.must(f.e.SetUnits(f.op(), skuE3, Units{Enabled: 2}))
	if !f.holds(u3, skuE3) || f.states(u3, skuE3) != "Active/None" {
		t.Fatalf("reactivation did not admit the waiter: %s", f.states(u3, skuE3))
	}
}

func TestDeletingASubscriptionReleasesTheYoungestSeats(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 3)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	u1, u2, u3 := f.user(1), f.user(2), f.user(3)
	f.add(g, u1)
	f.add(g, u2)
	f.add(g, u3)
	err := f.e.SetUnits(f.op(), skuE3, Units{Enabled: 1})
	if allot.ErrorCode(err) != allot.ECONFLICT {
		t.Fatalf("lowering units below the seats in use: %v", err)
	}
	f.must(f.e.SetUnitsReleasing(f.op(), skuE3, Units{Enabled: 1}))
	if !f.holds(u1, skuE3) || f.holds(u2, skuE3) || f.holds(u3, skuE3) {
		t.Fatal("the oldest holder should keep the last unit")
	}
	if got := f.states(u3, skuE3); got != "Error/CountViolation" {
		t.Fatalf("released user state %s", got)
	}
	if err := checkInvariants(f.e); err != nil {
		t.Fatal(err)
	}
}

func TestAllotmentsAdmitNobodyWhileTheirUnitsAreSuspended(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 4)
	f.must(f.e.PutAllotment(f.op(), Allotment{ID: "a1", DisplayName: "Sales", SKUID: skuE3, AllottedUnits: 2}))
	u1, u2 := f.user(1), f.user(2)
	f.must(f.e.AssignThroughAllotment(f.op(), "a1", u1, nil))
	f.must(f.e.SetUnits(f.op(), skuE3, Units{Enabled: 1, Suspended: 3}))
	_ = f.e.AssignThroughAllotment(f.op(), "a1", u2, nil) // refused or waiting: never a seat
	if held := allotmentHolders(f.e, "a1"); held != 1 {
		t.Fatalf("allotment holders while suspended = %d, want 1", held)
	}
	f.must(f.e.SetUnits(f.op(), skuE3, Units{Enabled: 4}))
	f.must(f.e.AssignThroughAllotment(f.op(), "a1", u2, nil))
	if held := allotmentHolders(f.e, "a1"); held != 2 {
		t.Fatalf("allotment holders after reactivation = %d, want 2", held)
	}
	if err := checkInvariants(f.e); err != nil {
		t.Fatal(err)
	}
}

func allotmentHolders(e *Engine, id string) int {
	return e.allotments[id].pool.consumed
}

func TestRulesOnAssignedPlanStatusFollowTheSubscription(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 2)
	u := f.user(1)
	f.directLicense(u, lic(skuE3))
	g := f.group(2, func(g *Group) {
		g.GroupTypes = []string{"DynamicMembership"}
		g.MembershipRule = `user.assignedPlans -any (assignedPlan.servicePlanId -eq "` + planEXO2 + `" -and assignedPlan.capabilityStatus -eq "Enabled")`
	})
	if !f.e.IsMember(g, u) {
		t.Fatal("the holder of an enabled plan should match")
	}
	f.must(f.e.SetUnits(f.op(), skuE3, Units{Suspended: 2}))
	if f.e.IsMember(g, u) {
		t.Fatal("a suspended plan still matches capabilityStatus Enabled")
	}
	f.must(f.e.SetUnits(f.op(), skuE3, Units{Enabled: 2}))
	if !f.e.IsMember(g, u) {
		t.Fatal("reactivation did not bring the user back")
	}
}

func TestExplainSaysWhyASuspendedSubscriptionGivesNoService(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 1)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	u1, u2 := f.user(1), f.user(2)
	f.add(g, u1)
	f.add(g, u2)
	f.must(f.e.SetUnits(f.op(), skuE3, Units{Suspended: 1}))
	x, err := f.e.Explain(u1, skuE3)
	f.must(err)
	if x.CapabilityStatus != "Suspended" || !strings.Contains(x.Summary, "no service until it is reactivated") {
		t.Fatalf("holder: %s / %s", x.CapabilityStatus, x.Summary)
	}
	x, err = f.e.Explain(u2, skuE3)
	f.must(err)
	if len(x.Sources) != 1 || !strings.Contains(x.Sources[0].Reason, "is Suspended, so its units cannot be assigned") {
		t.Fatalf("waiter: %+v", x.Sources)
	}
}
