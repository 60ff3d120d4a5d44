package tenant

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

// followStore is a fencingStore with the change log of the store under it
// (SQLite here), counting the follower's reads.
type followStore struct {
	fencingStore
	changes, loads atomic.Int64
}

func (s *followStore) cl() store.ChangeLog { return s.fencingStore.Store.(store.ChangeLog) }

func (s *followStore) LoadObjectsAt(ctx context.Context, id string, fn func(store.Object) error) (int64, error) {
	s.loads.Add(1)
	return s.cl().LoadObjectsAt(ctx, id, fn)
}

func (s *followStore) Changes(ctx context.Context, id string, after int64, fn func(int64, []store.Mutation) error) (int64, error) {
	s.changes.Add(1)
	return s.cl().Changes(ctx, id, after, fn)
}

func (s *followStore) LogSeq(ctx context.Context, id string) (int64, error) {
	return s.cl().LogSeq(ctx, id)
}

// followPair is two runtimes on one store: a writes the tenant (it holds
// the lease), b follows.
type followPair struct {
	st     *followStore
	table  *leaseTable
	la, lb *fakeLeases
	a, b   *Runtime
}

func newFollowPair(t *testing.T) *followPair {
	ctx := context.Background()
	p := &followPair{table: &leaseTable{}}
	p.st = &followStore{fencingStore: fencingStore{openSQLite(t), p.table}}
	p.la, p.lb = &fakeLeases{name: "A", table: p.table}, &fakeLeases{name: "B", table: p.table}
	open := func(l Leases) *Runtime {
		rt, err := Open(ctx, p.st, catalog.Default(), Options{Leases: l})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rt.Close(ctx) })
		return rt
	}
	p.table.take("A")
	p.a = open(p.la)
	seed(t, p.a)
	p.b = open(p.lb)
	return p
}

func putUser(t *testing.T, rt *Runtime, id string) error {
	t.Helper()
	tn, ok := rt.Get(tid)
	if !ok {
		t.Fatal("no tenant")
	}
	return tn.Do(context.Background(), licensing.Op{}, func(tx *Tx) error {
		return tx.Engine.PutUser(tx.Op, licensing.User{ID: id, UserPrincipalName: id + "@contoso.example", UsageLocation: "US"})
	})
}

func tenantOf(t *testing.T, rt *Runtime) *Tenant {
	t.Helper()
	tn, ok := rt.Get(tid)
	if !ok {
		t.Fatal("no tenant")
	}
	return tn
}

func printOf(tn *Tenant) (fp string) {
	tn.Read(func(s *State) { fp = fingerprint(s.Engine) })
	return fp
}

// waitSeq is WaitSeq with a deadline that only a hang reaches.
func waitSeq(t *testing.T, tn *Tenant, seq int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tn.WaitSeq(ctx, seq); err != nil {
		t.Fatalf("WaitSeq(%d): %v (at %d)", seq, err, tn.LogSeq())
	}
}

// A follower applies the owner's committed changes from the log, after
// its own number, and ends with the owner's state; a second step finds
// nothing to apply (no change applied twice).
func TestFollowerAppliesTheOwnersChangesOnce(t *testing.T) {
	p := newFollowPair(t)
	a, b := tenantOf(t, p.a), tenantOf(t, p.b)
	before := b.LogSeq()
	for i := range 5 {
		if err := putUser(t, p.a, uid(7000+i)); err != nil {
			t.Fatal(err)
		}
	}
	want := a.LogSeq()
	if want != before+5 {
		t.Fatalf("the owner is at %d after 5 commits from %d", want, before)
	}
	if b.LogSeq() != before {
		t.Fatalf("the follower moved without a step: %d", b.LogSeq())
	}
	loads := p.st.loads.Load()
	waitSeq(t, b, want)
	if got := b.LogSeq(); got != want {
		t.Fatalf("follower at %d, owner at %d", got, want)
	}
	if printOf(b) != printOf(a) {
		t.Fatal("the follower's state differs from the owner's")
	}
	if p.st.loads.Load() != loads {
		t.Fatal("the follower read the whole tenant instead of the log")
	}
	commit := b.reader.commit
	b.poke()
	waitIdle(t, b)
	if b.LogSeq() != want || b.reader.commit != commit {
		t.Fatalf("a second step applied something: at %d, commit %d→%d", b.LogSeq(), commit, b.reader.commit)
	}
}

