package tenant

import (
	"context"
	"runtime/debug"
	"testing"

	"allot/catalog"
	"allot/internal/memtune"
	"allot/licensing"
	"allot/synth"
)

// A large load keeps the collector paused until its engine is filled, and
// ends the pause then: the pause's collection frees the decoded records
// the engine took over, and the read models built next reuse that memory
// (load_records.go). A pause ended at the decoding's end, or never, fails.
func TestALargeLoadPausesTheCollectorUntilItsEngineIsFilled(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := newEmptyTenant(t, rt)
	s := synth.Generate(catalog.Default(), synth.Config{Users: memtune.PauseMinUsers / 2, Groups: 100, GroupLicenses: 50, MembershipsPerUser: 2, Seed: 3})
	d := licensing.ImportData{Units: map[string]int{}, Users: s.Users, Groups: s.Groups, Members: s.Members}
	for id, u := range s.Units {
		d.Units[id] = u.Enabled
	}
	if n := len(d.Users) + len(d.Members); n < memtune.PauseMinUsers {
		t.Fatalf("%d stored records: the load would not pause", n)
	}
	if err := tn.DoBulk(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
		_, err := tx.Engine.Import(tx.Op, d)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}

	memtune.Enable(memtune.Policy{PauseGC: true})
	defer memtune.Enable(memtune.Policy{})
	percent := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	before := percent()
	if before < 0 {
		t.Fatal("the collector is off before the load")
	}
	filled := -2
	loadFilled = func() { filled = percent() }
	defer func() { loadFilled = nil }()
	rt2 := newRuntime(t, st)
	defer rt2.Close(ctx)
	if _, ok := rt2.Get(tid); !ok {
		t.Fatal("the tenant is not loaded")
	}
	switch {
	case filled == -2:
		t.Fatal("the load never reported its engine filled")
	case filled >= 0:
		t.Fatalf("the collector ran at %d%% while the engine was filled: the load's pause ended before", filled)
	}
	if p := percent(); p != before {
		t.Fatalf("after the load the collector's percentage is %d, want %d back", p, before)
	}
}
