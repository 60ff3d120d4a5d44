package position_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"allot/licensing"
	"allot/position"
	"allot/prices"
	"allot/tenant"
	"allot/usage"
)

// Users of one E3/E5 estate: who uses what, and the fixes at list prices
// (E3 36, E5 57, Defender for Office P2 5, Exchange Plan 1 4, Plan 2 8,
// Archiving 3, Visio 15, Office E1 10).
func TestUnderAndOverAssignedUsersGetTheirCheapestCover(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E3=10", "SPE_E5=10", "VISIOCLIENT=10")
	e.user(grant, "ann", nil, "SPE_E3") // E3 user attacking herself with simulations: needs Defender P2
	e.user(grant, "bob", nil, "SPE_E5") // E5 user using E3 things only
	e.user(grant, "cat", nil, "SPE_E3", "VISIOCLIENT")
	e.user(grant, "dan", nil, "SPE_E3") // uses exactly E3
	e.user(grant, "eve", nil, "SPE_E3") // uses mail and Teams only: Office E1 does
	e.user(grant, "fay", nil)           // unlicensed, reads mail
	e.price(standardPrices...)
	office := []string{"exchangeMailbox 2024-06-20", "teamsChat 2024-06-21", "officeDesktopApps 2024-06-22", "intuneDeviceManagement 2024-06-23"}
	var uses []string
	for _, u := range []string{"ann", "bob", "cat", "dan"} {
		for _, o := range office {
			uses = append(uses, u+" "+o)
		}
	}
	uses = append(uses, "ann attackSimulation 2024-06-25", "eve exchangeMailbox 2024-06-10", "eve teamsMeeting 2024-06-11",
		"fay exchangeMailbox 2024-06-12")
	e.uses(uses...)
	p := e.position()

	under := findings(p, position.UnderLicensed)
	// Ann: Defender P2 alone (+5) is as cheap as any replacement (E3+P2 = 41
	// against 36 held): add it.
	expect(t, under, "ann", "THREAT_INTELLIGENCE", 5, "THREAT_INTELLIGENCE", "")
	if ev := under["ann"].Evidence[0]; ev.Feature != "attackSimulation" || ev.Source != position.SourceEvent || ev.ActiveDays != 1 ||
		!strings.Contains(strings.Join(ev.ServicePlans, ","), "THREAT_INTELLIGENCE") {
		t.Fatalf("ann's evidence %+v", ev)
	}
	// Fay reads mail without a license: Exchange Plan 1 is the cheapest.
	expect(t, under, "fay", "EXCHANGESTANDARD", 4, "EXCHANGESTANDARD", "")
	if len(under) != 2 {
		t.Fatalf("underLicensed %v", keys(under))
	}

	over := findings(p, position.OverAssigned)
	expect(t, over, "bob", "SPE_E5", -21, "SPE_E3", "SPE_E5")
	expect(t, over, "cat", "VISIOCLIENT", -15, "", "VISIOCLIENT")
	expect(t, over, "eve", "SPE_E3", -26, "STANDARDPACK", "SPE_E3")
	if len(over) != 3 {
		t.Fatalf("overAssigned %v", keys(over))
	}

	// Required is usage and rules, not prices: E3 for ann, cat, dan, eve
	// (used) and fay (who holds nothing that meets her mail: the product
	// the tenant owns with the fewest plans that does); E5 for bob (used)
	// and ann (Defender P2: E5 is the tenant's product with it).
	if r := row(t, p, "SPE_E3"); r.Owned != 10 || r.Assigned != 4 || r.Required != 5 || r.Used != 4 || r.RequiredUnheld != 1 || r.Surplus != 5 ||
		*r.MonthlyCost != 360 || r.Costs.Required != 180 {
		t.Fatalf("E3 row %+v", r)
	}
	if r := row(t, p, "SPE_E5"); r.Assigned != 1 || r.Required != 2 || r.Used != 1 || r.RequiredUnheld != 1 || r.Surplus != 8 {
		t.Fatalf("E5 row %+v", r)
	}
	// Savings: 21 + 15 + 26; added cost: 5 + 4.
	if *p.Totals.MonthlySavings != 62 || *p.Totals.AdditionalCost != 9 || *p.Currency != "USD" {
		t.Fatalf("totals %+v", p.Totals)
	}
	if got := p.Totals.UnderLicensedBy; len(got) != 2 || got[0].Users != 1 {
		t.Fatalf("underLicensed features %+v", got)
	}
}

