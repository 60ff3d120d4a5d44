package tenant

import (
	"context"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
)

// A loaded tenant holds one copy (the readers'); its first command makes
// the writer's; after Options.IdleWriter without commands it holds one
// again — and snapshots and commands see the last commit throughout.
func TestATenantHoldsTwoCopiesOnlyWhileItIsWritten(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	var want string
	tn.Read(func(s *State) { want = fingerprint(s.Engine) })
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rt2, err := Open(context.Background(), st, catalog.Default(), testOptions(Options{IdleWriter: 50 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt2.Close(context.Background())
	tn2, ok := rt2.Get(tid)
	if !ok {
		t.Fatal("the tenant is not served")
	}
	// snapshot takes a snapshot, which the writer goroutine makes between
	// batches without making a copy of its own, and says whether it had one.
	snapshot := func() (string, bool) {
		c := &command{snap: true}
		if err := tn2.do(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		return fingerprint(c.state.Engine), c.writerCopy
	}
	if got, two := snapshot(); two || got != want {
		t.Fatalf("just loaded: writer's copy %v, snapshot is the last commit %v", two, got == want)
	}
	if err := tn2.Do(context.Background(), licensing.Op{Actor: "test"}, func(tx *Tx) error {
		if fingerprint(tx.Engine) != want {
			t.Error("the first command does not run on the last commit")
		}
		return tx.Engine.SetUnits(tx.Op, sku(t, "SPE_E3"), licensing.Units{Enabled: 4})
	}); err != nil {
		t.Fatal(err)
	}
	var written string
	tn2.Read(func(s *State) { written = fingerprint(s.Engine) })
	if written == want {
		t.Fatal("the command changed nothing")
	}
	if got, two := snapshot(); !two || got != written {
		t.Fatalf("after a command: writer's copy %v, snapshot is the last commit %v", two, got == written)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got, two := snapshot()
		if got != written {
			t.Fatal("a snapshot of an idle tenant is not the last commit")
		}
		if !two {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an idle tenant kept its writer's copy")
		}
	}
	if err := tn2.Do(context.Background(), licensing.Op{Actor: "test"}, func(tx *Tx) error {
		if fingerprint(tx.Engine) != written {
			t.Error("the writer's copy made after idling is not the last commit")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A snapshot given back (Return) becomes the writer's copy of a tenant
// that has none, when no command committed since it was made: the next
// command runs on it (no copy made), and what it commits is what the
// readers see. It is dropped when a command committed meanwhile, when the
// writer has a copy of its own, and when it is nil.
func TestAReturnedSnapshotBecomesTheWritersCopy(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	seed(t, rt)
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rt2, err := Open(context.Background(), st, catalog.Default(), testOptions(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt2.Close(context.Background())
	tn2, _ := rt2.Get(tid)
	ctx := context.Background()
	setUnits := func(n int) func(*Tx) error {
		return func(tx *Tx) error { return tx.Engine.SetUnits(tx.Op, sku(t, "SPE_E3"), licensing.Units{Enabled: n}) }
	}
	op := licensing.Op{Actor: "test"}

	// Just loaded: the writer has no copy; a snapshot given back is kept,
	// and the next command runs on that very copy.
	snap, err := tn2.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := fingerprint(snap.Engine)
	if !tn2.Return(ctx, snap) {
		t.Fatal("a snapshot of the last commit of a tenant without a writer's copy was not kept")
	}
	if err := tn2.Do(ctx, op, func(tx *Tx) error {
		if tx.State != snap {
			t.Error("the command after Return does not run on the returned snapshot")
		}
		if fingerprint(tx.Engine) != before {
			t.Error("the returned snapshot is not the last commit")
		}
		return setUnits(7)(tx)
	}); err != nil {
		t.Fatal(err)
	}
	var readers string
	tn2.Read(func(s *State) { readers = fingerprint(s.Engine) })
	if readers == before {
		t.Fatal("the command changed nothing")
	}
	if got := fingerprint(snap.Engine); got != readers {
		t.Fatal("the writer's copy (the returned snapshot) and the readers' differ after a command")
	}

	// The writer has a copy of its own now: a snapshot given back is
	// dropped.
	snap2, err := tn2.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tn2.Return(ctx, snap2) {
		t.Fatal("a snapshot was kept although the writer had a copy")
	}

	// A command committed after the snapshot was made: dropped, and the
	// next command runs on the last commit.
	if err := rt2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rt3, err := Open(context.Background(), st, catalog.Default(), testOptions(Options{IdleWriter: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt3.Close(ctx)
	tn3, _ := rt3.Get(tid)
	old, err := tn3.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tn3.Do(ctx, op, setUnits(9)); err != nil {
		t.Fatal(err)
	}
	var last string
	tn3.Read(func(s *State) { last = fingerprint(s.Engine) })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		c := &command{snap: true} // says whether the writer has a copy
		if err := tn3.do(ctx, c); err != nil {
			t.Fatal(err)
		}
		if !c.writerCopy {
			break // idle: the writer's copy was dropped
		}
		if time.Now().After(deadline) {
			t.Fatal("an idle tenant kept its writer's copy")
		}
	}
	if tn3.Return(ctx, old) {
		t.Fatal("a snapshot older than the last commit was kept")
	}
	if err := tn3.Do(ctx, op, func(tx *Tx) error {
		if tx.State == old || fingerprint(tx.Engine) != last {
			t.Error("the command after a dropped snapshot does not run on the last commit")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if tn3.Return(ctx, nil) {
		t.Fatal("nil was kept")
	}
}
