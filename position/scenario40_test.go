package position_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"allot/position"
)

// Issue 18's scenario: a 40-user tenant with a capped product, an
// allotment with a waiting user, idle, never-used, disabled, guest and new
// seats, an unlicensed user, prices and usage — its position computed by
// hand, every row, finding and money figure.
//
// Prices (USD a month): SPB 22, SPE_E5 57, SPE_E3 36, VISIOCLIENT 15,
// EXCHANGESTANDARD 4. SPB's seat limit is set to 4 (Microsoft's is 300) so
// that it binds. "M/O/I" is mail, desktop Office and Intune, which SPB, E3
// and E5 all meet (E3 the cheapest without SPB).
//
//	a01        SPB, M/O/I                      used; a cap candidate (SPB 22 < E3 36), already holds it
//	a02, a03   SPE_E5, M/O/I + Safe Links      E5 is their next best (57): SPB saves 35
//	a04–a13    SPE_E3, M/O/I                   SPB saves 14
//	a14–a16    SPE_E3, last sign-in 2024-04-15 idle
//	a17, a18   SPE_E3, no usage                never activated
//	a19        SPE_E3, disabled                disabled account
//	a20        SPE_E3, guest, Teams chat       guest
//	a21–a23    Design group, through a 2-unit VISIOCLIENT allotment, Visio used; a23 waits in it
//	a24, a25   SPE_E3 granted 2024-06-20, no usage: new seats
//	a26        no license, mail                underLicensed: Exchange Online Plan 1 (+4)
//	a27–a40    SPE_E3, M/O/I                   SPB saves 14
//
// Units: SPB 1, SPE_E5 3, SPE_E3 34, VISIOCLIENT 4 (2 allotted),
// EXCHANGESTANDARD 1.
func TestScenarioOfFortyUsersComputedByHand(t *testing.T) {
	defer position.SeatLimitMax(4)()
	e := newEnv(t)
	e.units(grant, "SPB=1", "SPE_E5=3", "SPE_E3=34", "VISIOCLIENT=4", "EXCHANGESTANDARD=1")
	id := func(n int) string { return fmt.Sprintf("a%02d", n) }
	moi := func(u string) []string {
		return []string{u + " exchangeMailbox 2024-06-20", u + " officeDesktopApps 2024-06-21", u + " intuneDeviceManagement 2024-06-22"}
	}
	var uses []string
	e.user(grant, id(1), nil, "SPB")
	uses = append(uses, moi(id(1))...)
	for _, n := range []int{2, 3} {
		e.user(grant, id(n), nil, "SPE_E5")
		uses = append(uses, append(moi(id(n)), id(n)+" safeLinks 2024-06-23")...)
	}
	for n := 4; n <= 13; n++ {
		e.user(grant, id(n), nil, "SPE_E3")
		uses = append(uses, moi(id(n))...)
	}
	for n := 14; n <= 18; n++ {
		e.user(grant, id(n), nil, "SPE_E3")
	}
	e.user(grant, id(19), disabled, "SPE_E3")
	e.user(grant, id(20), guest, "SPE_E3")
	uses = append(uses, id(20)+" teamsChat 2024-06-25")
	for n := 21; n <= 23; n++ {
		e.user(grant, id(n), nil)
		uses = append(uses, id(n)+" visioDesktopApp 2024-06-24")
	}
	e.user(grant, id(26), nil)
	uses = append(uses, id(26)+" exchangeMailbox 2024-06-26")
	for n := 27; n <= 40; n++ {
		e.user(grant, id(n), nil, "SPE_E3")
		uses = append(uses, moi(id(n))...)
	}
	e.allotmentGroup("VISIOCLIENT", 2, id(21), id(22), id(23))
	fresh := time.Date(2024, 6, 20, 9, 0, 0, 0, time.UTC)
	e.user(fresh, id(24), nil, "SPE_E3")
	e.user(fresh, id(25), nil, "SPE_E3")
	e.price("SPB=22", "SPE_E5=57", "SPE_E3=36", "VISIOCLIENT=15", "EXCHANGESTANDARD=4")
	e.uses(uses...)
	for n := 14; n <= 16; n++ {
		e.signIn(id(n), "2024-04-15T08:00:00Z")
	}
	p := e.position()

	checkFortyRows(t, p)
	checkFortyFindings(t, p)

	// Money: savings 35 + 35 + 14 + 7 × 36 = 336; cost of fixes 4; owned
	// units 22 + 3·57 + 34·36 + 4·15 + 4 = 1,481.
	tt := p.Totals
	if *tt.MonthlySavings != 336 || *tt.AdditionalCost != 4 || *tt.MonthlyCost != 1481 || tt.Findings != 12 ||
		tt.Owned != 43 || tt.Assigned != 38 || tt.Required != 33 || tt.Used != 29 || tt.Waiting != 1 || tt.Users != 40 {
		t.Errorf("totals %+v savings %v cost of fixes %v cost %v", tt, *tt.MonthlySavings, *tt.AdditionalCost, *tt.MonthlyCost)
	}
	if !strings.Contains(strings.Join(p.Notes, " "), "at most 4 seats of Microsoft 365 Business Premium (SPB) to a tenant: the cheapest covers give them to the users they save most on; the other users who would save with them get their next best cover") {
		t.Errorf("notes %q", p.Notes)
	}
}