func TestIdleNeverActivatedDisabledAndGuestSeatsAreWaste(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E3=20")
	e.user(grant, "long", nil, "SPE_E3")      // last seen in March: idle 90 days
	e.user(grant, "short", nil, "SPE_E3")     // last seen mid-May: idle 30 days
	e.user(grant, "never", nil, "SPE_E3")     // granted in January, never seen
	e.user(grant, "off", disabled, "SPE_E3")  // disabled account
	e.user(grant, "visitor", guest, "SPE_E3") // a guest, active
	e.user(grant, "busy", nil, "SPE_E3")      // active: nothing to say
	fresh := time.Date(2024, 6, 20, 9, 0, 0, 0, time.UTC)
	e.user(fresh, "newbie", nil, "SPE_E3") // granted ten days ago: not judged yet
	e.price("SPE_E3=36")
	e.signIn("long", "2024-03-15T08:00:00Z")
	e.signIn("short", "2024-05-20T08:00:00Z")
	e.signIn("visitor", "2024-06-29T08:00:00Z")
	e.uses("busy exchangeMailbox 2024-06-29", "busy officeDesktopApps 2024-06-29", "busy intuneDeviceManagement 2024-06-29",
		"visitor teamsChat 2024-06-29")
	p := e.position()

	idle := findings(p, position.Idle)
	expect(t, idle, "long", "SPE_E3", -36, "", "SPE_E3")
	expect(t, idle, "short", "SPE_E3", -36, "", "SPE_E3")
	if !strings.Contains(idle["long"].Evidence[0].Detail, "90 days") || !strings.Contains(idle["short"].Evidence[0].Detail, "30 days") {
		t.Fatalf("idle evidence %+v / %+v", idle["long"].Evidence, idle["short"].Evidence)
	}
	if l := idle["short"].Evidence[0].Last; l == nil || l.Format(time.DateOnly) != "2024-05-20" {
		t.Fatalf("last activity %v", l)
	}
	if len(idle) != 2 {
		t.Fatalf("idle %v", keys(idle))
	}
	never := findings(p, position.NeverActivated)
	expect(t, never, "never", "SPE_E3", -36, "", "SPE_E3")
	if len(never) != 1 {
		t.Fatalf("neverActivated %v", keys(never))
	}
	expect(t, findings(p, position.DisabledHoldingLicense), "off", "SPE_E3", -36, "", "SPE_E3")
	expect(t, findings(p, position.GuestLicensed), "visitor", "SPE_E3", -36, "", "SPE_E3")
	for _, f := range p.AllFindings() {
		if f.UserID == "busy" || f.UserID == "newbie" {
			t.Fatalf("unexpected finding %+v", f)
		}
	}
	// Required: busy's E3 (used) and newbie's seat in its first days; the
	// guest's seat, used but removed by its finding, is neither used nor
	// required.
	if r := row(t, p, "SPE_E3"); r.Assigned != 7 || r.Required != 2 || r.Used != 1 || r.Seats != (position.SeatUse{Used: 1, New: 1, Idle: 2, NeverActivated: 1, Disabled: 1, Guest: 1}) {
		t.Fatalf("E3 row %+v", r)
	}
	if *p.Totals.MonthlySavings != 5*36 {
		t.Fatalf("savings %v", *p.Totals.MonthlySavings)
	}
}

