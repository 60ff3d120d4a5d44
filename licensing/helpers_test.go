package licensing

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"allot/catalog"
)

// A small catalog for tests, with every kind of plan rule.
var (
	planEXO1  = gid("p", 1)
	planEXO2  = gid("p", 2)
	planTeams = gid("p", 3)
	planApps  = gid("p", 4)
	planATP   = gid("p", 5)
	planWPA   = gid("p", 6)
	planKiosk = gid("p", 7)
	planPhone = gid("p", 8)

	skuE3    = gid("s", 3)
	skuE5    = gid("s", 5)
	skuEXO1  = gid("s", 1)
	skuWPA   = gid("s", 6)
	skuKiosk = gid("s", 7)
	skuPhone = gid("s", 8)
)

// gid makes a deterministic GUID from a kind letter and a number.
func gid(kind string, n int) string {
	k := map[string]string{"p": "aaaa", "s": "bbbb", "u": "cccc", "g": "dddd"}[kind]
	return fmt.Sprintf("00000000-0000-0000-%s-%012d", k, n)
}

func testCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	p := func(id, name string) catalog.Plan {
		return catalog.Plan{ID: id, Name: name, FriendlyName: name + " friendly"}
	}
	c, err := catalog.New([]catalog.SKU{
		{ID: skuE3, PartNumber: "E3", DisplayName: "Enterprise E3", Plans: []catalog.Plan{p(planEXO2, "EXO2"), p(planTeams, "TEAMS"), p(planApps, "APPS")}},
		{ID: skuE5, PartNumber: "E5", DisplayName: "Enterprise E5", Plans: []catalog.Plan{p(planEXO2, "EXO2"), p(planTeams, "TEAMS"), p(planApps, "APPS"), p(planATP, "ATP")}},
		{ID: skuEXO1, PartNumber: "EXO1", DisplayName: "Exchange Plan 1", Plans: []catalog.Plan{p(planEXO1, "EXO1")}},
		{ID: skuWPA, PartNumber: "WPA", DisplayName: "Workplace Analytics", Plans: []catalog.Plan{p(planWPA, "WPA")}},
		{ID: skuKiosk, PartNumber: "KIOSK", DisplayName: "Exchange Kiosk", Plans: []catalog.Plan{p(planKiosk, "KIOSK")}},
		{ID: skuPhone, PartNumber: "PHONE", DisplayName: "Phone", Plans: []catalog.Plan{p(planPhone, "PHONE")}},
	}, catalog.Rules{
		Dependencies:         []catalog.Dependency{{Plan: planWPA, RequiresAnyOf: []string{planEXO1, planEXO2}, Source: "test"}},
		Exclusions:           []catalog.Exclusion{{Plans: [2]string{planKiosk, planEXO2}, Source: "test"}},
		LocationRestrictions: []catalog.LocationRestriction{{SKU: skuPhone, Countries: []string{"KP"}, Source: "test"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixture is an engine with a clock that ticks one second per command.
type fixture struct {
	t   testing.TB
	e   *Engine
	now time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return &fixture{t: t, e: New(testCatalog(t), Settings{DefaultUsageLocation: "US"}), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (f *fixture) op() Op {
	f.now = f.now.Add(time.Second)
	return Op{Actor: "admin@test", Now: f.now}
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) units(sku string, n int) {
	f.t.Helper()
	f.must(f.e.SetUnits(f.op(), sku, Units{Enabled: n}))
}

func (f *fixture) user(n int, mods ...func(*User)) string {
	f.t.Helper()
	u := User{ID: gid("u", n), UserPrincipalName: fmt.Sprintf("user%d@test", n), DisplayName: fmt.Sprintf("User %d", n), AccountEnabled: true, UsageLocation: "US"}
	for _, m := range mods {
		m(&u)
	}
	f.must(f.e.PutUser(f.op(), u))
	return u.ID
}

func (f *fixture) group(n int, mods ...func(*Group)) string {
	f.t.Helper()
	g := Group{ID: gid("g", n), DisplayName: fmt.Sprintf("Group %d", n), SecurityEnabled: true}
	for _, m := range mods {
		m(&g)
	}
	f.must(f.e.PutGroup(f.op(), g))
	return g.ID
}

func (f *fixture) add(group string, members ...string) {
	f.t.Helper()
	f.must(f.e.AddMembers(f.op(), group, members))
}

func (f *fixture) remove(group string, members ...string) {
	f.t.Helper()
	f.must(f.e.RemoveMembers(f.op(), group, members))
}

func lic(sku string, disabled ...string) AssignedLicense {
	return AssignedLicense{SKUID: sku, DisabledPlans: disabled}
}

func (f *fixture) groupLicense(group string, ls ...AssignedLicense) {
	f.t.Helper()
	f.must(f.e.AssignGroupLicenses(f.op(), group, ls, nil))
}

func (f *fixture) directLicense(user string, ls ...AssignedLicense) {
	f.t.Helper()
	f.must(f.e.AssignUserLicenses(f.op(), user, ls, nil))
}

// states returns "state/error" of every source of (user, sku), in order.
func (f *fixture) states(user, sku string) string {
	l, ok := f.e.License(user, sku)
	if !ok {
		return "none"
	}
	var parts []string
	for _, s := range l.Sources {
		parts = append(parts, s.State.String()+"/"+s.Error.String())
	}
	return strings.Join(parts, ",")
}

func (f *fixture) holds(user, sku string) bool {
	l, ok := f.e.License(user, sku)
	return ok && l.Held
}

func (f *fixture) consumed(sku string) int {
	p, _ := f.e.Pool(sku)
	return p.Consumed
}

func wantErr(t *testing.T, err error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %q, got nil", msg)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Fatalf("want error containing %q, got %q", msg, err.Error())
	}
}

// checkInvariants verifies the engine's bookkeeping against its records:
// the users' licenses, then the pools, the allotments and the groups'
// error counts (the first broken one is the error).
func checkInvariants(e *Engine) error {
	held, waiting, groupErrors, err := checkUserLicenses(e)
	if err != nil {
		return err
	}
	for _, p := range e.allPools() {
		if err := checkPool(e, p, held[p], waiting[p]); err != nil {
			return err
		}
	}
	if err := checkAllotments(e); err != nil {
		return err
	}
	for id, g := range e.groups {
		if g.errors != groupErrors[id] {
			return fmt.Errorf("group %s: error counts %+v, actual %+v", id, g.errors, groupErrors[id])
		}
	}
	return nil
}

// checkUserLicenses checks every user's licenses (indexed, sorted, with
// sources, held only when claimed, holders out of and waiters in their
// pool's waiting room) and counts the holders and waiters of each pool and
// the error sources of each group.
func checkUserLicenses(e *Engine) (held, waiting map[*pool]int, groupErrors map[string]errorTally, err error) {
	held, waiting, groupErrors = map[*pool]int{}, map[*pool]int{}, map[string]errorTally{}
	for _, u := range e.all {
		if e.users[u.ID] != u {
			return nil, nil, nil, fmt.Errorf("user %s: index out of date", u.ID)
		}
		for i, l := range u.licenses {
			if i > 0 && u.licenses[i-1].pool.key >= l.pool.key {
				return nil, nil, nil, fmt.Errorf("user %s: licenses not sorted", u.ID)
			}
			if err := checkLicense(u, l); err != nil {
				return nil, nil, nil, err
			}
			if l.Held {
				held[l.pool]++
			}
			if l.Waiting() {
				waiting[l.pool]++
			}
			for _, s := range l.Sources {
				if s.AssignedByGroup != "" && s.State == StateError {
					t := groupErrors[s.AssignedByGroup]
					t.add(s.Error, 1)
					groupErrors[s.AssignedByGroup] = t
				}
			}
		}
	}
	return held, waiting, groupErrors, nil
}

// checkLicense checks one license's sources, claim and waiting-room index.
func checkLicense(u *user, l *license) error {
	if len(l.Sources) == 0 {
		return fmt.Errorf("user %s sku %s: license without sources", u.ID, l.skuID())
	}
	if l.Held && !l.Claimed {
		return fmt.Errorf("user %s sku %s: held without claim", u.ID, l.skuID())
	}
	if l.Held && l.waitIdx != -1 {
		return fmt.Errorf("user %s sku %s: holder in waiting room", u.ID, l.skuID())
	}
	if l.Waiting() && (l.waitIdx < 0 || int(l.waitIdx) >= len(l.pool.waiting) || l.pool.waiting[l.waitIdx] != l) {
		return fmt.Errorf("user %s sku %s: waiting index broken", u.ID, l.skuID())
	}
	return nil
}

// checkPool checks a pool against its holders and waiters: consumption,
// capacity, the waiting room, who may wait while a seat is free, and that
// every bundled holder's all-or-none group can use its seat.
func checkPool(e *Engine, p *pool, held, waiting int) error {
	if p.consumed != held {
		return fmt.Errorf("pool %s: consumed %d, holders %d", p.sku.PartNumber, p.consumed, held)
	}
	if p.consumed > p.capacity() || p.capacity() < 0 {
		return fmt.Errorf("pool %s oversubscribed: %d of %d", p.key, p.consumed, p.capacity())
	}
	if len(p.waiting) != waiting {
		return fmt.Errorf("pool %s: heap %d, waiting %d", p.sku.PartNumber, len(p.waiting), waiting)
	}
	if p.free() > 0 {
		// Only bundled claims whose siblings cannot all be seated may
		// wait while a seat is free.
		for _, l := range p.waiting {
			if !l.bundled {
				return fmt.Errorf("pool %s: %d free seats while %s waits", p.sku.PartNumber, p.free(), l.userID())
			}
			srcs := e.w.gatherSources(l.user, e.clock, true)
			e.w.block(srcs, e.usageLocation(l.user))
			if _, _, ok := e.w.coClaims(l.user, l, srcs, false); ok {
				return fmt.Errorf("pool %s: %d free seats while bundled %s waits and could be seated with its group's other products", p.sku.PartNumber, p.free(), l.userID())
			}
		}
	}
	for _, u := range e.all {
		for _, l := range u.licenses {
			if !l.Held || !l.bundled {
				continue
			}
			srcs := e.w.gatherSources(u, e.clock, true)
			e.w.block(srcs, e.usageLocation(u))
			if _, _, ok := e.w.coClaims(u, l, srcs, true); !ok && l.pool == p {
				return fmt.Errorf("pool %s: %s holds a seat its all-or-none group cannot use", p.key, u.ID)
			}
		}
	}
	return nil
}

// checkAllotments checks the allotments' pools and sums against each SKU's
// units, and that no SKU is oversubscribed across its pools.
func checkAllotments(e *Engine) error {
	sum := map[string]int{}
	for _, a := range e.allotments {
		sum[a.SKUID] += a.AllottedUnits
		if a.pool.allot != a || a.pool.key != a.SKUID+"/"+a.ID {
			return fmt.Errorf("allotment %s: pool broken", a.ID)
		}
	}
	for sku, p := range e.pools {
		if sum[sku] != e.allotted[sku] {
			return fmt.Errorf("sku %s: allotted %d, allotments sum %d", sku, e.allotted[sku], sum[sku])
		}
		if sum[sku] > p.units.Total() {
			return fmt.Errorf("sku %s: allotments %d exceed units %d", sku, sum[sku], p.units.Total())
		}
		total := p.consumed
		for _, a := range e.allotments {
			if a.SKUID == sku {
				total += a.pool.consumed
			}
		}
		if total > p.units.Total() {
			return fmt.Errorf("sku %s oversubscribed across pools: %d of %d", sku, total, p.units.Total())
		}
	}
	return nil
}

// dump renders the engine's whole license state canonically.
func dump(e *Engine) string {
	var b strings.Builder
	ids := make([]string, 0, len(e.users))
	for id := range e.users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		u := e.users[id]
		for _, l := range u.licenses {
			fmt.Fprintf(&b, "%s %s claimed=%v since=%s held=%v heldSince=%s", id, l.pool.key, l.Claimed, l.Since.Format(time.RFC3339Nano), l.Held, l.HeldSince.Format(time.RFC3339Nano))
			for _, s := range l.Sources {
				fmt.Fprintf(&b, " [%s %v %s %s %s %s applies=%s kept=%s %v]", s.AssignedByGroup, s.DisabledPlans, s.State, s.Error, s.LastUpdated.Format(time.RFC3339Nano), s.AssignedAt.Format(time.RFC3339Nano), s.AppliesSince.Time().Format(time.RFC3339Nano), s.KeptReason(), s.KeptReplacedBy())
			}
			for _, s := range l.Retained() {
				fmt.Fprintf(&b, " kept[%s %v %s %v %s]", s.AssignedByGroup, s.DisabledPlans, s.KeptReason(), s.KeptReplacedBy(), s.AppliesSince.Time().Format(time.RFC3339Nano))
			}
			b.WriteByte('\n')
		}
	}
	for _, p := range e.allPools() {
		fmt.Fprintf(&b, "pool %s units=%d capacity=%d consumed=%d waiting=%d\n", p.key, p.units.Enabled, p.capacity(), p.consumed, len(p.waiting))
	}
	for _, g := range e.GroupIDs() {
		fmt.Fprintf(&b, "group %s errors=%d by code %v\n", g, e.groups[g].errors.n, e.groups[g].errors.byCode)
	}
	return b.String()
}

// reload builds a new engine from e's records, as the runtime does from the
// store, and runs a full recompute.
func reload(t testing.TB, e *Engine, now time.Time) *Engine {
	t.Helper()
	return reloadWith(t, e, now, true, 0)
}

// reloadWith rebuilds e from its records like reload; withLicenses false
// leaves out the license records (claims and states are derived from the
// sources alone, as in an import), and workers > 0 fixes the number of
// recompute workers.
func reloadWith(t testing.TB, e *Engine, now time.Time, withLicenses bool, workers int) *Engine {
	t.Helper()
	n := loadCopy(t, e, withLicenses)
	defer func(w int) { recomputeWorkers = w }(recomputeWorkers)
	recomputeWorkers = workers
	n.Recompute(Op{Now: now})
	return n
}

// loadCopy builds a new engine from e's records, as the runtime's load
// does, without deriving anything from them (Recompute or Adopt is next).
func loadCopy(t testing.TB, e *Engine, withLicenses bool) *Engine {
	t.Helper()
	n := New(e.cat, e.settings)
	n.clock = e.clock
	for _, p := range e.sortedPools() {
		if err := n.LoadUnits(p.sku.ID, p.units); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range e.Allotments() {
		if err := n.LoadAllotment(a.Allotment); err != nil {
			t.Fatal(err)
		}
	}
	n.DeferUPNs() // as the runtime's load does: indexed beside the two sides
	for _, u := range e.all {
		if err := n.LoadUser(*u.User); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range e.GroupIDs() {
		g, _ := e.Group(id)
		if err := n.LoadGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	// The two sides the runtime loads concurrently (Engine.LoadMembers):
	// memberships and group licenses beside direct licenses and license
	// records, and the name index beside both (the race detector watches
	// them in CI).
	var groupErr, userErr error
	var wg sync.WaitGroup
	wg.Go(n.IndexUPNs)
	var runs []MemberRun
	for _, id := range e.GroupIDs() {
		us, gs := e.Members(id)
		runs = append(runs, MemberRun{id, append(us, gs...)})
	}
	members := n.NewMemberLoader(runs)
	wg.Go(func() {
		members.Load(func(_, _ string, err error) { groupErr = cmp.Or(groupErr, err) })
		for _, id := range e.GroupIDs() {
			for _, gl := range e.GroupLicenses(id) {
				groupErr = cmp.Or(groupErr, n.LoadGroupLicense(id, gl))
			}
		}
	})
	for _, u := range e.all {
		for _, d := range u.direct {
			userErr = cmp.Or(userErr, n.LoadDirectLicense(u.ID, d))
		}
		if !withLicenses {
			continue
		}
		for _, l := range u.licenses {
			userErr = cmp.Or(userErr, n.LoadLicense(l.export()))
		}
	}
	members.Help()
	wg.Wait()
	if err := cmp.Or(groupErr, userErr); err != nil {
		t.Fatal(err)
	}
	return n
}
