package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"allot/store"
)

// RunLeases checks the tenant lease contract (store.Leaser): open returns
// a new store instance on one database shared by every instance it
// returns, each a store.Leaser with its own owner identity and a lease
// time of at most 2 s (the tests wait for leases to expire). Instances are
// closed by the suite. Backends with leases call it from their own tests.
func RunLeases(t *testing.T, open func() (store.Store, error)) {
	su := &leaseSuite{ctx: context.Background(), open: open}
	t.Run("OneOwnerAtATimeAndTheOtherIsToldWho", su.oneOwnerAtATimeAndTheOtherIsToldWho)
	t.Run("CommitsCarryTheCurrentTokenOrWriteNothing", su.commitsCarryTheCurrentTokenOrWriteNothing)
	t.Run("ExpiryTakeoverAndThePausedOwnerIsFenced", su.expiryTakeoverAndThePausedOwnerIsFenced)
	t.Run("RenewalKeepsTheTokenAndTheLease", su.renewalKeepsTheTokenAndTheLease)
	t.Run("ReleaseHandsOverAtOnceAndTokensOnlyGrow", su.releaseHandsOverAtOnceAndTokensOnlyGrow)
	t.Run("ConcurrentAcquisitionsHaveOneWinner", su.concurrentAcquisitionsHaveOneWinner)
	t.Run("PlacementListsLiveProcessesAndHolders", su.placementListsLiveProcessesAndHolders)
	t.Run("HandOverGivesTheLeaseAtOnceAndFencesTheGiver", su.handOverGivesTheLeaseAtOnceAndFencesTheGiver)
}

// placer is the store.Placement of a store the suite opened, or the
// subtest is skipped (placement is optional to a Leaser).
func placer(t *testing.T, s store.Store) store.Placement {
	t.Helper()
	p, ok := s.(store.Placement)
	if !ok {
		t.Skipf("%T has no tenant placement", s)
	}
	return p
}

// placementOf is Placement filtered to the given tenants and owners.
func (su *leaseSuite) placementOf(t *testing.T, p store.Placement, owners []string, tenants ...string) (map[string]int, map[string]string) {
	t.Helper()
	procs, placed, err := p.Placement(su.ctx)
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]int{}
	for i, pr := range procs {
		if i > 0 && procs[i-1].Owner >= pr.Owner {
			t.Errorf("processes not sorted by owner: %q before %q", procs[i-1].Owner, pr.Owner)
		}
		for _, o := range owners {
			if pr.Owner == o {
				live[o] = pr.MaxTenants
			}
		}
	}
	holders := map[string]string{}
	for i, pl := range placed {
		if i > 0 && placed[i-1].TenantID >= pl.TenantID {
			t.Errorf("tenants not sorted: %q before %q", placed[i-1].TenantID, pl.TenantID)
		}
		for _, id := range tenants {
			if pl.TenantID == id {
				holders[id] = pl.Owner
			}
		}
	}
	return live, holders
}

