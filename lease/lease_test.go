package lease

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"allot"
	"allot/internal/testclock"
	"allot/store"
)

var epoch = time.Unix(0, 0)

// db is an in-memory lease table with its own clock (the database's).
type db struct {
	mu    sync.Mutex
	now   time.Time
	rows  map[string]*store.Lease // TTL holds the expiry as a duration since zero time
	calls int
}

func (d *db) expiry(l *store.Lease) time.Time { return epoch.Add(l.TTL) }

func (d *db) view(l *store.Lease) store.Lease {
	v := *l
	v.TTL = d.expiry(l).Sub(d.now)
	return v
}

// fake is one store's Leaser on db.
type fake struct {
	d     *db
	owner string
	ttl   time.Duration
}

func (f *fake) Owner() string           { return f.owner }
func (f *fake) LeaseTTL() time.Duration { return f.ttl }

func (f *fake) AcquireLease(_ context.Context, id string) (store.Lease, error) {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	f.d.calls++
	l := f.d.rows[id]
	if l == nil {
		l = &store.Lease{TenantID: id}
		f.d.rows[id] = l
	}
	live := f.d.expiry(l).After(f.d.now)
	if live && l.Owner != f.owner {
		return store.Lease{}, &store.LeasedError{Lease: f.d.view(l)}
	}
	if !live || l.Owner != f.owner {
		l.Token++
	}
	l.Owner, l.TTL = f.owner, f.d.now.Add(f.ttl).Sub(epoch)
	return f.d.view(l), nil
}

func (f *fake) RenewLease(_ context.Context, id string, token int64) (store.Lease, error) {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	f.d.calls++
	l := f.d.rows[id]
	if l == nil || l.Token != token || l.Owner != f.owner {
		return store.Lease{}, store.ErrFenced
	}
	l.TTL = f.d.now.Add(f.ttl).Sub(epoch)
	return f.d.view(l), nil
}

func (f *fake) ReleaseLease(_ context.Context, id string, token int64) error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if l := f.d.rows[id]; l != nil && l.Token == token && l.Owner == f.owner {
		l.TTL = f.d.now.Sub(epoch)
	}
	return nil
}

func (f *fake) LeaseOf(_ context.Context, id string) (store.Lease, error) {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if l := f.d.rows[id]; l != nil {
		return f.d.view(l), nil
	}
	return store.Lease{}, store.ErrNotFound
}

func (d *db) advance(by time.Duration) {
	d.mu.Lock()
	d.now = d.now.Add(by)
	d.mu.Unlock()
}

// clock is the tests' settable clock.
type clock = testclock.Clock

func newKeeper(t *testing.T, d *db, owner string) (*Keeper, *clock) {
	// An hour's lease: the background renewal (every 20 min) stays out of
	// the test, which drives both clocks itself.
	k := New(&fake{d: d, owner: owner, ttl: time.Hour}, Options{})
	c := testclock.New(time.Now())
	k.now = c.Now
	t.Cleanup(func() { k.Close(context.Background()) })
	return k, c
}

func TestOneKeeperWritesATenantAndTheOtherNamesIt(t *testing.T) {
	ctx := context.Background()
	d := &db{now: time.Unix(1e9, 0), rows: map[string]*store.Lease{}}
	a, _ := newKeeper(t, d, "process-a")
	b, _ := newKeeper(t, d, "process-b")
	tok, err := a.Token(ctx, "t1")
	if err != nil || tok != 1 {
		t.Fatalf("first Token: %d, %v", tok, err)
	}
	calls := d.calls
	if again, err := a.Token(ctx, "t1"); err != nil || again != tok || d.calls != calls {
		t.Errorf("Token while held: %d, %v, %d database calls; want the same token and none", again, err, d.calls-calls)
	}
	if !a.Holds("t1") || b.Holds("t1") {
		t.Error("Holds is wrong")
	}
	_, err = b.Token(ctx, "t1")
	if allot.ErrorCode(err) != allot.EUNAVAILABLE || !strings.Contains(err.Error(), "process-a") {
		t.Fatalf("the other keeper: %v, want EUNAVAILABLE naming process-a", err)
	}
	calls = d.calls
	if _, err := b.Token(ctx, "t1"); err == nil || d.calls != calls {
		t.Errorf("a second refusal asked the database (%d calls) or passed (%v)", d.calls-calls, err)
	}
	if n := count(b.refused); n != 2 {
		t.Errorf("refused = %v, want 2", n)
	}
}

