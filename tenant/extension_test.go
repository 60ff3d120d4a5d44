package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

type counters map[string]int

var countersKey = NewExtension(ExtensionType[counters]{
	Name:  "test-counters",
	Kinds: []store.Kind{"testCounter"},
	New:   func() counters { return counters{} },
	Load: func(v counters, o store.Object) error {
		var n int
		if err := json.Unmarshal(o.Body, &n); err != nil {
			return err
		}
		v[o.ID] = n
		return nil
	},
	Remove: func(v counters, _ store.Kind, id string) { delete(v, id) },
	Clone:  func(v counters) counters { return maps.Clone(v) },
})

// testOptions adds the test extension and index to a runtime's options.
func testOptions(o Options) Options {
	o.Extensions = append(o.Extensions, countersKey)
	o.Indexes = append(o.Indexes, countKey)
	return o
}

// An extension's value is changed by commands on the writer's copy, reaches
// the readers' copy through the committed change's objects (Load, Remove),
// and is rebuilt from the store at load.
func TestExtensionStateIsAppliedPersistedAndReloaded(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	for i := 0; i < 3; i++ {
		err := tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error {
			c := Ext(tx.State, countersKey)
			c["a"]++
			return tx.Persist("testCounter", "a", c["a"])
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tn.Read(func(s *State) {
		if got := Ext(s, countersKey)["a"]; got != 3 {
			t.Fatalf("readers' copy: %d", got)
		}
	})
	if got := Ext(tn.writer, countersKey)["a"]; got != 3 {
		t.Fatalf("writer's copy: %d", got)
	}
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	tn2, _ := newRuntime(t, st).Get(tid)
	tn2.Read(func(s *State) {
		if got := Ext(s, countersKey)["a"]; got != 3 {
			t.Fatalf("after reload: %d", got)
		}
		if _, ok := s.Object("testCounter", "a"); ok {
			t.Fatal("extension objects must not be kept as JSON too")
		}
	})
}

func TestPersistRawStoresTheBytesAndRunsOnce(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	runs := 0
	err := tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error {
		runs++
		c := Ext(tx.State, countersKey)
		c["raw"] = 41
		if err := tx.PersistRaw("testCounter", "raw", []byte("41")); err != nil {
			return err
		}
		if len(tx.muts) != 1 || string(tx.muts[0].Body) != "41" {
			t.Errorf("writer's mutations %+v", tx.muts)
		}
		return nil
	})
	if err != nil || runs != 1 {
		t.Fatalf("err %v, runs %d", err, runs)
	}
	err = tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error {
		return tx.PersistRaw("testCounter", "empty", nil)
	})
	if err == nil {
		t.Fatal("an empty raw body was accepted")
	}
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	tn2, _ := newRuntime(t, st).Get(tid)
	tn2.Read(func(s *State) {
		if got := Ext(s, countersKey)["raw"]; got != 41 {
			t.Fatalf("after reload: %d", got)
		}
	})
}

// Which stored objects load as an extension's typed state is what the
// runtime is opened with: without the extension in Options.Extensions its
// objects stay plain objects and reading it is a wiring error (a panic
// naming it), not an empty value; listing it loads them.
func TestExtensionsAreWhatTheRuntimeIsOpenedWith(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	if err := tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error {
		Ext(tx.State, countersKey)["a"] = 7
		return tx.Persist("testCounter", "a", 7)
	}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	bare, err := Open(context.Background(), st, catalog.Default(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tn2, _ := bare.Get(tid)
	tn2.Read(func(s *State) {
		if b, ok := s.Object("testCounter", "a"); !ok || string(b) != "7" {
			t.Errorf("without the extension its object is not kept as a plain object: %q %v", b, ok)
		}
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "test-counters") {
				t.Errorf("reading an extension the runtime was not opened with: %v", r)
			}
		}()
		Ext(s, countersKey)
	})
	tn2.Read(func(s *State) {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "test/count") {
				t.Errorf("reading an index the runtime was not opened with: %v", r)
			}
		}()
		IndexOf(s, countKey)
	})
	if err := bare.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	tn3, _ := newRuntime(t, st).Get(tid)
	tn3.Read(func(s *State) {
		if got := Ext(s, countersKey)["a"]; got != 7 {
			t.Errorf("with the extension: %d, want 7", got)
		}
	})
}

// Two extensions claiming one kind, or one listed twice, are refused when
// the runtime opens.
func TestOpenRefusesConflictingDeclarations(t *testing.T) {
	other := NewExtension(ExtensionType[counters]{Name: "other", Kinds: []store.Kind{"testCounter"},
		New: func() counters { return counters{} }, Load: func(counters, store.Object) error { return nil },
		Clone: func(v counters) counters { return v }})
	for name, o := range map[string]Options{
		"kind claimed twice": {Extensions: []Extension{countersKey, other}},
		"extension twice":    {Extensions: []Extension{countersKey, countersKey}},
		"index twice":        {Indexes: []IndexDecl{countKey, countKey}},
	} {
		if rt, err := Open(context.Background(), openSQLite(t), catalog.Default(), o); err == nil {
			rt.Close(context.Background())
			t.Errorf("%s: opened", name)
		}
	}
}
