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
