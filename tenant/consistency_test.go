package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/internal/pgtest"
	"allot/licensing"
	"allot/store"
)

// objectsOf lists a tenant's stored objects by "kind id".
func objectsOf(t *testing.T, st store.Store, id string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if err := st.LoadObjects(context.Background(), id, func(o store.Object) error { out[string(o.Kind)+" "+o.ID] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Deleting a user removes every source it owns, including the ones made
// through an allotment, so the database opens again with no problem (it
// used to stop the server: "license of missing user").
func TestDeletingAUserAssignedThroughAnAllotmentLeavesNoOrphans(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	e3 := sku(t, "SPE_E3")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error { return tx.Engine.SetUnits(tx.Op, e3, licensing.Units{Enabled: 10}) }))
	must(tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
		if err := tx.Engine.PutAllotment(tx.Op, licensing.Allotment{ID: "al-1", DisplayName: "Pilot", SKUID: e3, AllottedUnits: 2}); err != nil {
			return err
		}
		if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(9), UserPrincipalName: "u9@contoso.example", UsageLocation: "US"}); err != nil {
			return err
		}
		if err := tx.Engine.AssignThroughAllotment(tx.Op, "al-1", uid(9), nil); err != nil {
			return err
		}
		// A member of a licensed group, too.
		return tx.Engine.AddMembers(tx.Op, gid(1), []string{uid(9)})
	}))
	must(tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error { return tx.Engine.DeleteUser(tx.Op, uid(9)) }))
	for k := range objectsOf(t, st, tid) {
		if strings.Contains(k, uid(9)) {
			t.Errorf("record of the deleted user left behind: %s", k)
		}
	}
	must(rt.Close(ctx))
	rt2 := newRuntime(t, st)
	tn2, ok := rt2.Get(tid)
	if !ok || len(tn2.Problems()) > 0 {
		t.Fatalf("after restart: loaded %v, problems %v", ok, tn2.Problems())
	}
	must(tn2.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error { return tx.Engine.ReprocessGroup(tx.Op, gid(1)) }))
}

const other = "22222222-2222-2222-2222-222222222222"

