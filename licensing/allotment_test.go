package licensing

import (
	"strings"
	"testing"

	"allot"
)

func (f *fixture) allotment(id string, sku string, units int) {
	f.t.Helper()
	f.must(f.e.PutAllotment(f.op(), Allotment{ID: id, DisplayName: "Allotment " + id, SKUID: sku, AllottedUnits: units}))
}

func (f *fixture) holdsIn(user, allotmentID string) bool {
	for _, l := range f.e.Licenses(user) {
		if l.AllotmentID == allotmentID && l.Held {
			return true
		}
	}
	return false
}

func TestAllotmentLimitsWaitingRoomAndOldestFirst(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 10)
	f.allotment("sales", skuE3, 2)
	g := f.group(1)
	f.must(f.e.AssignThroughAllotment(f.op(), "sales", g, nil))
	var us []string
	for i := 1; i <= 4; i++ {
		us = append(us, f.user(i))
		f.add(g, us[i-1])
	}
	if !f.holdsIn(us[0], "sales") || !f.holdsIn(us[1], "sales") || f.holdsIn(us[2], "sales") {
		t.Fatal("allotment did not cap at its units")
	}
	if w := f.e.AllotmentWaiting("sales"); len(w) != 2 || w[0].UserID != us[2] {
		t.Fatalf("waiting members %+v", w)
	}
	// The general pool still has all its 8 units: one allotment's full
	// waiting room never draws from it. consumedUnits counts both.
	if p, _ := f.e.Pool(skuE3); p.Consumed != 2 || p.Allotted != 2 || p.Waiting != 0 || f.e.pools[skuE3].consumed != 0 {
		t.Fatalf("pool %+v, general consumed %d", p, f.e.pools[skuE3].consumed)
	}
	f.remove(g, us[0])
	if !f.holdsIn(us[2], "sales") || f.holdsIn(us[3], "sales") {
		t.Fatal("oldest waiter not admitted when a unit freed")
	}
	f.allotment("sales", skuE3, 3) // raising the limit admits the next
	if !f.holdsIn(us[3], "sales") {
		t.Fatal("raising units did not admit the waiter")
	}
	x, err := f.e.Explain(us[3], skuE3)
	f.must(err)
	if len(x.Allotments) != 1 || !x.Allotments[0].HoldsUnit || !strings.Contains(x.Sources[0].Via, "through allotment Allotment sales") {
		t.Fatalf("explain: %+v", x)
	}
}

func TestTwoAllotmentsOfOneSKUAndAUserInBoth(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 10)
	f.allotment("a", skuE3, 1)
	f.allotment("b", skuE3, 1)
	u1, u2 := f.user(1), f.user(2)
	f.must(f.e.AssignThroughAllotment(f.op(), "a", u1, nil))
	f.must(f.e.AssignThroughAllotment(f.op(), "b", u1, nil))
	f.must(f.e.AssignThroughAllotment(f.op(), "a", u2, nil))
	// u1 consumes one unit of each allotment; u2 waits in a, not taking b's.
	if !f.holdsIn(u1, "a") || !f.holdsIn(u1, "b") || f.holdsIn(u2, "a") || f.holdsIn(u2, "b") {
		t.Fatal("units not kept per allotment")
	}
	infos := f.e.Allotments()
	if infos[0].ConsumedUnits != 1 || infos[0].Waiting != 1 || infos[1].ConsumedUnits != 1 {
		t.Fatalf("allotments %+v", infos)
	}
	if got := len(f.e.EnabledPlans(u1, skuE3)); got != 3 {
		t.Fatalf("usage rights of a user in two allotments: %d plans", got)
	}
}

