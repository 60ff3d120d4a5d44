package tenant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

// leaseTable is the database's lease of one tenant, shared by the fake
// processes of a test.
type leaseTable struct {
	mu     sync.Mutex
	holder string
	token  int64
}

func (l *leaseTable) take(holder string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holder, l.token = holder, l.token+1
}

// fakeLeases is one process's view: it believes it holds the lease under
// the token it last got, until Fenced (as a paused process does).
type fakeLeases struct {
	name   string
	table  *leaseTable
	mu     sync.Mutex
	cached int64
	fenced int
}

func (f *fakeLeases) Token(_ context.Context, tenantID string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cached != 0 {
		return f.cached, nil
	}
	f.table.mu.Lock()
	defer f.table.mu.Unlock()
	if f.table.holder != f.name {
		return 0, allot.Errorf(allot.EUNAVAILABLE, "tenant %s is held by %s", tenantID, f.table.holder)
	}
	f.cached = f.table.token
	return f.cached, nil
}

func (f *fakeLeases) Fenced(string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fenced++
	f.cached = 0
}

// forget makes the process ask the table again (its lease ran out here).
func (f *fakeLeases) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cached = 0
}

// fencingStore refuses a commit whose token is not the table's, as
// PostgreSQL's lease_fence does.
type fencingStore struct {
	store.Store
	table *leaseTable
}

func (s fencingStore) check(c store.Change) error {
	s.table.mu.Lock()
	defer s.table.mu.Unlock()
	if c.Fence != s.table.token {
		return fmt.Errorf("token %d, current %d: %w", c.Fence, s.table.token, store.ErrFenced)
	}
	return nil
}

func (s fencingStore) Commit(ctx context.Context, cs []store.Change) error {
	for _, c := range cs {
		if err := s.check(c); err != nil {
			return err
		}
	}
	return s.Store.Commit(ctx, cs)
}

func (s fencingStore) CommitBulk(ctx context.Context, c store.Change, next func() ([]store.Object, error)) error {
	if err := s.check(c); err != nil {
		return err
	}
	return s.Store.CommitBulk(ctx, c, next)
}

// The rest of store.Leaser: only DeleteTenantFenced is used by the runtime.
func (s fencingStore) Owner() string           { return "" }
func (s fencingStore) LeaseTTL() time.Duration { return time.Hour }
func (s fencingStore) AcquireLease(context.Context, string) (store.Lease, error) {
	return store.Lease{}, errors.New("not in this fake")
}
func (s fencingStore) RenewLease(context.Context, string, int64) (store.Lease, error) {
	return store.Lease{}, errors.New("not in this fake")
}
func (s fencingStore) ReleaseLease(context.Context, string, int64) error { return nil }
func (s fencingStore) LeaseOf(context.Context, string) (store.Lease, error) {
	return store.Lease{}, store.ErrNotFound
}
func (s fencingStore) DeleteTenantFenced(ctx context.Context, id string, fence int64) error {
	if err := s.check(store.Change{TenantID: id, Fence: fence}); err != nil {
		return err
	}
	return s.Store.DeleteTenant(ctx, id)
}

