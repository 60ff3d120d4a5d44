package position_test

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"allot/api/scope"
	"allot/auth"
	"allot/catalog"
	"allot/licensing"
	"allot/position"
	"allot/prices"
	"allot/synth"
	"allot/usage"
)

// randomTenant is a small synthetic tenant with allotments, lapsing units,
// disabled accounts, guests, shared mailboxes and rooms, and usage.
func randomTenant(t *testing.T, seed int64) (*licensing.Engine, *synthUsage, usage.Day) {
	rnd := rand.New(rand.NewSource(seed))
	cat := catalog.Default()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tn := synth.Generate(cat, synth.Config{Users: 20 + rnd.Intn(60), Seed: seed, Start: start,
		ShortShare: rnd.Float64() * .5, DirectShare: rnd.Float64() * .3})
	for i := range tn.Users {
		u := &tn.Users[i]
		switch x := rnd.Float64(); {
		case x < .05:
			u.AccountEnabled = false
		case x < .09:
			u.UserType = "Guest"
		case x < .12:
			u.Kind = licensing.KindSharedMailbox
		case x < .14:
			u.Kind = licensing.KindRoom
		case x < .17:
			u.Kind = licensing.KindServiceAccount
		}
	}
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := tn.LoadInto(e); err != nil {
		t.Fatal(err)
	}
	now := start.Add(24 * time.Hour * time.Duration(rnd.Intn(150)))
	e.Recompute(licensing.Op{Now: now})
	op := licensing.Op{Actor: "test", Now: now.Add(time.Hour)}
	groups := e.GroupIDs()
	for i, p := range e.Pools() {
		if rnd.Intn(5) == 0 { // a lapsing subscription: units in grace or suspended on top
			u := p.Units
			u.Warning, u.Suspended = rnd.Intn(3), rnd.Intn(2)
			_ = e.SetUnits(op, p.SKU.ID, u)
		}
		if rnd.Intn(3) == 0 && len(groups) > 0 { // an allotment licensing a group
			id := fmt.Sprintf("al-%d", i)
			if e.PutAllotment(op, licensing.Allotment{ID: id, DisplayName: id, SKUID: p.SKU.ID, AllottedUnits: rnd.Intn(4),
				AssignableTo: "user,group"}) == nil {
				_ = e.AssignThroughAllotment(op, id, groups[rnd.Intn(len(groups))], nil)
			}
		}
	}
	asOf := usage.DayOf(now.Add(time.Duration(rnd.Intn(90)) * 24 * time.Hour))
	return e, genUsage(e, asOf, seed), asOf
}

// The accounting identities of issue 18, on 500 random tenants with and
// without prices: per product owned + in grace + suspended = assigned +
// free + allotted-unused; the assigned seats are each in one category;
// used = the used seats; required = used + kept + new + waiting + unheld ≥
// used; the seats removed by findings are the findings (one seat each,
// counted once); totals are the sums of the rows and findings; required
// does not change with prices. The positions of delegated allotment
// owners (scoped to their allotments) hold the same identities.
func TestAccountingIdentitiesHoldOnRandomTenants(t *testing.T) {
	pl := loadPrices(t)
	n := 500
	if testing.Short() {
		n = 60
	}
	scopedRows, scopedFindings := 0, 0
	for seed := int64(1); seed <= int64(n); seed++ {
		e, u, asOf := randomTenant(t, seed)
		// Every third tenant with seat limits that bind (1–3 seats).
		restore := position.SeatLimitMax(0)
		if seed%3 == 0 {
			restore()
			restore = position.SeatLimitMax(1 + int(seed/3)%3)
		}
		var rows [2][]position.SKU
		for k, list := range []*prices.List{nil, pl} {
			p := position.Compute(position.Input{Engine: e, Usage: u, Prices: list, AsOf: asOf, Now: time.Unix(0, 0)})
			checkIdentities(t, fmt.Sprintf("seed %d, prices %v", seed, list != nil), e, p)
			rows[k] = p.SKUs
			// The positions of delegated allotment owners (the owner of one
			// allotment, and one of all of them), as the API scopes them.
			var owners [][]string
			var all []string
			for _, a := range e.Allotments() {
				all = append(all, a.ID)
			}
			if len(all) > 0 {
				owners = append(owners, []string{all[int(seed)%len(all)]})
			}
			if len(all) > 1 {
				owners = append(owners, all)
			}
			for _, ids := range owners {
				sp := position.Compute(position.Input{Engine: e, Usage: u, Prices: list, AsOf: asOf, Now: time.Unix(0, 0), Scope: ownerScope(e, ids)})
				checkIdentities(t, fmt.Sprintf("seed %d, prices %v, owner of %v", seed, list != nil, ids), e, sp)
				scopedRows += len(sp.SKUs)
				scopedFindings += sp.FindingCount()
			}
		}
		req := map[string]int{}
		for _, r := range rows[0] {
			req[r.SKUID] = r.Required
		}
		for _, r := range rows[1] {
			if req[r.SKUID] != r.Required {
				t.Fatalf("seed %d: %s required %d without prices, %d with", seed, r.SKUPartNumber, req[r.SKUID], r.Required)
			}
		}
		restore()
	}
	if scopedRows == 0 || scopedFindings == 0 {
		t.Fatalf("the owners' positions had %d rows and %d findings: nothing was checked", scopedRows, scopedFindings)
	}
}

