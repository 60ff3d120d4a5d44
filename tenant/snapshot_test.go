package tenant

import (
	"context"
	"testing"

	"allot/licensing"
)

// A snapshot is the state of one commit: the engine, the objects and the
// extensions as they were, whatever is committed after it; it says which
// commit it is.
func TestSnapshotKeepsTheStateOfItsCommit(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	ctx := context.Background()
	bump := func() {
		t.Helper()
		err := tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
			c := Ext(tx.State, countersKey)
			c["a"]++
			if err := tx.Put("testObject", "o", c["a"]); err != nil {
				return err
			}
			return tx.Persist("testCounter", "a", c["a"])
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	bump()
	snap, err := tn.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var engine string
	var body []byte
	var commit uint64
	tn.Read(func(s *State) {
		engine = fingerprint(s.Engine)
		body, _ = s.Object("testObject", "o")
		commit = s.Commit()
	})
	if snap.Commit() != commit || commit == 0 {
		t.Fatalf("snapshot of commit %d, readers at commit %d", snap.Commit(), commit)
	}
	if got := fingerprint(snap.Engine); got != engine {
		t.Fatalf("snapshot's engine differs:\n%s\n%s", got, engine)
	}
	// Later commits: a counter, a membership, units.
	bump()
	e3 := sku(t, "SPE_E3")
	err = tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
		if err := tx.Engine.RemoveMembers(tx.Op, gid(1), []string{uid(1)}); err != nil {
			return err
		}
		return tx.Engine.SetUnits(tx.Op, e3, licensing.Units{Enabled: 5})
	})
	if err != nil {
		t.Fatal(err)
	}
	tn.Read(func(s *State) {
		if fingerprint(s.Engine) == engine {
			t.Fatal("the later commit changed nothing: the test is too weak")
		}
		if s.Commit() != commit+2 {
			t.Fatalf("readers at commit %d after two more, want %d", s.Commit(), commit+2)
		}
	})
	if got := fingerprint(snap.Engine); got != engine {
		t.Fatalf("a later commit shows in the snapshot's engine:\n%s\n%s", got, engine)
	}
	if got := Ext(snap, countersKey)["a"]; got != 1 {
		t.Fatalf("snapshot's extension counter = %d, want 1", got)
	}
	if got, _ := snap.Object("testObject", "o"); string(body) != "1" || string(got) != string(body) {
		t.Fatalf("snapshot's object = %s, want %s", got, body)
	}
}