// Two runtimes on one store, each writing the tenant while it holds the
// lease: each reads the tenant again when its token changed, so neither
// writes from a stale copy, audit numbers continue, and a runtime that
// believes it still holds a lease another took over is fenced: its
// command is answered 503 and nothing of it is stored.
func TestLeasesHandTheTenantBetweenRuntimes(t *testing.T) {
	ctx := context.Background()
	table := &leaseTable{}
	st := fencingStore{openSQLite(t), table}
	la, lb := &fakeLeases{name: "A", table: table}, &fakeLeases{name: "B", table: table}
	open := func(l Leases) *Runtime {
		rt, err := Open(ctx, st, catalog.Default(), testOptions(Options{Leases: l}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rt.Close(ctx) })
		return rt
	}
	table.take("A")
	a := open(la)
	seed(t, a)
	b := open(lb)
	put := func(rt *Runtime, id string) error {
		tn, ok := rt.Get(tid)
		if !ok {
			t.Fatal("no tenant")
		}
		return tn.Do(ctx, licensing.Op{}, func(tx *Tx) error {
			return tx.Engine.PutUser(tx.Op, licensing.User{ID: id, UserPrincipalName: id + "@contoso.example", UsageLocation: "US"})
		})
	}
	users := func(rt *Runtime) int {
		tn, _ := rt.Get(tid)
		n := 0
		tn.Read(func(s *State) { n = s.Engine.UserCount() })
		return n
	}
	seeded := users(a)
	if err := put(b, uid(9001)); allot.ErrorCode(err) != allot.EUNAVAILABLE {
		t.Fatalf("a write on the process without the lease: %v, want EUNAVAILABLE", err)
	}
	table.take("B")
	la.forget()
	if err := put(b, uid(9001)); err != nil {
		t.Fatalf("the new holder's write: %v", err)
	}
	if got := users(b); got != seeded+1 {
		t.Errorf("the new holder has %d users, want the %d seeded (read again) plus its own", got, seeded+1)
	}
	if err := put(a, uid(9002)); allot.ErrorCode(err) != allot.EUNAVAILABLE {
		t.Fatalf("a write on the old holder: %v, want EUNAVAILABLE", err)
	}
	table.take("A")
	lb.forget()
	if err := put(a, uid(9002)); err != nil {
		t.Fatalf("the old holder writing again under a new lease: %v", err)
	}
	if got := users(a); got != seeded+2 {
		t.Errorf("the holder has %d users, want %d: it did not read the other's write", got, seeded+2)
	}
	// B is paused: it still believes it holds token 2 and its gate lets
	// the write through, but the store refuses the stale token.
	lb.mu.Lock()
	lb.cached = 2
	lb.mu.Unlock()
	if err := put(b, uid(9003)); allot.ErrorCode(err) != allot.EUNAVAILABLE {
		t.Fatalf("the paused holder's write: %v, want EUNAVAILABLE (fenced)", err)
	}
	if lb.fenced != 1 {
		t.Errorf("fenced %d times, want 1", lb.fenced)
	}
	if err := b.Writable(ctx); err != nil {
		t.Errorf("a fenced commit made the runtime unwritable: %v", err)
	}
	if _, err := st.GetObject(ctx, tid, store.KindUser, uid(9003)); err == nil {
		t.Error("the fenced write is in the store")
	}
	// What the holder has in memory is what a fresh load of the store
	// gives.
	fresh := newRuntime(t, fencingStore{st.Store, &leaseTable{}})
	want, _ := fresh.Get(tid)
	var got, exp string
	tn, _ := a.Get(tid)
	tn.Read(func(s *State) { got = fingerprint(s.Engine) })
	want.Read(func(s *State) { exp = fingerprint(s.Engine) })
	if got != exp {
		t.Error("the holder's readers' copy differs from the store's state")
	}
	if err := put(a, uid(9004)); err != nil {
		t.Fatalf("the holder's next write: %v", err)
	}
}

// A deletion goes through the tenant's lease: a paused holder's is fenced
// and deletes nothing; the holder's deletes the tenant.
func TestDeletionUnderALease(t *testing.T) {
	ctx := context.Background()
	table := &leaseTable{}
	st := fencingStore{openSQLite(t), table}
	la, lb := &fakeLeases{name: "A", table: table}, &fakeLeases{name: "B", table: table}
	open := func(l Leases) *Runtime {
		rt, err := Open(ctx, st, catalog.Default(), testOptions(Options{Leases: l}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rt.Close(ctx) })
		return rt
	}
	table.take("B")
	b := open(lb)
	seed(t, b)
	a := open(la)
	table.take("A") // B is paused and still believes it holds token 1
	err := b.Delete(ctx, tid, func(*State) error { return nil })
	if allot.ErrorCode(err) != allot.EUNAVAILABLE || lb.fenced != 1 {
		t.Fatalf("the paused holder's deletion: %v (fenced %d), want EUNAVAILABLE, fenced once", err, lb.fenced)
	}
	if _, err := st.GetTenant(ctx, tid); err != nil {
		t.Fatalf("the tenant after the fenced deletion: %v", err)
	}
	if err := a.Delete(ctx, tid, func(*State) error { return nil }); err != nil {
		t.Fatalf("the holder's deletion: %v", err)
	}
	if _, err := st.GetTenant(ctx, tid); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the tenant after the holder's deletion: %v", err)
	}
}