func TestSharedMailboxesAndServiceAccountsNeedLicensesOnlyWhenTheyMust(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "EXCHANGESTANDARD=10")
	e.user(grant, "big", sharedKind, nil...)                    // 60 GB: needs Exchange Online Plan 2
	e.user(grant, "archived", nil, nil...)                      // a person-kind account whose mailbox is shared, with an archive
	e.user(grant, "small", sharedKind, "EXCHANGESTANDARD")      // 5 GB, licensed for nothing
	e.user(grant, "frontdesk", sharedKind, nil...)              // signed into directly
	e.user(grant, "held", sharedKind, nil...)                   // litigation hold
	e.user(grant, "robot", serviceAccount, nil...)              // sends mail through Exchange
	e.user(grant, "robot2", serviceAccount, "EXCHANGESTANDARD") // licensed: fine
	e.price(standardPrices...)
	e.mailboxes("big,64424509440,False,SharedMailbox,False", "archived,10737418240,True,SharedMailbox,False",
		"small,5368709120,False,SharedMailbox,False", "frontdesk,1073741824,False,SharedMailbox,False",
		"held,1073741824,False,SharedMailbox,True")
	e.signIn("frontdesk", "2024-06-10T08:00:00Z")
	e.uses("robot exchangeMailbox 2024-06-15", "robot2 exchangeMailbox 2024-06-15")
	p := e.position()

	sm := findings(p, position.SharedMailbox)
	expect(t, sm, "big", "EXCHANGEENTERPRISE", 8, "EXCHANGEENTERPRISE", "")
	// Plan 1 + Exchange Online Archiving (7) is cheaper than Plan 2 (8).
	expect(t, sm, "archived", "EXCHANGESTANDARD", 7, "EXCHANGESTANDARD+EXCHANGEARCHIVE_ADDON", "")
	expect(t, sm, "held", "EXCHANGESTANDARD", 7, "EXCHANGESTANDARD+EXCHANGEARCHIVE_ADDON", "")
	expect(t, sm, "small", "EXCHANGESTANDARD", -4, "", "EXCHANGESTANDARD")
	expect(t, sm, "frontdesk", "EXCHANGESTANDARD", 4, "EXCHANGESTANDARD", "")
	if ev := sm["big"].Evidence[0]; ev.Source != position.SourceMailbox || !strings.Contains(ev.Detail, "60 GB") {
		t.Fatalf("big's evidence %+v", ev)
	}
	if ev := sm["frontdesk"].Evidence[0]; ev.Source != position.SourceSignIn || ev.ActiveDays != 1 {
		t.Fatalf("frontdesk's evidence %+v", ev)
	}
	if len(sm) != 5 {
		t.Fatalf("sharedMailbox %v", keys(sm))
	}
	sa := findings(p, position.ServiceAccount)
	expect(t, sa, "robot", "EXCHANGESTANDARD", 4, "EXCHANGESTANDARD", "")
	if len(sa) != 1 {
		t.Fatalf("serviceAccount %v", keys(sa))
	}
	// A disabled shared mailbox is not a disabled user holding a license.
	if len(findings(p, position.DisabledHoldingLicense)) != 0 {
		t.Fatal("shared mailboxes reported as disabled accounts")
	}
}

func TestLicenseErrorsAndSeatsRunningOut(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E5=1", "SPE_E3=11")
	e.price("SPE_E5=57", "SPE_E3=36")
	e.user(grant, "u0", nil, "SPE_E3") // an older seat: the grants of June are a trend
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
	// Nine E3 seats granted in June, one before: one left; nine a month
	// runs out in days.
	recent := time.Date(2024, 6, 15, 9, 0, 0, 0, time.UTC)
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"} {
		e.user(recent, u, nil, "SPE_E3")
	}
	p := e.position()

	le := findings(p, position.LicenseErrors)
	expect(t, le, "second", "SPE_E5", 57, "SPE_E5", "")
	if f := le["second"]; f.GroupID != "sales" || !strings.Contains(f.Evidence[0].Detail, "CountViolation") {
		t.Fatalf("license error %+v", f)
	}
	if len(le) != 1 {
		t.Fatalf("licenseErrors %v", keys(le))
	}
	run := findings(p, position.SeatsRunningOut)
	// E5: one user waits (no new grants): nothing to forecast, seats are out.
	if f, ok := run["SPE_E5"]; !ok || f.Fix.Units != 0 || f.Fix.MonthlyDelta != nil {
		t.Fatalf("E5 running out %+v", f)
	}
	// E3: 9 grants in 30 days = 0.3 a day; 1 free seat lasts 3 days; 9
	// seats for the next 30 days, 1 free: buy 8 (8 × 36).
	expect(t, run, "SPE_E3", "SPE_E3", 288, "SPE_E3", "")
	if run["SPE_E3"].Fix.Units != 8 {
		t.Fatalf("units %d", run["SPE_E3"].Fix.Units)
	}
	if r := row(t, p, "SPE_E5"); r.Waiting != 1 || r.Assigned != 1 {
		t.Fatalf("E5 row %+v", r)
	}
}