// waitIdle waits until the tenant's writer has run everything queued
// before (a snapshot is a command of its own, after them).
func waitIdle(t *testing.T, tn *Tenant) {
	t.Helper()
	if _, err := tn.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A notification of a change the follower has (its own, or applied
// already) queues nothing; one of a later change queues one step.
func TestDuplicateNotificationIsIgnored(t *testing.T) {
	p := newFollowPair(t)
	a, b := tenantOf(t, p.a), tenantOf(t, p.b)
	if err := putUser(t, p.a, uid(7100)); err != nil {
		t.Fatal(err)
	}
	wake := make(chan string, 1)
	p.b.notified(tid, a.LogSeq(), wake)
	waitIdle(t, b)
	if b.LogSeq() != a.LogSeq() {
		t.Fatalf("a notification of a new change: follower at %d, owner at %d", b.LogSeq(), a.LogSeq())
	}
	reads := p.st.changes.Load()
	for range 3 {
		p.b.notified(tid, a.LogSeq(), wake)
		p.b.notified(tid, a.LogSeq()-1, wake)
	}
	waitIdle(t, b)
	if n := p.st.changes.Load() - reads; n != 0 {
		t.Fatalf("duplicate notifications read the log %d times", n)
	}
	if len(wake) != 0 {
		t.Fatal("a known tenant's notification went to the adopter")
	}
	p.b.notified("22222222-2222-2222-2222-222222222222", 1, wake)
	if got := <-wake; got != "22222222-2222-2222-2222-222222222222" {
		t.Fatalf("an unknown tenant's notification: %q", got)
	}
}

// When the log was compacted past the follower's number, it reads the
// tenant anew (the snapshot) and goes on from there.
func TestFollowerReloadsWhenTheLogIsCompactedPastIt(t *testing.T) {
	p := newFollowPair(t)
	a, b := tenantOf(t, p.a), tenantOf(t, p.b)
	for i := range 3 {
		if err := putUser(t, p.a, uid(7200+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.st.fencingStore.Store.(store.Compactor).Compact(context.Background(), tid); err != nil {
		t.Fatal(err)
	}
	if err := putUser(t, p.a, uid(7210)); err != nil {
		t.Fatal(err)
	}
	loads := p.st.loads.Load()
	waitSeq(t, b, a.LogSeq())
	if p.st.loads.Load() != loads+1 {
		t.Fatalf("the follower read the tenant %d times, want once", p.st.loads.Load()-loads)
	}
	if printOf(b) != printOf(a) || b.LogSeq() != a.LogSeq() {
		t.Fatal("after the reload the follower differs from the owner")
	}
	if err := putUser(t, p.a, uid(7211)); err != nil {
		t.Fatal(err)
	}
	waitSeq(t, b, a.LogSeq())
	if p.st.loads.Load() != loads+1 || printOf(b) != printOf(a) {
		t.Fatal("after the reload the follower does not follow the log")
	}
}

// A follower that takes the tenant over catches up from the log (no full
// read) and writes from there; the old owner, taking it back, does too.
func TestTakeOverCatchesUpFromTheLog(t *testing.T) {
	p := newFollowPair(t)
	a, b := tenantOf(t, p.a), tenantOf(t, p.b)
	if err := putUser(t, p.a, uid(7300)); err != nil {
		t.Fatal(err)
	}
	loads := p.st.loads.Load()
	p.table.take("B")
	p.la.forget()
	if err := putUser(t, p.b, uid(7301)); err != nil {
		t.Fatalf("the new owner's write: %v", err)
	}
	if p.st.loads.Load() != loads {
		t.Fatal("the new owner read the whole tenant")
	}
	if err := putUser(t, p.a, uid(7302)); allot.ErrorCode(err) != allot.EUNAVAILABLE {
		t.Fatalf("the old owner's write: %v", err)
	}
	p.table.take("A")
	p.lb.forget()
	if err := putUser(t, p.a, uid(7303)); err != nil {
		t.Fatalf("the old owner writing again: %v", err)
	}
	if p.st.loads.Load() != loads {
		t.Fatal("the old owner read the whole tenant to take it back")
	}
	waitSeq(t, b, a.LogSeq())
	fresh := newRuntime(t, fencingStore{p.st.fencingStore.Store, &leaseTable{}})
	want := printOf(tenantOf(t, fresh))
	if printOf(a) != want || printOf(b) != want {
		t.Fatal("owner or follower differ from a fresh load of the store")
	}
	for _, id := range []string{uid(7300), uid(7301), uid(7303)} {
		if _, err := p.st.GetObject(context.Background(), tid, store.KindUser, id); err != nil {
			t.Errorf("user %s: %v", id, err)
		}
	}
	if _, err := p.st.GetObject(context.Background(), tid, store.KindUser, uid(7302)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused write is stored: %v", err)
	}
}

// A tenant another process creates is loaded by the followers' poll, and
// dropped once that process deletes it.
func TestFollowerAdoptsCreatedAndDropsDeletedTenants(t *testing.T) {
	p := newFollowPair(t)
	ctx := context.Background()
	const other = "33333333-3333-3333-3333-333333333333"
	p.table.take("A") // the fake table has one lease for every tenant
	p.la.forget()
	if _, err := p.a.Create(ctx, store.Tenant{ID: other, CompanyName: "Other"}, licensing.Settings{DefaultUsageLocation: "US"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.b.Get(other); ok {
		t.Fatal("the follower knew the tenant before a poll")
	}
	p.b.followAll(ctx)
	tn, err := p.b.Wait(ctx, other)
	if err != nil {
		t.Fatalf("the follower after a poll: %v", err)
	}
	ta, _ := p.a.Get(other)
	if tn.LogSeq() != ta.LogSeq() || printOf(tn) != printOf(ta) {
		t.Fatal("the adopted tenant differs from its owner's")
	}
	if err := p.a.Delete(ctx, other, func(*State) error { return nil }); err != nil {
		t.Fatal(err)
	}
	p.b.followAll(ctx)
	if _, err := tn.Snapshot(ctx); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("a command of the deleted tenant on the follower: %v, want ENOTFOUND", err)
	}
	if _, ok := p.b.Get(other); ok {
		t.Fatal("the follower still serves the deleted tenant")
	}
}

// WaitSeq for a change nobody committed ends with its context.
func TestWaitSeqEndsWithItsContext(t *testing.T) {
	p := newFollowPair(t)
	b := tenantOf(t, p.b)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.WaitSeq(ctx, b.LogSeq()+1); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitSeq past the log: %v", err)
	}
	if err := b.WaitSeq(ctx, b.LogSeq()); err != nil {
		t.Fatalf("WaitSeq of a change it has: %v", err)
	}
}

// A tenant record (company name, domain) changed by another process is
// not in the tenant's log: the follower's poll finds it; a record this
// process replaced after the list was read is kept.
func TestFollowerSeesTheTenantRecordChangedElsewhere(t *testing.T) {
	p := newFollowPair(t)
	ctx := context.Background()
	tb := tenantOf(t, p.b)
	info := tenantOf(t, p.a).Info()
	info.CompanyName, info.Domain = "Renamed Ltd", "renamed.example"
	if err := p.a.UpdateInfo(ctx, info); err != nil {
		t.Fatal(err)
	}
	if tb.Info().CompanyName == "Renamed Ltd" {
		t.Fatal("the follower had the new record before a poll")
	}
	p.b.followAll(ctx)
	if got := tb.Info(); got.CompanyName != "Renamed Ltd" || got.Domain != "renamed.example" {
		t.Fatalf("the follower's record after a poll: %+v", got)
	}
	// A list read before this process's own change does not undo it.
	before := time.Now().Add(-time.Second)
	mine := info
	mine.CompanyName = "Mine"
	if err := p.b.UpdateInfo(ctx, mine); err != nil {
		t.Fatal(err)
	}
	tb.followInfo(info, before)
	if got := tb.Info().CompanyName; got != "Mine" {
		t.Errorf("a record listed before this process's change replaced it: %q", got)
	}
}
