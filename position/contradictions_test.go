package position_test

import (
	"strings"
	"testing"
	"time"

	"allot/licensing"
	"allot/position"
	"allot/tenant"
)

// allotmentGroup carves units of a product into an allotment licensing a
// group, whose members are added in order (an hour apart).
func (e *env) allotmentGroup(part string, units int, members ...string) {
	e.t.Helper()
	e.do(grant, func(tx *tenant.Tx) error {
		if err := tx.Engine.PutAllotment(tx.Op, licensing.Allotment{ID: "al-" + part, DisplayName: "Sales " + part, SKUID: sku(e.t, part),
			AllottedUnits: units, AssignableTo: "user,group"}); err != nil {
			return err
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g-" + part, DisplayName: "Sales", SecurityEnabled: true}); err != nil {
			return err
		}
		return tx.Engine.AssignThroughAllotment(tx.Op, "al-"+part, "g-"+part, nil)
	})
	for i, u := range members {
		e.do(grant.Add(time.Duration(i+1)*time.Hour), func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g-"+part, []string{u}) })
	}
}

// Issue 18: "Buy 1 unit of SPE_E5 … 1 user already waits" with 2 units
// free — the waiter was in an allotment. The general pool's free units are
// not the allotment's: the fix raises the allotment, at no cost, and no
// seatsRunningOut finding asks to buy.
func TestAWaiterInAnAllotmentIsNotTheGeneralPoolsShortage(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E5=3")
	e.price("SPE_E5=57")
	e.user(grant, "ann", nil)
	e.user(grant, "bob", nil)
	e.allotmentGroup("SPE_E5", 1, "ann", "bob") // bob waits in the allotment; 2 units free outside it
	p := e.position()
	r := row(t, p, "SPE_E5")
	if r.Free != 2 || r.AllottedUnused != 0 || r.Waiting != 1 || r.Assigned != 1 || r.Owned+r.InGrace+r.Suspended != r.Assigned+r.Free+r.AllottedUnused {
		t.Fatalf("E5 row %+v", r)
	}
	le := findings(p, position.LicenseErrors)["bob"]
	if le.Fix.MonthlyDelta != nil || len(le.Fix.Add) != 0 || !strings.HasPrefix(le.Fix.Description, "Raise the allotment's units of Microsoft 365 E5 (SPE_E5) by one") {
		t.Fatalf("bob's fix %+v", le.Fix)
	}
	if f, ok := findings(p, position.SeatsRunningOut)["SPE_E5"]; ok {
		t.Fatalf("seatsRunningOut %+v", f)
	}
	if *p.Totals.AdditionalCost != 0 {
		t.Fatalf("cost of fixes %v", *p.Totals.AdditionalCost)
	}
}

// Issue 18: monthlyAdditionalCost counted a waiting user's seat twice —
// the unit to buy (licenseErrors) and the product to assign
// (underLicensed) for the needs the waited product meets.
func TestAWaitingUsersSeatIsCostedOnce(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E5=1")
	e.price(standardPrices...)
	e.do(grant, func(tx *tenant.Tx) error {
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "sales", DisplayName: "Sales", SecurityEnabled: true}); err != nil {
			return err
		}
		return tx.Engine.AssignGroupLicenses(tx.Op, "sales", []licensing.AssignedLicense{{SKUID: sku(t, "SPE_E5")}}, nil)
	})
	e.user(grant, "first", nil)
	e.user(grant, "second", nil)
	for i, u := range []string{"first", "second"} {
		e.do(grant.Add(time.Duration(i+1)*time.Hour), func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "sales", []string{u}) })
	}
	e.uses("first attackSimulation 2024-06-20", "second attackSimulation 2024-06-20", "second exchangeMailbox 2024-06-21")
	p := e.position()
	if u := findings(p, position.UnderLicensed); len(u) != 0 {
		t.Fatalf("underLicensed %+v", u)
	}
	if *p.Totals.AdditionalCost != 57 {
		t.Fatalf("cost of fixes %v, want one E5 unit (57)", *p.Totals.AdditionalCost)
	}
	// The waiting user's need is required of the product they wait for.
	if r := row(t, p, "SPE_E5"); r.Required != 2 || r.RequiredWaiting != 1 || r.Shortfall != 1 {
		t.Fatalf("E5 row %+v", r)
	}
}

