package tenant

import (
	"context"
	"encoding/json"
	"maps"
	"testing"

	"allot/licensing"
	"allot/store"
)

type counters map[string]int

func init() {
	RegisterExtension(ExtensionType{
		Name:  "test-counters",
		Kinds: []store.Kind{"testCounter"},
		New:   func() any { return counters{} },
		Load: func(v any, o store.Object) error {
			var n int
			if err := json.Unmarshal(o.Body, &n); err != nil {
				return err
			}
			v.(counters)[o.ID] = n
			return nil
		},
		Remove: func(v any, _ store.Kind, id string) { delete(v.(counters), id) },
		Clone:  func(v any) any { return maps.Clone(v.(counters)) },
	})
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
			c := tx.Ext("test-counters").(counters)
			c["a"]++
			return tx.Persist("testCounter", "a", c["a"])
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tn.Read(func(s *State) {
		if got := s.Ext("test-counters").(counters)["a"]; got != 3 {
			t.Fatalf("readers' copy: %d", got)
		}
	})
	if got := tn.writer.Ext("test-counters").(counters)["a"]; got != 3 {
		t.Fatalf("writer's copy: %d", got)
	}
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	tn2, _ := newRuntime(t, st).Get(tid)
	tn2.Read(func(s *State) {
		if got := s.Ext("test-counters").(counters)["a"]; got != 3 {
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
		c := tx.Ext("test-counters").(counters)
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
		if got := s.Ext("test-counters").(counters)["raw"]; got != 41 {
			t.Fatalf("after reload: %d", got)
		}
	})
}
