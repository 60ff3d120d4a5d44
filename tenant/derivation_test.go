package tenant

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

// loaded is what one load of the test tenant gave.
type loaded struct {
	adopted bool
	fp      string
	engine  *licensing.Engine
}

// loadWith opens a runtime with cat and opts on st, takes the test
// tenant's state, and closes the runtime.
func loadWith(t *testing.T, st store.Store, cat *catalog.Catalog, opts Options) loaded {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time { return at }
	rt, err := Open(ctx, st, cat, testOptions(opts))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	tn, ok := rt.Get(tid)
	if !ok || len(rt.ReadOnly()) != 0 {
		t.Fatal("the tenant is not loaded, or read-only")
	}
	var l loaded
	tn.Read(func(s *State) { l = loaded{s.adopted, fingerprint(s.Engine), s.Engine} })
	return l
}

func logSeq(t *testing.T, st store.Store) int64 {
	t.Helper()
	n, err := st.(store.ChangeLog).LogSeq(context.Background(), tid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rawCommit commits mutations as another program would: without the
// derivation stamp.
func rawCommit(t *testing.T, st store.Store, muts ...store.Mutation) {
	t.Helper()
	if err := st.Commit(context.Background(), []store.Change{{TenantID: tid, Mutations: muts}}); err != nil {
		t.Fatal(err)
	}
}

// A load adopts the license records this runtime committed — a bulk
// import, then commands, with an all-or-none group — and the engine is
// then exactly what a recompute of them gives (licensing.Diff: records,
// pools, waiting rooms, error counts, claim flags, clock). Adopting writes
// nothing.
func TestLoadAdoptsTheRecordsThisRuntimeCommitted(t *testing.T) {
	st := openSQLite(t)
	before, _ := binaryTenant(t, st)
	seq := logSeq(t, st)
	got := loadWith(t, st, catalog.Default(), Options{})
	if !got.adopted {
		t.Fatal("the load recomputed records this runtime committed and stamped")
	}
	if got.fp != before {
		t.Fatal("the adopted state differs from the committed one")
	}
	if n := logSeq(t, st); n != seq {
		t.Fatalf("adopting committed something: log %d → %d", seq, n)
	}
	want := loadWith(t, st, catalog.Default(), Options{Recompute: true})
	if want.adopted {
		t.Fatal("Options.Recompute did not recompute")
	}
	if d := licensing.Diff(want.engine, got.engine); d != "" {
		t.Fatalf("adopted engine differs from the recomputed one: %s", d)
	}
}

// A change committed without the stamp (an earlier version of allot, a
// hand repair) makes the next load recompute; that load stamps the
// tenant, and the one after adopts again.
func TestAChangeWithoutTheStampMakesTheLoadRecompute(t *testing.T) {
	st := openSQLite(t)
	binaryTenant(t, st)
	if !loadWith(t, st, catalog.Default(), Options{}).adopted {
		t.Fatal("not adopted before the foreign change")
	}
	var ids []string
	if err := st.LoadObjects(context.Background(), tid, func(o store.Object) error {
		if o.Kind == store.KindUser && len(ids) == 0 {
			ids = append(ids, o.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	u := licensing.User{ID: ids[0], UserPrincipalName: "renamed@contoso.example", DisplayName: "Renamed", AccountEnabled: true, UsageLocation: "US"}
	rawCommit(t, st, store.Mutation{Kind: store.KindUser, ID: u.ID, Body: licensing.AppendUserBinary(nil, &u)})
	seq := logSeq(t, st)
	first := loadWith(t, st, catalog.Default(), Options{})
	if first.adopted {
		t.Fatal("adopted records after a change the stamp does not cover")
	}
	if n := logSeq(t, st); n != seq+1 {
		t.Fatalf("the recomputing load did not commit the stamp: log %d → %d", seq, n)
	}
	second := loadWith(t, st, catalog.Default(), Options{})
	if !second.adopted || second.fp != first.fp {
		t.Fatalf("after the recompute stamped it, the load adopted=%v, same state=%v", second.adopted, second.fp == first.fp)
	}
	if d := licensing.Diff(first.engine, second.engine); d != "" {
		t.Fatalf("adopted after the repair differs from the recompute: %s", d)
	}
}

// A stamp of other semantics, or a runtime with another catalog, is not
// adopted.
func TestAStampOfOtherSemanticsOrCatalogIsNotAdopted(t *testing.T) {
	st := openSQLite(t)
	binaryTenant(t, st)
	// The stamp as a build of other semantics would write it, covering
	// its own change.
	b, _ := json.Marshal(stamp{Semantics: licensing.Semantics + 1, Catalog: catalogFingerprint(catalog.Default()), Log: logSeq(t, st) + 1})
	rawCommit(t, st, store.Mutation{Kind: store.KindSetting, ID: derivationID, Body: b})
	if loadWith(t, st, catalog.Default(), Options{}).adopted {
		t.Fatal("adopted records stamped by other semantics")
	}
	if !loadWith(t, st, catalog.Default(), Options{}).adopted {
		t.Fatal("the recomputing load did not stamp the tenant")
	}
	rules := *catalog.Default().Rules()
	rules.Dependencies = rules.Dependencies[1:]
	other, err := catalog.Default().WithRules(&rules)
	if err != nil {
		t.Fatal(err)
	}
	if loadWith(t, st, other, Options{}).adopted {
		t.Fatal("adopted records derived under another catalog's rules")
	}
}

// The stamp a commit puts is the JSON of stamp, whatever the log number.
func TestStampMutationIsTheStampsJSON(t *testing.T) {
	r := offline(nil, catalog.Default())
	for _, log := range []int64{0, 1, 42, 1 << 40} {
		want, _ := json.Marshal(stamp{Semantics: licensing.Semantics, Catalog: catalogFingerprint(catalog.Default()), Log: log})
		if got := r.stampMutation(log); string(got.Body) != string(want) || got.Kind != store.KindSetting || got.ID != derivationID {
			t.Fatalf("log %d: %s %s %s, want %s", log, got.Kind, got.ID, got.Body, want)
		}
	}
}