// breakTenant writes inconsistent records straight into the store, as an
// earlier version, a hand edit or a defect could leave them: the sources
// and seat records of a user that does not exist, a membership in a group
// that does not exist, an allotment of 50 units of a 3-unit subscription,
// and a user record that cannot be decoded.
func breakTenant(t *testing.T, st store.Store, tenantID string, e3 string) {
	t.Helper()
	src, _ := json.Marshal(licensing.LicenseSource{SKUID: e3, AllotmentID: "al-1", AssignedAt: time.Now().UTC()})
	lic, _ := json.Marshal(licensing.License{UserID: "ghost", SKUID: e3, AllotmentID: "al-1", LicenseState: licensing.LicenseState{Claimed: true, Since: licensing.InstantOf(time.Now().UTC()), Held: true, HeldSince: licensing.InstantOf(time.Now().UTC())}})
	al, _ := json.Marshal(licensing.Allotment{ID: "al-1", DisplayName: "Pilot", SKUID: e3, AllottedUnits: 50, AssignableTo: "user,group", CreatedAt: time.Now().UTC()})
	err := st.Commit(context.Background(), []store.Change{{TenantID: tenantID, Mutations: []store.Mutation{
		{Kind: store.KindAllotment, ID: "al-1", Body: al},
		{Kind: store.KindDirectLicense, ID: "ghost/" + e3 + "/al-1", Body: src},
		{Kind: store.KindLicense, ID: "ghost/" + e3 + "/al-1", Body: lic},
		{Kind: store.KindMember, ID: "no-such-group/" + uid(1), Body: []byte(`{"type":"user"}`)},
		{Kind: store.KindUser, ID: "garbled", Body: []byte(`{"id": 42`)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
}

// A tenant whose stored state is inconsistent is served read-only and the
// other tenants are served; Check lists its problems, Repair repairs them,
// and the repaired tenant is what the read-only tenant showed.
func TestInconsistentTenantIsReadOnlyOthersServedAndRepairFixesIt(t *testing.T) {
	for name, open := range testStores(t) {
		t.Run(name, func(t *testing.T) { inconsistentTenant(t, open(t)) })
	}
}

// testStores are the backends to run on: SQLite, and PostgreSQL (in a
// fresh schema) when ALLOT_TEST_POSTGRES is set.
func testStores(t *testing.T) map[string]func(t *testing.T) store.Store {
	m := map[string]func(t *testing.T) store.Store{"sqlite": func(t *testing.T) store.Store { return openSQLite(t) }}
	url, ok := pgtest.Enabled(t)
	if !ok {
		return m
	}
	m["postgres"] = func(t *testing.T) store.Store {
		st, _ := pgtest.Open(t, url)
		return st
	}
	return m
}

func inconsistentTenant(t *testing.T, st store.Store) {
	ctx := context.Background()
	rt := newRuntime(t, st)
	seed(t, rt)
	if _, err := rt.Create(ctx, store.Tenant{ID: other, CompanyName: "Fabrikam"}, licensing.Settings{DefaultUsageLocation: "US"}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	e3 := sku(t, "SPE_E3")
	breakTenant(t, st, tid, e3)
	stored := objectsOf(t, st, tid)

	rt2, err := Open(ctx, st, catalog.Default(), testOptions(Options{}))
	if err != nil {
		t.Fatalf("the server refused to start: %v", err)
	}
	bad, _ := rt2.Get(tid)
	good, _ := rt2.Get(other)
	if ro := rt2.ReadOnly(); len(ro) != 1 || ro[tid] != 5 {
		t.Fatalf("read-only tenants %v, want %s with 5 problems", ro, tid)
	}
	// The other tenant takes writes.
	if err := good.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
		return tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(1), UserPrincipalName: "a@fabrikam.example", UsageLocation: "US"})
	}); err != nil {
		t.Fatalf("the consistent tenant refused a write: %v", err)
	}
	// The broken one is read: its consistent part, with the allotment
	// lowered to what the subscription has; writes are refused.
	var readOnlyView string
	bad.Read(func(s *State) {
		readOnlyView = fingerprint(s.Engine)
		if s.Engine.UserCount() != 5 {
			t.Fatalf("users %d", s.Engine.UserCount())
		}
		if a, _ := s.Engine.AllotmentByID("al-1"); a.AllottedUnits != 0 {
			t.Fatalf("allotment of a full subscription loaded with %d units", a.AllottedUnits)
		}
		if p, _ := s.Engine.Pool(e3); p.Consumed > p.Units.Enabled {
			t.Fatalf("oversubscribed: %+v", p)
		}
	})
	err = bad.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error { return tx.Engine.ReprocessGroup(tx.Op, gid(1)) })
	if allot.ErrorCode(err) != allot.ECONFLICT || !strings.Contains(err.Error(), "allot doctor --repair") {
		t.Fatalf("a write to a read-only tenant: %v", err)
	}
	if err := rt2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Nothing was written to the broken tenant.
	if after := objectsOf(t, st, tid); len(after) != len(stored) {
		t.Fatalf("loading the broken tenant wrote to it: %d → %d objects", len(stored), len(after))
	}

	problems, err := Check(ctx, st, catalog.Default(), tid)
	if err != nil || len(problems) != 5 {
		t.Fatalf("check: %v %v", err, problems)
	}
	want := []string{"allotment al-1", "directLicense ghost/", "license ghost/", "member no-such-group/", "user garbled"}
	for i, p := range problems {
		if !strings.HasPrefix(string(p.Kind)+" "+p.ID, want[i]) {
			t.Fatalf("problem %d: %s, want %s…", i, p, want[i])
		}
	}
	if ps, _ := Check(ctx, st, catalog.Default(), other); len(ps) != 0 {
		t.Fatalf("the consistent tenant has problems: %v", ps)
	}
	repaired, left, err := Repair(ctx, st, catalog.Default(), tid, "test")
	if err != nil || len(repaired) != 5 || len(left) != 0 {
		t.Fatalf("repair: %v, %d repaired, left %v", err, len(repaired), left)
	}
	rt3 := newRuntime(t, st)
	defer rt3.Close(ctx)
	fixed, _ := rt3.Get(tid)
	if len(fixed.Problems()) > 0 || len(rt3.ReadOnly()) > 0 {
		t.Fatalf("problems after repair: %v", fixed.Problems())
	}
	fixed.Read(func(s *State) {
		if got := fingerprint(s.Engine); got != readOnlyView {
			t.Fatalf("the repaired tenant differs from its read-only view:\n%s\n%s", readOnlyView, got)
		}
	})
	if err := fixed.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error { return tx.Engine.ReprocessGroup(tx.Op, gid(1)) }); err != nil {
		t.Fatalf("the repaired tenant refused a write: %v", err)
	}
}

