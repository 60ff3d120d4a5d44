package position_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"allot/position"
)

// A seat limit binds across users: the capped product goes to the users it
// saves most on (then in directory order), as many as the limit leaves after
// the seats held by others; the rest get the next best cover, and a note
// says so.
func TestASeatLimitGivesTheCappedProductToTheUsersItSavesMostOn(t *testing.T) {
	defer position.SeatLimitMax(3)()
	e := newEnv(t)
	e.units(grant, "SPE_E3=10", "SPE_E5=10", "SPB=1")
	e.user(grant, "keeper", nil, "SPB") // holds one of the 3 seats
	for _, u := range []string{"a3", "b3", "c3"} {
		e.user(grant, u, nil, "SPE_E3") // E3 36 → SPB 22: saves 14
	}
	e.user(grant, "d5", nil, "SPE_E5") // uses Safe Links: E5 57 is the next best, SPB 22 saves 35
	e.price("SPE_E3=36", "SPE_E5=57", "SPB=22")
	var uses []string
	for _, u := range []string{"keeper", "a3", "b3", "c3", "d5"} {
		uses = append(uses, u+" exchangeMailbox 2024-06-20", u+" officeDesktopApps 2024-06-21", u+" intuneDeviceManagement 2024-06-22")
	}
	e.uses(append(uses, "d5 safeLinks 2024-06-23")...)
	p := e.position()
	over := findings(p, position.OverAssigned)
	// 3 seats less keeper's: 2 users; d5 saves most (35 against E5, its
	// next best), then a3 (14 against E3; directory order among equal
	// savings). b3 and c3 keep E3, their next best: no finding.
	expect(t, over, "d5", "SPE_E5", -35, "SPB", "SPE_E5")
	expect(t, over, "a3", "SPE_E3", -14, "SPB", "SPE_E3")
	if len(over) != 2 {
		t.Fatalf("overAssigned %v", keys(over))
	}
	if *p.Totals.MonthlySavings != 49 || p.Totals.FindingsByKind[position.OverAssigned] != 2 || p.FindingCount() != len(p.AllFindings()) {
		t.Fatalf("totals %+v", p.Totals)
	}
	if !strings.Contains(strings.Join(p.Notes, " "), "at most 3 seats of Microsoft 365 Business Premium (SPB)") ||
		!strings.Contains(strings.Join(p.Notes, " "), "the other users who would save with them get their next best cover") {
		t.Fatalf("notes %q", p.Notes)
	}
	// Without the limit binding, everyone moves.
	restore := position.SeatLimitMax(300)
	defer restore()
	if n := len(findings(e.position(), position.OverAssigned)); n != 4 {
		t.Fatalf("%d overAssigned without a binding limit", n)
	}
}

// A product not sold to the tenant's kind, or not among what it may buy,
// is never a cover's choice.
func TestCoversChooseOnlyWhatTheTenantMayBuy(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E5=10")
	e.user(grant, "bob", nil, "SPE_E5")
	e.uses("bob exchangeMailbox 2024-06-20", "bob officeDesktopApps 2024-06-21", "bob intuneDeviceManagement 2024-06-22")
	e.price("SPE_E3=36", "SPE_E5=57", "M365EDU_A3_FACULTY=3")
	if f := findings(e.position(), position.OverAssigned)["bob"]; strings.Join(f.Fix.Add, "+") != "SPE_E3" {
		t.Fatalf("a commercial tenant: %+v", f.Fix)
	}
	e.priceList(func(l *pricesList) { l.TenantKind = "education" })
	if f := findings(e.position(), position.OverAssigned)["bob"]; strings.Join(f.Fix.Add, "+") != "M365EDU_A3_FACULTY" {
		t.Fatalf("an education tenant: %+v", f.Fix)
	}
	e.priceList(func(l *pricesList) { l.TenantKind = "education"; l.MayBuy = []string{"SPE_E5"} })
	if f, ok := findings(e.position(), position.OverAssigned)["bob"]; ok {
		t.Fatalf("may buy E5 only: %+v", f.Fix)
	}
}

// The gate of the seat limits (a user holding no capped product is not
// solved with them once every limit is used up and has a candidate) is a
// shortcut: on random tenants with binding limits, computed by one worker
// or several taking small chunks, the position is the same with and
// without it.
func TestTheSeatLimitGateChangesNothing(t *testing.T) {
	pl := loadPrices(t)
	n := 60
	if testing.Short() {
		n = 15
	}
	render := func(p *position.Position) []byte {
		p.Totals.CoverProblems = 0 // the distinct problems solved: fewer with the gate
		var b bytes.Buffer
		if err := p.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	skips0 := position.CapSkips()
	for seed := int64(1); seed <= int64(n); seed++ {
		e, u, asOf := randomTenant(t, seed)
		restore := position.SeatLimitMax(1 + int(seed)%4)
		in := position.Input{Engine: e, Usage: u, Prices: pl, AsOf: asOf, Now: time.Unix(0, 0)}
		off := position.CapGate(false)
		want := render(position.Compute(in))
		off()
		for _, split := range [][2]int{{1, 1}, {1, 3}} {
			r1, r2 := position.Split(1, split[1]), position.ChunkUsers(1+int(seed)%5)
			got := render(position.Compute(in))
			r1()
			r2()
			if !bytes.Equal(got, want) {
				t.Fatalf("seed %d, %d workers: the position differs with the gate:\n%s", seed, split[1], firstDiff(got, want))
			}
		}
		restore()
	}
	if position.CapSkips() == skips0 {
		t.Fatal("the gate never spared a solve: the test compares nothing")
	}
}
