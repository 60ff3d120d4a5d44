package web

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/directory"
	"allot/internal/readmodeltest"
	"allot/internal/sortedset"
	"allot/licensing"
	"allot/synth"
	"allot/tenant"
)

// TestIndexFollowsEveryChange runs random commands on an engine and checks
// after each that every users query, count and member list the index
// answers equals what a full scan of the engine gives.
func TestIndexFollowsEveryChange(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, st := readmodeltest.Synthetic(t, synth.Config{Users: 400, Groups: 12, SKUs: 16, Seed: 3}, now)
	e := s.Engine
	x := directoryOf(s)
	groupIDs := e.GroupIDs()
	r := rand.New(rand.NewSource(9))
	next := 0
	for step := 0; step < 300; step++ {
		now = now.Add(time.Minute)
		readmodeltest.Churn(r, e, st, licensing.Op{Actor: "test", Now: now}, step, &next)
		x.Update(s, e.TakeDelta())
		if step%10 == 0 || step == 299 {
			sku := st.SKUs[r.Intn(len(st.SKUs))].ID
			checkIndex(t, e, x, sku, groupIDs)
			// Again with the walk in order instead of collecting.
			restore := directory.SetMaxCollect(3)
			checkIndex(t, e, x, sku, groupIDs)
			restore()
		}
	}
}

func checkIndex(t *testing.T, e *licensing.Engine, x *directory.Index, sku string, groupIDs []string) {
	t.Helper()
	all, codes, licensed, withSKUs := indexRows(e)
	if x.Licensed() != licensed {
		t.Fatalf("licensed = %d, want %d", x.Licensed(), licensed)
	}
	if x.WithSKUs() != withSKUs {
		t.Fatalf("withSKUs = %d, want %d", x.WithSKUs(), withSKUs)
	}
	for c, n := range codes {
		if x.ErrorCodes()[c] != n {
			t.Fatalf("errCodes[%s] = %d, want %d", c, x.ErrorCodes()[c], n)
		}
	}
	if len(x.ErrorCodes()) != len(codes) {
		t.Fatalf("errCodes = %v, want %v", x.ErrorCodes(), codes)
	}
	queries := []userQuery{
		{}, {Sort: "name", Desc: true}, {Dept: "SALES"}, {Dept: "legal", Sort: "name"}, {SKU: sku}, {SKU: sku, State: "error"},
		{State: "waiting", Desc: true}, {State: "error"}, {Q: "user00001"}, {Q: "rena", Sort: "name"}, {Q: "u", Dept: "finance"},
	}
	for _, q := range queries {
		checkUserQuery(t, x, all, q)
	}
	// Each group's user members in userPrincipalName order, paged, and
	// those starting with a prefix.
	for _, g := range groupIDs {
		for _, prefix := range []string{"", "user0000", "ren"} {
			checkMemberPages(t, e, x, g, prefix)
		}
	}
	// The members each group's license is in error for (the errors page's
	// group filter).
	for _, g := range groupIDs {
		want := e.MembersWithLicenseErrors(g)
		var got []string
		e.ForEachUser(func(u *licensing.User) bool {
			if slices.Contains(x.User(u.ID).ErrGroups(), g) {
				got = append(got, u.ID)
			}
			return true
		})
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("members of %s in error: index has %d, engine %d", g, len(got), len(want))
		}
	}
}

// urow is what checkIndex expects of one user, from the engine.
type urow struct {
	id, upn, name, dept string
	skus                []string
	err, wait, held     bool
	codes               []string
}

// indexRows reads every user's row from the engine, the number of users of
// each license error code, of users holding a license and of users with a
// license of any state.
func indexRows(e *licensing.Engine) (all []urow, codes map[string]int, licensed, withSKUs int) {
	codes = map[string]int{}
	e.ForEachUser(func(u *licensing.User) bool {
		ur := urow{id: u.ID, upn: strings.ToLower(u.UserPrincipalName), name: strings.ToLower(u.DisplayName), dept: strings.ToLower(u.Department())}
		for _, l := range e.Licenses(u.ID) {
			if !slices.Contains(ur.skus, l.SKUID) {
				ur.skus = append(ur.skus, l.SKUID)
			}
			ur.wait = ur.wait || l.Waiting()
			ur.held = ur.held || l.Held
			for _, s := range l.Sources {
				if s.State == licensing.StateError {
					ur.err = true
					c := l.SKUID + "/" + s.Error.String()
					if !slices.Contains(ur.codes, c) {
						ur.codes = append(ur.codes, c)
						codes[s.Error.String()]++
					}
				}
			}
		}
		if ur.held {
			licensed++
		}
		if len(ur.skus) > 0 {
			withSKUs++
		}
		all = append(all, ur)
		return true
	})
	return all, codes, licensed, withSKUs
}