func TestAllotmentUnitRefusals(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	for i := 1; i <= 3; i++ {
		f.add(g, f.user(i))
	}
	// 3 seats are used outside allotments: only 2 units can be allotted.
	err := f.e.PutAllotment(f.op(), Allotment{ID: "x", DisplayName: "X", SKUID: skuE3, AllottedUnits: 3})
	if allot.ErrorCode(err) != allot.ECONFLICT || !strings.Contains(err.Error(), "remove 1 assignment(s)") {
		t.Fatalf("allotting seats in use: %v", err)
	}
	err = f.e.PutAllotment(f.op(), Allotment{ID: "x", DisplayName: "X", SKUID: skuE3, AllottedUnits: 6})
	if allot.ErrorCode(err) != allot.ECONFLICT || !strings.Contains(err.Error(), "the most this allotment can have is 5") {
		t.Fatalf("over the subscription: %v", err)
	}
	f.allotment("x", skuE3, 2)
	u := f.user(9)
	f.must(f.e.AssignThroughAllotment(f.op(), "x", u, nil))
	f.must(f.e.AssignThroughAllotment(f.op(), "x", f.user(10), nil))
	err = f.e.PutAllotment(f.op(), Allotment{ID: "x", DisplayName: "X", AllottedUnits: 1})
	if allot.ErrorCode(err) != allot.ECONFLICT || !strings.Contains(err.Error(), "remove at least 1 assignment(s)") {
		t.Fatalf("lowering below use: %v", err)
	}
	err = f.e.SetUnits(f.op(), skuE3, Units{Enabled: 4})
	if allot.ErrorCode(err) != allot.ECONFLICT {
		t.Fatalf("subscription below general use plus allotments: %v", err)
	}
	wantErr(t, f.e.DeleteAllotment(f.op(), "x"), "remove them before deleting it")
	wantErr(t, f.e.PutAllotment(f.op(), Allotment{ID: "y", DisplayName: "Y", SKUID: skuE5, AllottedUnits: 1}), "does not correspond to a valid company License")
	// Owner and name changes keep the units and the queue.
	f.must(f.e.PutAllotment(f.op(), Allotment{ID: "x", DisplayName: "Renamed", AllottedUnits: 2, Owners: []string{"owner@x"}}))
	if a, _ := f.e.AllotmentByID("x"); a.DisplayName != "Renamed" || a.ConsumedUnits != 2 || a.Owners[0] != "owner@x" {
		t.Fatalf("after rename: %+v", a)
	}
	f.must(f.e.RemoveFromAllotment(f.op(), "x", u))
	if f.holdsIn(u, "x") {
		t.Fatal("unit kept after removal")
	}
}

func TestReloadKeepsAllotments(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 5)
	f.allotment("a", skuE3, 1)
	g := f.group(1)
	f.must(f.e.AssignThroughAllotment(f.op(), "a", g, []string{planTeams}))
	f.add(g, f.user(1), f.user(2))
	n := reload(t, f.e, f.now)
	if d := n.TakeDelta(); len(d.Licenses) != 0 {
		t.Fatalf("recompute changed %d licenses", len(d.Licenses))
	}
	if dump(n) != dump(f.e) {
		t.Fatalf("reload differs:\n%s\n%s", dump(n), dump(f.e))
	}
}

// TestGroupAssignLicenseKeepsAllotmentAssignments: a Graph assignLicense
// adding or removing a group's general-pool license of a SKU leaves the
// group's assignment of that SKU through an allotment alone (before, the
// allotment's source vanished from memory while its record stayed in the
// store, and the allotment's members lost their units).
func TestGroupAssignLicenseKeepsAllotmentAssignments(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 10)
	f.allotment("sales", skuE3, 2)
	g := f.group(1)
	u := f.user(1)
	f.add(g, u)
	f.must(f.e.AssignThroughAllotment(f.op(), "sales", g, nil))
	assigned := func() bool {
		for _, a := range f.e.AllotmentAssignments("sales") {
			if a.TargetID == g {
				return true
			}
		}
		return false
	}
	f.groupLicense(g, lic(skuE3))
	if !assigned() || !f.holdsIn(u, "sales") || len(f.e.GroupLicenses(g)) != 2 {
		t.Fatalf("adding the general-pool license dropped the allotment's: %+v", f.e.GroupLicenses(g))
	}
	f.must(f.e.AssignGroupLicenses(f.op(), g, nil, []string{skuE3}))
	if !assigned() || !f.holdsIn(u, "sales") || len(f.e.GroupLicenses(g)) != 1 {
		t.Fatalf("removing the general-pool license dropped the allotment's: %+v", f.e.GroupLicenses(g))
	}
	if err := checkInvariants(f.e); err != nil {
		t.Fatal(err)
	}
	if a, b := dump(f.e), dump(reload(t, f.e, f.now)); a != b {
		t.Fatalf("incremental state differs from a reload:\n%s\n%s", a, b)
	}
}