func (su *leaseSuite) placementListsLiveProcessesAndHolders(t *testing.T) {
	ctx := su.ctx
	a, la := su.opened(t)
	b, lb := su.opened(t)
	pa, pb := placer(t, a), placer(t, b)
	owners := []string{la.Owner(), lb.Owner()}
	free, held := su.newTenant(t, a), su.newTenant(t, a)
	if err := pa.Heartbeat(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := pb.Heartbeat(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if err := pb.Heartbeat(ctx, -1); err == nil {
		t.Error("a heartbeat with a negative limit was accepted")
	}
	if _, err := la.AcquireLease(ctx, held); err != nil {
		t.Fatal(err)
	}
	live, holders := su.placementOf(t, pa, owners, free, held)
	if len(live) != 2 || live[la.Owner()] != 0 || live[lb.Owner()] != 5 {
		t.Errorf("live processes %v: want both, limits 0 and 5", live)
	}
	if len(holders) != 2 || holders[free] != "" || holders[held] != la.Owner() {
		t.Errorf("holders %v: want %s free and %s held by %q", holders, free, held, la.Owner())
	}
	// A process that stops renewing is gone after the lease time; one
	// that deregisters at once. An expired lease has no holder.
	if err := pb.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	if live, _ := su.placementOf(t, pa, owners); len(live) != 1 || live[la.Owner()] != 0 {
		t.Errorf("after b deregistered: %v, want a alone", live)
	}
	su.expire(t, la, held)
	deadline := time.Now().Add(10 * time.Second)
	for {
		live, holders := su.placementOf(t, pb, owners, held)
		if len(live) == 0 && holders[held] == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a process that stopped renewing is still live (%v), or an expired lease held (%v)", live, holders)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (su *leaseSuite) handOverGivesTheLeaseAtOnceAndFencesTheGiver(t *testing.T) {
	ctx := su.ctx
	a, la := su.opened(t)
	b, lb := su.opened(t)
	pa, pb := placer(t, a), placer(t, b)
	id := su.newTenant(t, a)
	got, err := la.AcquireLease(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// To a process that is not registered: refused, nothing changes.
	if _, err := pa.HandOverLease(ctx, id, got.Token, lb.Owner()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("handing over to an unregistered process: %v, want ErrNotFound", err)
	}
	if err := pb.Heartbeat(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := pa.HandOverLease(ctx, id, got.Token-1, lb.Owner()); !errors.Is(err, store.ErrFenced) {
		t.Errorf("handing over with a stale token: %v, want ErrFenced", err)
	}
	if _, err := pb.HandOverLease(ctx, id, got.Token, lb.Owner()); !errors.Is(err, store.ErrFenced) {
		t.Errorf("handing over a lease another process holds: %v, want ErrFenced", err)
	}
	moved, err := pa.HandOverLease(ctx, id, got.Token, lb.Owner())
	if err != nil {
		t.Fatal(err)
	}
	if moved.Owner != lb.Owner() || moved.Token != got.Token+1 || moved.TTL <= 0 {
		t.Fatalf("handed over: %+v, want owner %q, token %d, time left", moved, lb.Owner(), got.Token+1)
	}
	// The new holder finds it its own (same token), at once.
	mine, err := lb.AcquireLease(ctx, id)
	if err != nil || mine.Token != moved.Token {
		t.Errorf("the new holder acquiring it: %+v, %v; want token %d", mine, err, moved.Token)
	}
	// The giver can neither commit, nor renew, nor take it back.
	if err := a.Commit(ctx, []store.Change{leaseChange(id, got.Token, "after-handover")}); !errors.Is(err, store.ErrFenced) {
		t.Errorf("a commit under the handed-over token: %v, want ErrFenced", err)
	}
	if su.has(t, a, id, "after-handover") {
		t.Error("the fenced commit wrote its user")
	}
	if _, err := la.RenewLease(ctx, id, got.Token); !errors.Is(err, store.ErrFenced) {
		t.Errorf("renewing the handed-over lease: %v, want ErrFenced", err)
	}
	if _, err := la.AcquireLease(ctx, id); !errors.Is(err, store.ErrLeased) {
		t.Errorf("the giver acquiring it again: %v, want ErrLeased", err)
	}
	if err := b.Commit(ctx, []store.Change{leaseChange(id, mine.Token, "by-new-holder")}); err != nil {
		t.Errorf("the new holder's commit: %v", err)
	}
}

// leaseSuite holds what RunLeases's subtests share: the opener and the
// counter naming their tenants (subtests may run in parallel).
type leaseSuite struct {
	ctx     context.Context
	open    func() (store.Store, error)
	mu      sync.Mutex
	tenantN int
}

// opened opens one more instance, closed when t ends, and checks it is a
// store.Leaser with a lease time the suite can wait for.
func (su *leaseSuite) opened(t *testing.T) (store.Store, store.Leaser) {
	t.Helper()
	s, err := su.open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l, ok := s.(store.Leaser)
	if !ok {
		t.Fatalf("%T is not a store.Leaser", s)
	}
	if l.LeaseTTL() <= 0 || l.LeaseTTL() > 2*time.Second {
		t.Fatalf("lease time %s: the suite needs one of at most 2s", l.LeaseTTL())
	}
	return s, l
}

// newTenant creates a tenant with a name no other subtest uses.
func (su *leaseSuite) newTenant(t *testing.T, s store.Store) string {
	t.Helper()
	su.mu.Lock()
	su.tenantN++
	id := fmt.Sprintf("leased-%d", su.tenantN)
	su.mu.Unlock()
	if err := s.CreateTenant(su.ctx, store.Tenant{ID: id, CompanyName: id, Domain: id + ".example", CreatedAt: time.Now().UTC().Truncate(time.Second)}); err != nil {
		t.Fatal(err)
	}
	return id
}

// leaseChange is a change under token fence writing one user per id,
// each with a body naming it.
func leaseChange(tenantID string, fence int64, ids ...string) store.Change {
	c := store.Change{TenantID: tenantID, Fence: fence}
	for _, id := range ids {
		c.Mutations = append(c.Mutations, store.Mutation{Kind: store.KindUser, ID: id, Body: []byte(`{"by":"` + id + `"}`)})
	}
	return c
}

// has reports whether the user id is stored in the tenant.
func (su *leaseSuite) has(t *testing.T, s store.Store, tenantID, id string) bool {
	t.Helper()
	_, err := s.GetObject(su.ctx, tenantID, store.KindUser, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// expire waits until the tenant's lease has expired on the database's
// clock.
func (su *leaseSuite) expire(t *testing.T, l store.Leaser, tenantID string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cur, err := l.LeaseOf(su.ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.TTL <= 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease of %s did not expire: %+v", tenantID, cur)
		}
		time.Sleep(cur.TTL + 10*time.Millisecond)
	}
}

func (su *leaseSuite) oneOwnerAtATimeAndTheOtherIsToldWho(t *testing.T) {
	ctx := su.ctx
	a, la := su.opened(t)
	_, lb := su.opened(t)
	if la.Owner() == "" || la.Owner() == lb.Owner() {
		t.Fatalf("owners %q and %q: want two different non-empty identities", la.Owner(), lb.Owner())
	}
	id := su.newTenant(t, a)
	if _, err := la.LeaseOf(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LeaseOf a tenant never leased: %v, want ErrNotFound", err)
	}
	got, err := la.AcquireLease(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Token <= 0 || got.Owner != la.Owner() || got.TenantID != id || got.TTL <= 0 || got.TTL > la.LeaseTTL() {
		t.Fatalf("acquired %+v: want a positive token, owner %q, a TTL in (0, %s]", got, la.Owner(), la.LeaseTTL())
	}
	_, err = lb.AcquireLease(ctx, id)
	var le *store.LeasedError
	if !errors.Is(err, store.ErrLeased) || !errors.As(err, &le) {
		t.Fatalf("the second owner's acquisition: %v, want a *LeasedError", err)
	}
	if le.Lease.Owner != la.Owner() || le.Lease.Token != got.Token || !strings.Contains(err.Error(), la.Owner()) {
		t.Errorf("the refusal %q (%+v) does not name the holder %q and its token %d", err, le.Lease, la.Owner(), got.Token)
	}
	again, err := la.AcquireLease(ctx, id)
	if err != nil || again.Token != got.Token {
		t.Errorf("the holder acquiring again: %+v, %v; want the same token %d (a renewal)", again, err, got.Token)
	}
	cur, err := lb.LeaseOf(ctx, id)
	if err != nil || cur.Owner != la.Owner() || cur.Token != got.Token {
		t.Errorf("LeaseOf from the other instance: %+v, %v", cur, err)
	}
}

func (su *leaseSuite) commitsCarryTheCurrentTokenOrWriteNothing(t *testing.T) {
	ctx := su.ctx
	a, la := su.opened(t)
	id := su.newTenant(t, a)
	other := su.newTenant(t, a)
	l, err := la.AcquireLease(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	lo, err := la.AcquireLease(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx, []store.Change{leaseChange(id, l.Token, "ok")}); err != nil {
		t.Fatalf("a commit under the current token: %v", err)
	}
	if err := a.Commit(ctx, []store.Change{leaseChange(id, 0, "untokened")}); !errors.Is(err, store.ErrFenced) {
		t.Errorf("a commit without a token: %v, want ErrFenced", err)
	}
	if err := a.Commit(ctx, []store.Change{leaseChange(id, l.Token+1, "future")}); !errors.Is(err, store.ErrFenced) {
		t.Errorf("a commit with a token not yet issued: %v, want ErrFenced", err)
	}
	// One stale change fails the whole commit.
	if err := a.Commit(ctx, []store.Change{leaseChange(other, lo.Token, "good"), leaseChange(id, l.Token-1, "stale")}); !errors.Is(err, store.ErrFenced) {
		t.Errorf("a commit with one stale change: %v, want ErrFenced", err)
	}
	err = a.CommitBulk(ctx, leaseChange(id, l.Token+7, "bulk"), func() ([]store.Object, error) { return nil, nil })
	if !errors.Is(err, store.ErrFenced) {
		t.Errorf("a bulk commit with a stale token: %v, want ErrFenced", err)
	}
	for _, w := range []struct{ tenant, id string }{{id, "untokened"}, {id, "future"}, {other, "good"}, {id, "stale"}, {id, "bulk"}} {
		if su.has(t, a, w.tenant, w.id) {
			t.Errorf("the refused write %s/%s is in the store", w.tenant, w.id)
		}
	}
	if !su.has(t, a, id, "ok") {
		t.Error("the accepted commit is missing")
	}
	if err := a.CommitBulk(ctx, leaseChange(id, l.Token, "bulk-ok"), func() ([]store.Object, error) { return nil, nil }); err != nil {
		t.Errorf("a bulk commit under the current token: %v", err)
	}
}

func (su *leaseSuite) expiryTakeoverAndThePausedOwnerIsFenced(t *testing.T) {
	ctx := su.ctx
	a, la := su.opened(t)
	b, lb := su.opened(t)
	id := su.newTenant(t, a)
	first, err := la.AcquireLease(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx, []store.Change{leaseChange(id, first.Token, "a1")}); err != nil {
		t.Fatal(err)
	}
	// a is paused: it does not renew. b takes over once the lease
	// expired on the database's clock.
	su.expire(t, lb, id)
	second, err := lb.AcquireLease(ctx, id)
	if err != nil {
		t.Fatalf("taking over an expired lease: %v", err)
	}
	if second.Token <= first.Token || second.Owner != lb.Owner() {
		t.Fatalf("the takeover %+v: want a token above %d owned by %q", second, first.Token, lb.Owner())
	}
	if !su.has(t, b, id, "a1") {
		t.Error("the new owner does not see the old owner's commit")
	}
	if err := b.Commit(ctx, []store.Change{leaseChange(id, second.Token, "b1")}); err != nil {
		t.Fatalf("the new owner's commit: %v", err)
	}
	// a wakes up and writes from its stale copy: refused.
	err = a.Commit(ctx, []store.Change{leaseChange(id, first.Token, "a2", "b1")})
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the paused owner's commit after the takeover: %v, want ErrFenced", err)
	}
	if !strings.Contains(err.Error(), lb.Owner()) {
		t.Errorf("the fenced commit's error %q does not name the new owner %q", err, lb.Owner())
	}
	if su.has(t, a, id, "a2") {
		t.Error("the paused owner's write is in the store")
	}
	if o, err := b.GetObject(ctx, id, store.KindUser, "b1"); err != nil || string(o.Body) != `{"by":"b1"}` {
		t.Errorf("the new owner's object after the fenced write: %s, %v", o.Body, err)
	}
	if _, err := la.RenewLease(ctx, id, first.Token); !errors.Is(err, store.ErrFenced) {
		t.Errorf("the paused owner renewing: %v, want ErrFenced", err)
	}
	if _, err := la.AcquireLease(ctx, id); !errors.Is(err, store.ErrLeased) {
		t.Errorf("the paused owner acquiring while the new one holds it: %v, want ErrLeased", err)
	}
}

func (su *leaseSuite) renewalKeepsTheTokenAndTheLease(t *testing.T) {
	ctx := su.ctx
	a, la := su.opened(t)
	_, lb := su.opened(t)
	id := su.newTenant(t, a)
	l, err := la.AcquireLease(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Renewed for longer than one lease time: b cannot take it.
	for end := time.Now().Add(la.LeaseTTL() + la.LeaseTTL()/2); time.Now().Before(end); time.Sleep(la.LeaseTTL() / 4) {
		r, err := la.RenewLease(ctx, id, l.Token)
		if err != nil || r.Token != l.Token || r.TTL <= la.LeaseTTL()/2 {
			t.Fatalf("renewal: %+v, %v", r, err)
		}
		if _, err := lb.AcquireLease(ctx, id); !errors.Is(err, store.ErrLeased) {
			t.Fatalf("acquiring a lease that is being renewed: %v, want ErrLeased", err)
		}
	}
	// Expired but taken by nobody: the holder renews it with the
	// same token, and its commits go on.
	su.expire(t, la, id)
	r, err := la.RenewLease(ctx, id, l.Token)
	if err != nil || r.Token != l.Token {
		t.Fatalf("renewing an expired lease nobody took: %+v, %v", r, err)
	}
	if err := a.Commit(ctx, []store.Change{leaseChange(id, l.Token, "after")}); err != nil {
		t.Fatal(err)
	}
}

func (su *leaseSuite) releaseHandsOverAtOnceAndTokensOnlyGrow(t *testing.T) {
	ctx := su.ctx
	a, la := su.opened(t)
	_, lb := su.opened(t)
	id := su.newTenant(t, a)
	last := int64(0)
	for i := 0; i < 6; i++ {
		from := la
		if i%2 == 1 {
			from = lb
		}
		l, err := from.AcquireLease(ctx, id)
		if err != nil {
			t.Fatalf("hand-over %d: %v", i, err)
		}
		if l.Token <= last {
			t.Fatalf("hand-over %d: token %d after %d", i, l.Token, last)
		}
		last = l.Token
		if err := from.ReleaseLease(ctx, id, l.Token); err != nil {
			t.Fatal(err)
		}
		if err := from.ReleaseLease(ctx, id, l.Token); err != nil {
			t.Errorf("releasing twice: %v", err)
		}
		if _, err := from.RenewLease(ctx, id, l.Token-1); !errors.Is(err, store.ErrFenced) {
			t.Errorf("renewing an older token: %v, want ErrFenced", err)
		}
	}
	// Deleting the tenant: only under its current token (the plain
	// DeleteTenant carries none); it keeps its token sequence.
	cur, err := la.AcquireLease(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteTenant(ctx, id); !errors.Is(err, store.ErrFenced) {
		t.Errorf("DeleteTenant without a token on a store with leases: %v, want ErrFenced", err)
	}
	if err := la.DeleteTenantFenced(ctx, id, cur.Token-1); !errors.Is(err, store.ErrFenced) {
		t.Errorf("DeleteTenantFenced with a stale token: %v, want ErrFenced", err)
	}
	if _, err := a.GetTenant(ctx, id); err != nil {
		t.Fatalf("the tenant after refused deletions: %v", err)
	}
	if err := la.DeleteTenantFenced(ctx, id, cur.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetTenant(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the tenant after its deletion: %v", err)
	}
	if err := la.ReleaseLease(ctx, id, cur.Token); err != nil {
		t.Fatal(err)
	}
	last = cur.Token
	newID := id
	if err := a.CreateTenant(ctx, store.Tenant{ID: newID, CompanyName: "again", Domain: "again.example", CreatedAt: time.Now().UTC().Truncate(time.Second)}); err != nil {
		t.Fatal(err)
	}
	l, err := la.AcquireLease(ctx, newID)
	if err != nil || l.Token <= last {
		t.Errorf("the lease of a tenant made again: %+v, %v; want a token above %d", l, err, last)
	}
}

func (su *leaseSuite) concurrentAcquisitionsHaveOneWinner(t *testing.T) {
	ctx := su.ctx
	a, _ := su.opened(t)
	id := su.newTenant(t, a)
	var ls []store.Leaser
	for i := 0; i < 4; i++ {
		_, l := su.opened(t)
		ls = append(ls, l)
	}
	var wg sync.WaitGroup
	wins := make(chan store.Lease, len(ls))
	for _, l := range ls {
		wg.Add(1)
		go func(l store.Leaser) {
			defer wg.Done()
			got, err := l.AcquireLease(ctx, id)
			if err == nil {
				wins <- got
			} else if !errors.Is(err, store.ErrLeased) {
				t.Errorf("acquire: %v", err)
			}
		}(l)
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Errorf("%d owners acquired one lease at once, want 1", n)
	}
}