// checkUserQuery pages through a users query 7 at a time (and back once
// from page 2) and checks the users and the total against the rows.
func checkUserQuery(t *testing.T, x *directory.Index, all []urow, q userQuery) {
	t.Helper()
	var want []string
	for _, u := range all {
		if q.Q != "" && !strings.HasPrefix(u.upn, q.Q) && !strings.HasPrefix(u.name, q.Q) {
			continue
		}
		if q.Dept != "" && u.dept != strings.ToLower(q.Dept) || q.SKU != "" && !slices.Contains(u.skus, q.SKU) ||
			q.State == "error" && !u.err || q.State == "waiting" && !u.wait {
			continue
		}
		want = append(want, u.id)
	}
	sortKey := func(id string) key {
		for _, u := range all {
			if u.id == id {
				if q.Sort == "name" {
					return key{K: u.name, ID: id}
				}
				return key{K: u.upn, ID: id}
			}
		}
		return key{}
	}
	slices.SortFunc(want, func(a, b string) int {
		c := sortedset.Compare(sortKey(a), sortKey(b))
		if q.Desc {
			return -c
		}
		return c
	})
	var got []string
	q.Limit = 7
	order := "upn"
	if q.Sort == "name" {
		order = "name"
	}
	for pages := 0; pages < 1000; pages++ {
		p := queryUsers(x, q)
		if pages == 1 && len(p.Keys) > 0 {
			// Previous from page 2 is page 1.
			back := q
			back.After, back.Before = nil, cursorKey(p.Prev, order, q.Desc)
			bp := queryUsers(x, back)
			if len(bp.Keys) != len(got) || bp.Keys[len(bp.Keys)-1].ID != got[len(got)-1] {
				t.Fatalf("%+v: Previous from page 2 is not page 1", q)
			}
		}
		if p.Total != len(want) {
			t.Fatalf("%+v: total %d, want %d", q, p.Total, len(want))
		}
		for _, k := range p.Keys {
			got = append(got, k.ID)
		}
		if p.Next == "" {
			break
		}
		q.After = cursorKey(p.Next, order, q.Desc)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%+v: paged %d users, want %d (first difference in %v vs %v)", q, len(got), len(want), head(got), head(want))
	}
}

// checkMemberPages pages through a group's user members starting with a
// prefix and checks them against the engine's.
func checkMemberPages(t *testing.T, e *licensing.Engine, x *directory.Index, g, prefix string) {
	t.Helper()
	us, _ := e.Members(g)
	var want []key
	for _, id := range us {
		u, _ := e.User(id)
		if k := strings.ToLower(u.UserPrincipalName); strings.HasPrefix(k, prefix) {
			want = append(want, key{K: k, ID: id})
		}
	}
	slices.SortFunc(want, sortedset.Compare)
	var got []key
	var after *key
	for pages := 0; pages < 1000; pages++ {
		p := memberPage(x, g, prefix, false, after, nil)
		if p.Total != len(want) {
			t.Fatalf("members of %s starting with %q: total %d, engine %d", g, prefix, p.Total, len(want))
		}
		got = append(got, p.Keys...)
		if p.Next == "" {
			break
		}
		after = cursorKey(p.Next, "upn", false)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("members of %s starting with %q: index has %d, engine %d", g, prefix, len(got), len(want))
	}
}

func head(s []string) []string { return s[:min(5, len(s))] }

// TestProductFiguresAddUpFromLicenses checks the seats the dashboard and
// the products page show against the license records themselves, with an
// allotment carved out of a product.
func TestProductFiguresAddUpFromLicenses(t *testing.T) {
	cat := catalog.Default()
	st := synth.Generate(cat, synth.Config{Users: 600, Groups: 12, SKUs: 16, Seed: 5})
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := st.LoadInto(e); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.Recompute(licensing.Op{Now: now})
	sku := st.SKUs[0]
	p, _ := e.Pool(sku.ID)
	op := licensing.Op{Actor: "test", Now: now.Add(time.Hour)}
	if err := e.SetUnits(op, sku.ID, licensing.Units{Enabled: p.Units.Enabled + 10, Status: "Enabled"}); err != nil {
		t.Fatal(err)
	}
	if err := e.PutAllotment(op, licensing.Allotment{ID: "a1", DisplayName: "Budget", SKUID: sku.ID, AllottedUnits: 10}); err != nil {
		t.Fatal(err)
	}
	g := e.GroupIDs()[3]
	if err := e.AssignThroughAllotment(op, "a1", g, nil); err != nil {
		t.Fatal(err)
	}
	s := &tenant.State{Engine: e}
	for _, row := range skuRows(e, directoryOf(s)) {
		held, heldOutside, waiting := 0, 0, 0
		e.ForEachUser(func(u *licensing.User) bool {
			for _, l := range e.LicensesOf(u.ID, row.ID) {
				if l.Held {
					held++
					if l.AllotmentID == "" {
						heldOutside++
					}
				}
				if l.Waiting() {
					waiting++
				}
			}
			return true
		})
		pi, _ := e.Pool(row.ID)
		want := skuRow{Owned: pi.Units.Enabled, Assigned: held, Waiting: waiting, Available: max(0, pi.Units.Enabled-pi.Allotted-heldOutside)}
		if row.Owned != want.Owned || row.Assigned != want.Assigned || row.Waiting != want.Waiting || row.Available != want.Available {
			t.Errorf("%s: owned/assigned/waiting/available = %d/%d/%d/%d, want %d/%d/%d/%d", row.PartNumber,
				row.Owned, row.Assigned, row.Waiting, row.Available, want.Owned, want.Assigned, want.Waiting, want.Available)
		}
		if row.ID == sku.ID && row.Allotted != 10 {
			t.Errorf("%s: allotted %d, want 10", row.PartNumber, row.Allotted)
		}
	}
}