// checkFortyRows: each product's row of the forty users' position, figure
// by figure, its seats, and E3's costs.
func checkFortyRows(t *testing.T, p *position.Position) {
	type fig struct{ owned, assigned, free, allottedUnused, used, required, waiting, reqWaiting, reqUnheld, surplus, shortfall int }
	want := map[string]fig{
		"SPB":              {1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0},
		"SPE_E5":           {3, 2, 1, 0, 2, 2, 0, 0, 0, 1, 0},
		"SPE_E3":           {34, 33, 1, 0, 24, 26, 0, 0, 0, 8, 0}, // used: a04–a13, a27–a40; required + the 2 new seats
		"VISIOCLIENT":      {4, 2, 2, 0, 2, 3, 1, 1, 0, 1, 0},     // a23 waits in the allotment and uses Visio
		"EXCHANGESTANDARD": {1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0},     // a26: the tenant's product with the fewest plans that has a mailbox
	}
	seats := map[string]position.SeatUse{
		"SPB": {Used: 1}, "SPE_E5": {Used: 2}, "VISIOCLIENT": {Used: 2}, "EXCHANGESTANDARD": {},
		"SPE_E3": {Used: 24, New: 2, Idle: 3, NeverActivated: 2, Disabled: 1, Guest: 1},
	}
	if len(p.SKUs) != len(want) {
		t.Fatalf("rows %+v", p.SKUs)
	}
	for part, w := range want {
		r := row(t, p, part)
		got := fig{r.Owned, r.Assigned, r.Free, r.AllottedUnused, r.Used, r.Required, r.Waiting, r.RequiredWaiting, r.RequiredUnheld, r.Surplus, r.Shortfall}
		if got != w || r.Seats != seats[part] {
			t.Errorf("%s: %+v seats %+v, want %+v seats %+v", part, got, r.Seats, w, seats[part])
		}
	}
	if r := row(t, p, "SPE_E3"); *r.MonthlyCost != 34*36 || r.Costs.Required != 26*36 || r.Costs.Surplus != 8*36 {
		t.Errorf("E3 costs %+v", r.Costs)
	}
}

// checkFortyFindings: the forty users' findings (kind, user, product,
// monthly delta, fix) and two fixes' descriptions.
func checkFortyFindings(t *testing.T, p *position.Position) {
	// Findings: kind, user, product, monthly delta, added, removed.
	var got []string
	for _, f := range p.AllFindings() {
		d := "null"
		if f.Fix.MonthlyDelta != nil {
			d = fmt.Sprint(*f.Fix.MonthlyDelta)
		}
		got = append(got, strings.Join([]string{f.Kind, f.UserID, f.SKUPartNumber, d, strings.Join(f.Fix.Add, "+"), strings.Join(f.Fix.Remove, "+")}, " "))
	}
	sort.Strings(got)
	wantF := []string{
		"disabledHoldingLicense a19 SPE_E3 -36  SPE_E3",
		"guestLicensed a20 SPE_E3 -36  SPE_E3",
		"idle a14 SPE_E3 -36  SPE_E3",
		"idle a15 SPE_E3 -36  SPE_E3",
		"idle a16 SPE_E3 -36  SPE_E3",
		"licenseErrors a23 VISIOCLIENT null  ", // raise the allotment: 2 units free outside it
		"neverActivated a17 SPE_E3 -36  SPE_E3",
		"neverActivated a18 SPE_E3 -36  SPE_E3",
		// The 4 SPB seats: a02, a03 (save 35), a01 (holds it), a04 (first
		// of those saving 14); the 23 others keep E3.
		"overAssigned a02 SPE_E5 -35 SPB SPE_E5",
		"overAssigned a03 SPE_E5 -35 SPB SPE_E5",
		"overAssigned a04 SPE_E3 -14 SPB SPE_E3",
		"underLicensed a26 EXCHANGESTANDARD 4 EXCHANGESTANDARD ",
	}
	if strings.Join(got, "\n") != strings.Join(wantF, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantF, "\n"))
	}
	le := findings(p, position.LicenseErrors)["a23"]
	if !strings.HasPrefix(le.Fix.Description, "Raise the allotment's units of Visio Plan 2 (VISIOCLIENT) by one") {
		t.Errorf("a23's fix %q", le.Fix.Description)
	}
	if f := findings(p, position.OverAssigned)["a04"]; f.Fix.Description != "Replace Microsoft 365 E3 (SPE_E3) with Microsoft 365 Business Premium (SPB): Microsoft 365 Business Premium (SPB) covers what the user used in the last 30 days." {
		t.Errorf("a04's fix %q", f.Fix.Description)
	}
}