func TestWithoutPricesThePositionCountsAndSaysSo(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E3=5", "SPE_E5=5", "VISIOCLIENT=5")
	e.user(grant, "ann", nil, "SPE_E3", "VISIOCLIENT") // Visio unused
	e.user(grant, "bob", nil, "SPE_E3")                // needs Defender P2
	e.uses("ann exchangeMailbox 2024-06-20", "bob exchangeMailbox 2024-06-20", "bob attackSimulation 2024-06-21")
	p := e.position()
	if p.Currency != nil || len(p.Notes) == 0 || p.SKUs[0].MonthlyCost != nil || p.Totals.MonthlySavings != nil {
		t.Fatalf("currency %v notes %v", p.Currency, p.Notes)
	}
	over := findings(p, position.OverAssigned)
	if f, ok := over["ann"]; !ok || f.SKUPartNumber != "VISIOCLIENT" || f.Fix.MonthlyDelta != nil {
		t.Fatalf("overAssigned %+v", over)
	}
	under := findings(p, position.UnderLicensed)
	if f, ok := under["bob"]; !ok || f.Fix.MonthlyDelta != nil || !strings.Contains(f.Fix.Description, "SPE_E5") {
		t.Fatalf("underLicensed %+v", under)
	}
	// Required without prices: users who used a plan they hold only there.
	if r := row(t, p, "SPE_E3"); r.Required != 2 || r.Used != 2 {
		t.Fatalf("E3 row %+v", r)
	}
	if r := row(t, p, "VISIOCLIENT"); r.Required != 0 || r.Used != 0 || r.Surplus != 5 {
		t.Fatalf("Visio row %+v", r)
	}
}

func TestFindingIDsAreStableAcrossRuns(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E3=5")
	e.user(grant, "a", disabled, "SPE_E3")
	e.user(grant, "b", nil, "SPE_E3")
	e.uses("b exchangeMailbox 2024-06-20")
	p1 := e.position()
	e.user(grant.Add(time.Hour), "c", disabled, "SPE_E3")
	p2 := e.position()
	id1 := findings(p1, position.DisabledHoldingLicense)["a"].ID
	id2 := findings(p2, position.DisabledHoldingLicense)["a"].ID
	if id1 == "" || id1 != id2 || findings(p2, position.DisabledHoldingLicense)["c"].ID == id1 {
		t.Fatalf("ids %q %q", id1, id2)
	}
}

// With snapshots, the trend is the change in assigned seats since the
// oldest snapshot of the last 30 days: 6 more in 10 days, 2 free → out in 3
// days; 18 seats needed over 30 days, 2 free: buy 16.
func TestSeatsRunningOutFollowsTheSnapshotTrend(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E3=10")
	e.price("SPE_E3=36")
	for _, u := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		e.user(grant, u, nil, "SPE_E3")
	}
	var p *position.Position
	e.tn.Read(func(s *tenant.State) {
		p = position.Compute(position.Input{Engine: s.Engine, AsOf: usage.DayOf(asOf), Now: asOf,
			Prices: mustPrices(t, s), History: []position.HistoryPoint{
				{Day: usage.DayOf(asOf) - 40, Assigned: map[string]int{sku(t, "SPE_E3"): 1}}, // too old
				{Day: usage.DayOf(asOf) - 10, Assigned: map[string]int{sku(t, "SPE_E3"): 2}},
				{Day: usage.DayOf(asOf) - 5, Assigned: map[string]int{sku(t, "SPE_E3"): 5}},
			}})
	})
	f, ok := findings(p, position.SeatsRunningOut)["SPE_E3"]
	if !ok || f.Fix.Units != 16 || delta(f) != 16*36 || !strings.Contains(f.Evidence[0].Detail, "6 more seats assigned since the snapshot of 2024-06-20") {
		t.Fatalf("finding %+v", f)
	}
}