func TestAPausedKeeperRenewsBeforeWritingAndLosesATakenTenant(t *testing.T) {
	ctx := context.Background()
	d := &db{now: time.Unix(1e9, 0), rows: map[string]*store.Lease{}}
	a, ca := newKeeper(t, d, "process-a")
	b, cb := newKeeper(t, d, "process-b")
	tok, err := a.Token(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	// a is paused past its lease; nobody takes the tenant: it renews,
	// same token.
	ca.Add(2 * time.Hour)
	d.advance(2 * time.Hour)
	calls := d.calls
	if again, err := a.Token(ctx, "t1"); err != nil || again != tok || d.calls != calls+1 {
		t.Fatalf("after a pause nobody used: %d, %v (%d calls), want token %d after one renewal", again, err, d.calls-calls, tok)
	}
	// Paused again, and b takes the tenant over meanwhile.
	ca.Add(2 * time.Hour)
	d.advance(2 * time.Hour)
	cb.Add(2 * time.Hour)
	tb, err := b.Token(ctx, "t1")
	if err != nil || tb <= tok {
		t.Fatalf("the takeover: %d, %v; want a token above %d", tb, err, tok)
	}
	_, err = a.Token(ctx, "t1")
	if allot.ErrorCode(err) != allot.EUNAVAILABLE || !strings.Contains(err.Error(), "process-b") {
		t.Fatalf("the paused keeper after the takeover: %v, want EUNAVAILABLE naming process-b", err)
	}
	if n := count(a.lost); n != 1 {
		t.Errorf("lost = %v, want 1", n)
	}
	// A commit fenced in the database drops the lease at once.
	b.Fenced("t1", store.ErrFenced)
	if b.Holds("t1") || count(b.fenced) != 1 {
		t.Error("Fenced did not drop the lease or was not counted")
	}
	// Close releases: the other takes over without waiting.
	if _, err := b.Token(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	b.Close(ctx)
	a.mu.Lock()
	a.tenants["t1"].otherUntil = time.Time{} // its cached refusal is for the old lease
	a.mu.Unlock()
	if _, err := a.Token(ctx, "t1"); err != nil {
		t.Errorf("acquiring a released lease: %v", err)
	}
}

func TestRenewalLosesATakenLease(t *testing.T) {
	d := &db{now: time.Unix(1e9, 0), rows: map[string]*store.Lease{}}
	a, _ := newKeeper(t, d, "process-a")
	if _, err := a.Token(context.Background(), "t1"); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.rows["t1"].Token++ // taken over
	d.rows["t1"].Owner = "process-b"
	d.mu.Unlock()
	a.renewOne("t1")
	if a.Holds("t1") {
		t.Error("the keeper still holds a lease another took over")
	}
	if _, err := a.l.RenewLease(context.Background(), "t1", 1); !errors.Is(err, store.ErrFenced) {
		t.Fatal(err)
	}
}

func count(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func (f *fake) DeleteTenantFenced(context.Context, string, int64) error {
	return errors.New("not in this fake")
}

// Acts: a keeper acts for a tenant nobody holds (taking its lease, which
// its writes then use) and not for one another keeper holds; the
// refusals are not counted as refused batches.
func TestActsTakesAFreeTenantOnly(t *testing.T) {
	ctx := context.Background()
	d := &db{now: time.Unix(1e9, 0), rows: map[string]*store.Lease{}}
	a, _ := newKeeper(t, d, "process-a")
	b, _ := newKeeper(t, d, "process-b")
	if !a.Acts(ctx, "t1") || !a.Holds("t1") {
		t.Fatal("a does not act for a tenant nobody holds")
	}
	if tok, err := a.Token(ctx, "t1"); err != nil || tok != 1 {
		t.Fatalf("a's write after Acts: %d, %v; want the lease Acts took", tok, err)
	}
	for range 2 {
		if b.Acts(ctx, "t1") || b.Holds("t1") {
			t.Fatal("b acts for a tenant a holds")
		}
	}
	if n := count(b.refused); n != 0 {
		t.Errorf("refused = %v, want 0 (Acts refuses no batch)", n)
	}
}