func checkIdentities(t *testing.T, name string, e *licensing.Engine, p *position.Position) {
	t.Helper()
	fail := func(format string, a ...any) { t.Helper(); t.Fatalf(name+": "+format, a...) }
	fs := sumFindings(fail, p)
	tot := checkRows(fail, p, fs.removed)
	if p.Totals.Owned != tot.Owned || p.Totals.Assigned != tot.Assigned || p.Totals.Required != tot.Required || p.Totals.Used != tot.Used || p.Totals.Waiting != tot.Waiting {
		fail("totals %+v, rows sum to %+v", p.Totals, tot)
	}
	n := 0
	for k, c := range p.Totals.FindingsByKind {
		if c != fs.byKind[k] {
			fail("findings of kind %s: total %d, listed %d", k, c, fs.byKind[k])
		}
		n += c
	}
	if n != p.Totals.Findings || n != p.FindingCount() || n != len(fs.seen) {
		fail("findings: total %d, by kind %d, listed %d", p.Totals.Findings, n, len(fs.seen))
	}
	if p.Currency != nil {
		if math.Abs(*p.Totals.MonthlySavings-fs.savings) > 1e-6 || math.Abs(*p.Totals.AdditionalCost-fs.extra) > 1e-6 {
			fail("savings %v / %v, cost of fixes %v / %v", *p.Totals.MonthlySavings, fs.savings, *p.Totals.AdditionalCost, fs.extra)
		}
	}
	if p.Scoped {
		return
	}
	// Every pool has its row.
	for _, pool := range e.Pools() {
		found := false
		for _, r := range p.SKUs {
			found = found || r.SKUID == pool.SKU.ID
		}
		if !found {
			fail("no row for %s", pool.SKU.PartNumber)
		}
	}
}

// findingSums is what a position's findings add up to: the seats their
// fixes remove per product, the monthly savings and extra cost of the
// fixes, the count per kind, the ids listed.
type findingSums struct {
	removed        map[string]*position.SeatUse
	savings, extra float64
	byKind         map[string]int
	seen           map[string]bool
}

// sumFindings adds up p's findings, failing on one listed twice or
// without a fix or evidence.
func sumFindings(fail func(string, ...any), p *position.Position) findingSums {
	fs := findingSums{removed: map[string]*position.SeatUse{}, byKind: map[string]int{}, seen: map[string]bool{}}
	p.EachFinding(func(f *position.Finding) bool {
		if fs.seen[f.ID] {
			fail("finding %s twice: %+v", f.ID, *f)
		}
		fs.seen[f.ID] = true
		fs.byKind[f.Kind]++
		if d := f.Fix.MonthlyDelta; d != nil {
			if *d < 0 {
				fs.savings -= *d
			} else {
				fs.extra += *d
			}
		}
		s := fs.removed[f.SKUID]
		if s == nil {
			s = &position.SeatUse{}
			fs.removed[f.SKUID] = s
		}
		countRemoved(s, f)
		if f.Fix.Description == "" || len(f.Evidence) == 0 {
			fail("finding without fix or evidence: %+v", f)
		}
		return true
	})
	return fs
}

