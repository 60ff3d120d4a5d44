package tenant

import (
	"context"
	"errors"
	"sync"
	"testing"

	"allot"
	"allot/licensing"
	"allot/store"
)

// TestDeleteRefusedByCheckChangesNothing: check's error is returned and
// the tenant stays as it was.
func TestDeleteRefusedByCheckChangesNothing(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	var before string
	tn.Read(func(s *State) { before = fingerprint(s.Engine) })
	refused := allot.Errorf(allot.ECONFLICT, "no")
	if err := rt.Delete(context.Background(), tid, func(s *State) error { return refused }); err != refused {
		t.Fatalf("Delete = %v", err)
	}
	if _, ok := rt.Get(tid); !ok {
		t.Fatal("refused deletion removed the tenant")
	}
	if err := tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error { return nil }); err != nil {
		t.Fatalf("tenant no longer takes commands: %v", err)
	}
	tn.Read(func(s *State) {
		if fingerprint(s.Engine) != before {
			t.Fatal("refused deletion changed the state")
		}
	})
}

// TestDeleteWhileCommandsRunRemovesEverything: commands racing a deletion
// either commit before it or get ENOTFOUND; afterwards the store holds
// nothing of the tenant and a restart does not load it.
func TestDeleteWhileCommandsRunRemovesEverything(t *testing.T) {
	st := openSQLite(t)
	rt := newRuntime(t, st)
	tn := seed(t, rt)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := uid(7000 + i)
			errs <- tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error {
				return tx.Engine.PutUser(tx.Op, licensing.User{ID: id, UserPrincipalName: id + "@contoso.example"})
			})
		}()
	}
	if err := rt.Delete(context.Background(), tid, func(*State) error { return nil }); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && allot.ErrorCode(err) != allot.ENOTFOUND {
			t.Fatalf("a command racing the deletion: %v", err)
		}
	}
	if err := tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error { return nil }); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("command after deletion: %v", err)
	}
	if _, ok := rt.Get(tid); ok {
		t.Fatal("the runtime still has the tenant")
	}
	if _, err := st.GetTenant(context.Background(), tid); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("store: %v", err)
	}
	n := 0
	if err := st.LoadObjects(context.Background(), tid, func(store.Object) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("%d objects left (%v)", n, err)
	}
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rt2 := newRuntime(t, st); len(rt2.List()) != 0 {
		t.Fatalf("a restart loads %d tenants", len(rt2.List()))
	}
	if err := rt.Delete(context.Background(), tid, func(*State) error { return nil }); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("second Delete: %v", err)
	}
}