func mustPrices(t *testing.T, s *tenant.State) *prices.List {
	l, _, err := prices.Of(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The position reads usage.Aggregates through its non-copying views; the
// copies of Aggregates.User must give the same position.
func TestUsageViewsGiveTheSamePositionAsUsageCopies(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E3=10", "SPE_E5=10", "EXCHANGESTANDARD=10")
	e.user(grant, "ann", nil, "SPE_E3")
	e.user(grant, "bob", nil, "SPE_E5")
	e.user(grant, "cat", nil, "SPE_E3")
	e.user(grant, "shared", sharedKind, "EXCHANGESTANDARD")
	e.user(grant, "robot", serviceAccount, nil...)
	e.price(standardPrices...)
	e.uses("ann exchangeMailbox 2024-06-20", "ann attackSimulation 2024-06-25", "bob teamsChat 2024-06-21",
		"bob exchangeMailbox 2024-06-02", "robot exchangeMailbox 2024-06-15")
	e.signIn("ann", "2024-06-20T08:00:00Z")
	e.signIn("cat", "2024-03-15T08:00:00Z")
	e.mailboxes("shared,64424509440,True,SharedMailbox,False", "bob,1073741824,False,UserMailbox,True")
	compute := func(copies bool) []byte {
		var b bytes.Buffer
		e.tn.Read(func(s *tenant.State) {
			pl, _, err := prices.Of(s)
			if err != nil {
				t.Fatal(err)
			}
			var u position.Usage = usage.Of(s)
			if copies {
				u = copyingUsage{u}
			}
			p := position.Compute(position.Input{Engine: s.Engine, Usage: u, Prices: pl, AsOf: usage.DayOf(asOf), Now: asOf})
			if p.FindingCount() < 5 {
				t.Fatalf("only %d findings", p.FindingCount())
			}
			if err := p.WriteJSON(&b); err != nil {
				t.Fatal(err)
			}
		})
		return b.Bytes()
	}
	if got, want := compute(false), compute(true); !bytes.Equal(got, want) {
		t.Fatalf("views and copies differ:\n%s", firstDiff(got, want))
	}
}

// Evidence says where each use was seen: a usage report (by type), feature
// events, or both.
func TestEvidenceSaysWhetherAReportOrEventsShowedTheUse(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E5=10")
	e.user(grant, "ann", nil, "SPE_E5")
	e.user(grant, "bob", nil, "SPE_E5")
	e.price(standardPrices...)
	rep, err := usage.ParseReport(strings.NewReader("Report Refresh Date,User Principal Name,Last Activity Date,Team Chat Message Count,Private Chat Message Count,Call Count,Meeting Count\n"+
		"2024-06-30,ann@contoso.example,2024-06-28,0,4,0,0\n2024-06-30,bob@contoso.example,2024-06-27,0,2,0,0\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	e.do(asOf, func(tx *tenant.Tx) error {
		r, err := rep.Apply(tx, false)
		if err == nil && (r.UnmatchedCount > 0 || r.RejectedCount > 0) {
			t.Errorf("report: %+v", r)
		}
		return err
	})
	e.uses("ann exchangeMailbox 2024-06-20", "bob exchangeMailbox 2024-06-21", "bob teams 2024-06-29")
	over := findings(e.position(), position.OverAssigned)
	seen := func(user, feature string) string {
		for _, ev := range over[user].Evidence {
			if ev.Feature == feature {
				var b strings.Builder
				b.WriteString(ev.Source)
				for _, s := range ev.Sources {
					b.WriteString(" " + s.Source + ":" + s.Report)
				}
				return b.String()
			}
		}
		t.Fatalf("%s: no evidence of %s in %+v", user, feature, over[user])
		return ""
	}
	for _, c := range []struct{ user, feature, want string }{
		{"ann", "exchangeMailbox", "event event:"},
		{"ann", "teams", "report report:getTeamsUserActivityUserDetail"},
		{"bob", "exchangeMailbox", "event event:"},
		{"bob", "teams", "report report:getTeamsUserActivityUserDetail event:"},
	} {
		if got := seen(c.user, c.feature); got != c.want {
			t.Errorf("%s's use of %s: seen in %q, want %q", c.user, c.feature, got, c.want)
		}
	}
}

// A disabled account that inherits its license from a group cannot have
// the license removed on the user (Graph answers 400 "User license is
// inherited from a group membership and it cannot be removed directly from
// the user."): the fix takes it out of the group; a direct license is
// removed from the user.
func TestFixForDisabledAccountWithInheritedLicenseRemovesItFromTheGroup(t *testing.T) {
	e := newEnv(t)
	e.units(grant, "SPE_E3=5")
	e.user(grant, "direct", disabled, "SPE_E3")
	e.user(grant, "inherited", disabled)
	e.user(grant, "both", disabled, "SPE_E3")
	e.do(grant, func(tx *tenant.Tx) error {
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g-e3", DisplayName: "E3 users", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, "g-e3", []licensing.AssignedLicense{{SKUID: sku(t, "SPE_E3")}}, nil); err != nil {
			return err
		}
		return tx.Engine.AddMembers(tx.Op, "g-e3", []string{"inherited", "both"})
	})
	fs := findings(e.position(), position.DisabledHoldingLicense)
	want := map[string]string{
		"direct":    "Remove Microsoft 365 E3 (SPE_E3) from the disabled account (or delete the account).",
		"inherited": "Remove the disabled account from the groups that give it Microsoft 365 E3 (SPE_E3), which is inherited and cannot be removed from the disabled account itself (or delete the account).",
		"both":      "Remove Microsoft 365 E3 (SPE_E3) from the disabled account and the disabled account from the groups that give it Microsoft 365 E3 (SPE_E3) (or delete the account).",
	}
	for user, text := range want {
		if got := fs[user].Fix.Description; got != text {
			t.Errorf("%s: fix %q, want %q", user, got, text)
		}
	}
}