// A license assigned to the user itself needs the user's own usage
// location, directly or through an allotment: one rule, as Graph refuses
// a direct assignment without one (the tenant default serves groups).
func TestDirectAssignmentThroughAnAllotmentNeedsAUsageLocation(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 10)
	f.units(skuPhone, 10)
	f.allotment("a", skuE3, 2)
	f.allotment("p", skuPhone, 2)
	nowhere := f.user(1, func(u *User) { u.UsageLocation = "" })
	for _, err := range []error{
		f.e.AssignUserLicenses(f.op(), nowhere, []AssignedLicense{lic(skuE3)}, nil),
		f.e.AssignThroughAllotment(f.op(), "a", nowhere, nil),
	} {
		if allot.ErrorCode(err) != allot.EINVALID || allot.ErrorMessage(err) != msgInvalidUsageLocation {
			t.Fatalf("want Graph's usage location refusal, got %v", err)
		}
	}
	if len(f.e.Licenses(nowhere)) != 0 || len(f.e.AllotmentAssignments("a")) != 0 {
		t.Fatal("a refused assignment changed the tenant")
	}
	// Where the product is not available, both are refused too.
	kp := f.user(2, func(u *User) { u.UsageLocation = "KP" })
	e1 := f.e.AssignUserLicenses(f.op(), kp, []AssignedLicense{lic(skuPhone)}, nil)
	e2 := f.e.AssignThroughAllotment(f.op(), "p", kp, nil)
	if allot.ErrorCode(e1) != allot.EINVALID || e1.Error() != e2.Error() {
		t.Fatalf("one rule, two answers: %v / %v", e1, e2)
	}
	// Through a group, the tenant default serves.
	g := f.group(1)
	f.must(f.e.AssignThroughAllotment(f.op(), "a", g, nil))
	f.add(g, nowhere)
	if !f.holdsIn(nowhere, "a") {
		t.Fatal("a group assignment should use the tenant's default location")
	}
}

// Explain's top-level answer covers allotment pools: a user who waits only
// in an allotment is waiting, at its place in the allotment's room.
func TestExplainAnAllotmentWaiter(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 10)
	f.allotment("a", skuE3, 1)
	u1, u2, u3 := f.user(1), f.user(2), f.user(3)
	for _, u := range []string{u1, u2, u3} {
		f.must(f.e.AssignThroughAllotment(f.op(), "a", u, nil))
	}
	x, err := f.e.Explain(u3, skuE3)
	f.must(err)
	if !x.Waiting || x.HoldsSeat || x.WaitingPosition != 2 || x.WaitingCount != 2 || x.WaitingInAllotment != "a" || x.WaitingSince == nil {
		t.Fatalf("top level: waiting %v holds %v position %d of %d in %q", x.Waiting, x.HoldsSeat, x.WaitingPosition, x.WaitingCount, x.WaitingInAllotment)
	}
	if len(x.Allotments) != 1 || x.Allotments[0].WaitingPosition != x.WaitingPosition || x.Allotments[0].WaitingCount != x.WaitingCount {
		t.Fatalf("allotments[] %+v contradicts the top level", x.Allotments)
	}
	if !strings.Contains(x.Summary, "position 2 of 2") || !strings.Contains(x.Summary, "allotment Allotment a") || strings.Contains(x.Sources[0].Reason, "position 0") {
		t.Fatalf("summary %q, reason %q", x.Summary, x.Sources[0].Reason)
	}
	// A holder in the allotment holds a seat and does not wait.
	x, _ = f.e.Explain(u1, skuE3)
	if !x.HoldsSeat || x.Waiting || x.HeldSince == nil {
		t.Fatalf("holder: %+v", x)
	}
}