// countRemoved counts the seat a finding's fix removes in s, by kind (a
// shared mailbox's only when its fix removes the product).
func countRemoved(s *position.SeatUse, f *position.Finding) {
	isRemoval := len(f.Fix.Add) == 0 && len(f.Fix.Remove) == 1 && f.Fix.Remove[0] == f.SKUPartNumber
	switch f.Kind {
	case position.Idle:
		s.Idle++
	case position.NeverActivated:
		s.NeverActivated++
	case position.DisabledHoldingLicense:
		s.Disabled++
	case position.GuestLicensed:
		s.Guest++
	case position.SharedMailbox:
		if isRemoval {
			s.SharedMailbox++
		}
	}
}

// checkRows checks each product's row of p (its seats add up, the
// required and surplus figures follow, the seats removed are the
// findings') and returns the rows' sums.
func checkRows(fail func(string, ...any), p *position.Position, removed map[string]*position.SeatUse) position.Totals {
	var tot position.Totals
	for _, r := range p.SKUs {
		if r.Owned+r.InGrace+r.Suspended != r.Assigned+r.Free+r.AllottedUnused {
			fail("%s: owned %d + in grace %d + suspended %d ≠ assigned %d + free %d + allotted unused %d", r.SKUPartNumber,
				r.Owned, r.InGrace, r.Suspended, r.Assigned, r.Free, r.AllottedUnused)
		}
		if r.Seats.Total() != r.Assigned {
			fail("%s: seats %+v sum to %d, assigned %d", r.SKUPartNumber, r.Seats, r.Seats.Total(), r.Assigned)
		}
		if r.Used != r.Seats.Used || r.Required != r.Seats.Used+r.Seats.KeptByRule+r.Seats.New+r.RequiredWaiting+r.RequiredUnheld || r.Required < r.Used {
			fail("%s: used %d, required %d, seats %+v, waiting %d, unheld %d", r.SKUPartNumber, r.Used, r.Required, r.Seats, r.RequiredWaiting, r.RequiredUnheld)
		}
		if r.Surplus != max(r.Owned-r.Required, 0) || r.Shortfall != max(r.Required-r.Owned, 0) {
			fail("%s: surplus %d shortfall %d", r.SKUPartNumber, r.Surplus, r.Shortfall)
		}
		want := position.SeatUse{}
		if s := removed[r.SKUID]; s != nil {
			want = *s
		}
		got := position.SeatUse{Idle: r.Seats.Idle, NeverActivated: r.Seats.NeverActivated, Disabled: r.Seats.Disabled, Guest: r.Seats.Guest, SharedMailbox: r.Seats.SharedMailbox}
		if got != want {
			fail("%s: seats removed %+v, findings %+v", r.SKUPartNumber, got, want)
		}
		tot.Owned += r.Owned
		tot.Assigned += r.Assigned
		tot.Required += r.Required
		tot.Used += r.Used
		tot.Waiting += r.Waiting
	}
	return tot
}

// ownerScope is the position scope of a delegated owner of the allotments
// ids, as the API builds it (api/scope).
func ownerScope(e *licensing.Engine, ids []string) *position.Scope {
	pr := &auth.Principal{TenantID: "t", Roles: []string{auth.RoleAllotmentOwner}, AllotmentIDs: ids}
	sc := scope.Of(pr, e)
	ps := &position.Scope{User: sc.User, License: sc.Licenses, SKU: func(id string) bool { return sc.SKU(e, id) }}
	for _, id := range ids {
		if a, ok := e.AllotmentByID(id); ok {
			ps.Allotments = append(ps.Allotments, a)
		}
	}
	return ps
}