// A database made before this check, consistent, opens with no problem and
// no write at load.
func TestConsistentDatabaseOpensWithoutProblems(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	rt := newRuntime(t, st)
	seed(t, rt)
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ps, err := Check(ctx, st, catalog.Default(), tid); err != nil || len(ps) != 0 {
		t.Fatalf("check: %v %v", err, ps)
	}
	repaired, _, err := Repair(ctx, st, catalog.Default(), tid, "test")
	if err != nil || len(repaired) != 0 {
		t.Fatalf("repair of a consistent tenant: %v %v", err, repaired)
	}
	rt2 := newRuntime(t, st)
	defer rt2.Close(ctx)
	if len(rt2.ReadOnly()) != 0 {
		t.Fatal("a consistent tenant is read-only")
	}
}

// A database an earlier version's import left oversubscribed (an allotment
// of 50 units of a 3-unit subscription, 10 users holding its units) opens
// read-only with the allotment at 3 units and 7 users waiting; the repair
// stores that.
func TestOversubscribedAllotmentFromAnEarlierImportIsLowered(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn, err := rt.Create(ctx, store.Tenant{ID: tid, CompanyName: "Contoso"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	e3 := sku(t, "SPE_E3")
	err = tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, e3, licensing.Units{Enabled: 3}); err != nil {
			return err
		}
		for i := 1; i <= 10; i++ {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(i), UserPrincipalName: fmt.Sprintf("u%d@c", i), UsageLocation: "US"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Close(ctx)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	al, _ := json.Marshal(licensing.Allotment{ID: "al-1", DisplayName: "Pilot", SKUID: e3, AllottedUnits: 50, AssignableTo: "user,group", CreatedAt: at})
	muts := []store.Mutation{{Kind: store.KindAllotment, ID: "al-1", Body: al}}
	for i := 1; i <= 10; i++ {
		since := at.Add(time.Duration(i) * time.Hour)
		src, _ := json.Marshal(licensing.LicenseSource{SKUID: e3, AllotmentID: "al-1", AssignedAt: since})
		lic, _ := json.Marshal(licensing.License{UserID: uid(i), SKUID: e3, AllotmentID: "al-1", LicenseState: licensing.LicenseState{Claimed: true, Since: licensing.InstantOf(since), Held: true, HeldSince: licensing.InstantOf(since)}})
		muts = append(muts, store.Mutation{Kind: store.KindDirectLicense, ID: uid(i) + "/" + e3 + "/al-1", Body: src},
			store.Mutation{Kind: store.KindLicense, ID: uid(i) + "/" + e3 + "/al-1", Body: lic})
	}
	if err := st.Commit(ctx, []store.Change{{TenantID: tid, Mutations: muts}}); err != nil {
		t.Fatal(err)
	}
	check := func(rt *Runtime, readOnly bool) {
		t.Helper()
		tn, _ := rt.Get(tid)
		if (len(tn.Problems()) > 0) != readOnly {
			t.Fatalf("problems %v", tn.Problems())
		}
		tn.Read(func(s *State) {
			a, _ := s.Engine.AllotmentByID("al-1")
			p, _ := s.Engine.Pool(e3)
			if a.AllottedUnits != 3 || a.ConsumedUnits != 3 || a.Waiting != 7 || p.Consumed > p.Units.Enabled {
				t.Fatalf("allotment %+v, pool %+v", a, p)
			}
			for i := 1; i <= 10; i++ {
				if l, _ := s.Engine.LicenseByKey(uid(i), e3+"/al-1"); l.Held != (i <= 3) {
					t.Fatalf("user %d held %v: the oldest claims must keep the units", i, l.Held)
				}
			}
		})
	}
	rt2 := newRuntime(t, st)
	check(rt2, true)
	rt2.Close(ctx)
	if _, left, err := Repair(ctx, st, catalog.Default(), tid, "test"); err != nil || len(left) != 0 {
		t.Fatalf("repair: %v %v", err, left)
	}
	rt3 := newRuntime(t, st)
	defer rt3.Close(ctx)
	check(rt3, false)
}