// Issue 18: "Buy 22 units of SPE_E3" when every seat was granted within 30
// days (an import), and "Buy 21" while the row showed free seats and a
// surplus: no trend from grants all in the horizon, and the units to buy
// are net of the seats the findings free.
func TestSeatsRunningOutNeedsATrendAndCountsTheSeatsFindingsFree(t *testing.T) {
	recent := time.Date(2024, 6, 15, 9, 0, 0, 0, time.UTC)
	news := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10"}
	e := newEnv(t)
	e.units(grant, "SPE_E3=12")
	e.price("SPE_E3=36")
	for _, u := range news {
		e.user(recent, u, nil, "SPE_E3")
	}
	if f, ok := findings(e.position(), position.SeatsRunningOut)["SPE_E3"]; ok {
		t.Fatalf("every seat is new, yet %+v", f)
	}
	// Ten old seats, eight never used (the findings free them): 10 new
	// seats a month need 10, 2 are free, 8 freed: nothing to buy.
	e = newEnv(t)
	e.units(grant, "SPE_E3=22")
	e.price("SPE_E3=36")
	for _, u := range []string{"o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", "o9", "o10"} {
		e.user(grant, u, nil, "SPE_E3")
	}
	for _, u := range news {
		e.user(recent, u, nil, "SPE_E3")
	}
	e.uses("o1 exchangeMailbox 2024-06-20", "o2 exchangeMailbox 2024-06-20")
	p := e.position()
	r := row(t, p, "SPE_E3")
	if r.Free != 2 || r.Seats.NeverActivated != 8 || r.Seats.New != 10 {
		t.Fatalf("E3 row %+v", r)
	}
	if f, ok := findings(p, position.SeatsRunningOut)["SPE_E3"]; ok {
		t.Fatalf("the findings free enough seats, yet %+v", f)
	}
	// Without the findings' seats (all used), it asks for the 8.
	e.uses("o3 exchangeMailbox 2024-06-20", "o4 exchangeMailbox 2024-06-20", "o5 exchangeMailbox 2024-06-20", "o6 exchangeMailbox 2024-06-20",
		"o7 exchangeMailbox 2024-06-20", "o8 exchangeMailbox 2024-06-20", "o9 exchangeMailbox 2024-06-20", "o10 exchangeMailbox 2024-06-20")
	f, ok := findings(e.position(), position.SeatsRunningOut)["SPE_E3"]
	if !ok || f.Fix.Units != 8 || f.Fix.Description != "Buy 8 units of Microsoft 365 E3 (SPE_E3) to last the next 30 days." {
		t.Fatalf("seatsRunningOut %+v", f)
	}
}

// Issue 18: PROJECTPROFESSIONAL showed used 167 and required 0 (a
// cheaper cover left it out): required counts every seat used, whatever
// the prices.
func TestRequiredIsNeverBelowUsed(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E3=5", "PROJECTPROFESSIONAL=5")
	e.user(grant, "pm", nil, "SPE_E3", "PROJECTPROFESSIONAL")
	e.price("SPE_E3=36", "PROJECTPROFESSIONAL=30", "PROJECTPREMIUM=25")
	e.uses("pm projectDesktopApp 2024-06-20", "pm exchangeMailbox 2024-06-20")
	p := e.position()
	if r := row(t, p, "PROJECTPROFESSIONAL"); r.Used != 1 || r.Required < r.Used {
		t.Fatalf("Project row %+v", r)
	}
}

// Issue 18: "Required" changed when a price list was added (WORKPLACE_ANALYTICS
// 0→1, POWER_BI_PRO 1→4, SPE_E5 3→2). Prices choose the cheapest covers;
// the counts are usage and rules alone.
func TestRequiredDoesNotDependOnPrices(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E3=10", "SPE_E5=10", "VISIOCLIENT=10", "POWER_BI_PRO=5")
	e.user(grant, "ann", nil, "SPE_E3")
	e.user(grant, "bob", nil, "SPE_E5")
	e.user(grant, "cat", nil, "SPE_E3", "VISIOCLIENT")
	e.user(grant, "dan", nil, "SPE_E5", "POWER_BI_PRO")
	e.user(grant, "eve", nil)
	e.user(time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC), "new", nil, "SPE_E3")
	e.uses("ann exchangeMailbox 2024-06-20", "ann attackSimulation 2024-06-21", "bob teamsChat 2024-06-21",
		"cat exchangeMailbox 2024-06-20", "dan powerBIPro 2024-06-22", "dan exchangeMailbox 2024-06-22", "eve exchangeMailbox 2024-06-22")
	counts := func(p *position.Position) map[string][4]int {
		out := map[string][4]int{}
		for _, r := range p.SKUs {
			out[r.SKUPartNumber] = [4]int{r.Required, r.Used, r.RequiredWaiting, r.RequiredUnheld}
		}
		return out
	}
	before := counts(e.position())
	e.price(standardPrices...)
	p := e.position()
	after := counts(p)
	for part, c := range before {
		if after[part] != c {
			t.Errorf("%s: required, used, waiting, unheld %v without prices, %v with", part, c, after[part])
		}
	}
	if len(after) != len(before) {
		t.Errorf("rows %v, then %v", before, after)
	}
	// A product without a price is said so, counts unchanged.
	if r := row(t, p, "POWER_BI_PRO"); !r.PriceMissing || r.Costs != nil || r.Required != before["POWER_BI_PRO"][0] {
		t.Fatalf("Power BI row %+v", r)
	}
	if !strings.Contains(strings.Join(p.Notes, " "), "Power BI Pro (POWER_BI_PRO)") {
		t.Fatalf("notes %q", p.Notes)
	}
}
