// Package lease keeps the tenant leases of one process when several allot
// processes share a database (store.Leaser: PostgreSQL opened with
// postgres.OpenShared). A Keeper acquires a tenant's lease when the process
// first writes the tenant, renews every lease it holds in the background,
// and tells the tenant runtime, before each batch of commands, the fencing
// token under which the process may write the tenant — or why it may not
// (another process holds the lease).
//
// Time: a lease's expiry is on the database's clock, and the keeper never
// compares its own clock with it. It counts a lease as its own until
// TTL × 9/10 after it sent the last acquisition or renewal that succeeded
// (the database started the lease's time after that moment), measured on
// this process's monotonic clock. A process that was paused (SIGSTOP, a
// long GC pause, a virtual machine frozen) therefore finds its leases
// expired when it wakes, and writes nothing before it has renewed them;
// and should a commit slip through between that check and the database,
// the fencing token refuses it there (store.ErrFenced).
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot"
	"allot/store"
)

// Keeper holds this process's tenant leases. It is safe for concurrent
// use; the tenant runtime calls Token from each tenant's writer.
type Keeper struct {
	l   store.Leaser
	ttl time.Duration
	log *slog.Logger
	now func() time.Time // monotonic

	mu      sync.Mutex
	tenants map[string]*entry
	// max is the limit of leases held at once (0: none); held counts
	// them (entries with a token).
	max  int64
	held atomic.Int64

	stop chan struct{}
	done chan struct{}
	once sync.Once

	acquired, lost, refused, fenced, handed prometheus.Counter
}

// entry is one tenant's lease as this process knows it.
type entry struct {
	mu    sync.Mutex // held across the database calls of this tenant
	token int64      // 0: not held
	valid time.Time  // held: until then (local monotonic clock)
	// other: the lease of another owner, and until when it surely holds
	// (refusals are answered without asking the database again).
	other      store.Lease
	otherUntil time.Time
	// otherFresh: until then the refusal is answered from other without
	// the database (a quarter lease at most: a lease handed to this
	// process meanwhile is found soon).
	otherFresh time.Time
	// yielding: the lease is being handed to another process (place.go);
	// inflight counts the writes admitted to be served here (Enter).
	yielding bool
	inflight int
	// handedUntil: this process handed the lease to another, whose lease
	// runs until then (unless this process takes the tenant again).
	handedUntil time.Time
}

// setToken records the token e is held under (0: not held), keeping
// the count of held leases (e.mu held).
func (k *Keeper) setToken(e *entry, token int64) {
	switch {
	case e.token == 0 && token != 0:
		k.held.Add(1)
	case e.token != 0 && token == 0:
		k.held.Add(-1)
	}
	e.token = token
}

// Options tune a Keeper.
type Options struct {
	Logger     *slog.Logger          // default slog.Default()
	Registerer prometheus.Registerer // the keeper's metrics; default none
	// MaxTenants limits the leases this process holds at once (0: no
	// limit): beyond it, a tenant nobody holds is not acquired (its
	// writes wait for another process to take it: Enter).
	MaxTenants int
}

// New starts a keeper of l's leases; Close stops it.
func New(l store.Leaser, o Options) *Keeper {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	k := &Keeper{l: l, ttl: l.LeaseTTL(), log: o.Logger, now: time.Now, tenants: map[string]*entry{}, max: int64(max(o.MaxTenants, 0)),
		stop: make(chan struct{}), done: make(chan struct{}),
		acquired: prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_lease_acquired_total", Help: "Tenant leases this process acquired (a new fencing token each)."}),
		lost:     prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_lease_lost_total", Help: "Tenant leases this process lost: not renewed in time, or taken over by another process."}),
		refused:  prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_lease_refused_total", Help: "Batches of commands refused because another process holds the tenant's lease."}),
		fenced:   prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_lease_fenced_total", Help: "Commits the database refused because their fencing token was stale (another process took the tenant over)."}),
		handed:   prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_lease_handed_over_total", Help: "Tenant leases this process handed to another process to even out the placement."}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(k.acquired, k.lost, k.refused, k.fenced, k.handed)
	}
	go k.renew()
	return k
}

// margin is the part of a lease's time this process does not count on.
func (k *Keeper) margin() time.Duration { return k.ttl / 10 }

// Owner is this process's identity in the leases.
func (k *Keeper) Owner() string { return k.l.Owner() }

func (k *Keeper) entry(tenantID string) *entry {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.tenants[tenantID]
	if e == nil {
		e = &entry{}
		k.tenants[tenantID] = e
	}
	return e
}

// Token returns the fencing token under which this process may write the
// tenant now: the lease it holds (renewed first if its time here ran out),
// or a new one if nobody holds it. While another process holds it, the
// error is an EUNAVAILABLE *allot.Error naming that process (answered 503
// with Retry-After); a database failure is returned as it is.
func (k *Keeper) Token(ctx context.Context, tenantID string) (int64, error) {
	return k.token(ctx, tenantID, true)
}

// Acts reports whether this process acts for the tenant now: it holds the
// tenant's lease, or has just taken it because nobody held it. Periodic
// work of a tenant that one process must do alone (reclamation campaigns'
// steps, alert deliveries) runs where Acts is true; whatever it writes
// goes through the tenant's commands, fenced by the same lease. A tenant
// another process holds is not counted as a refused batch.
func (k *Keeper) Acts(ctx context.Context, tenantID string) bool {
	_, err := k.token(ctx, tenantID, false)
	return err == nil
}

func (k *Keeper) token(ctx context.Context, tenantID string, count bool) (int64, error) {
	e := k.entry(tenantID)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := k.now()
	if e.token != 0 && now.Before(e.valid) {
		return e.token, nil
	}
	// The tenant's writer waits for this: never longer than half a lease.
	ctx, cancel := context.WithTimeout(ctx, k.ttl/2)
	defer cancel()
	if e.token != 0 {
		// Its time here ran out (this process was paused, or renewals
		// failed): renew before writing anything.
		l, err := k.l.RenewLease(ctx, tenantID, e.token)
		switch {
		case err == nil:
			e.valid = now.Add(l.TTL - k.margin())
			return e.token, nil
		case errors.Is(err, store.ErrFenced):
			k.loseLocked(tenantID, e, "another process took the tenant over while this one did not renew its lease")
		default:
			return 0, unavailable(tenantID, err)
		}
	}
	if now.Before(e.otherUntil) && now.Before(e.otherFresh) {
		if count {
			k.refused.Inc()
		}
		return 0, heldBy(e.other, e.otherUntil.Sub(now))
	}
	if k.full() {
		if count {
			k.refused.Inc()
		}
		return 0, allot.Errorf(allot.EUNAVAILABLE, "This allot process writes its limit of %d tenants (--max-tenants) and does not take tenant %s; another process takes it within a few seconds, or send the request to another process.", k.max, tenantID)
	}
	l, err := k.l.AcquireLease(ctx, tenantID)
	var le *store.LeasedError
	switch {
	case errors.As(err, &le):
		k.remember(e, le.Lease, now)
		if count {
			k.refused.Inc()
		}
		return 0, heldBy(le.Lease, le.Lease.TTL)
	case err != nil:
		return 0, unavailable(tenantID, err)
	}
	k.took(tenantID, e, l, now)
	return l.Token, nil
}

// took records an acquired lease l in e (e.mu held).
func (k *Keeper) took(tenantID string, e *entry, l store.Lease, now time.Time) {
	k.setToken(e, l.Token)
	e.valid = now.Add(l.TTL - k.margin())
	e.other, e.otherUntil, e.handedUntil = store.Lease{}, time.Time{}, time.Time{}
	k.acquired.Inc()
	k.log.Info("tenant lease acquired", "tenant", tenantID, "token", l.Token, "owner", l.Owner)
}

// remember caches another holder's lease l in e (e.mu held).
func (k *Keeper) remember(e *entry, l store.Lease, now time.Time) {
	e.other, e.otherUntil, e.otherFresh = l, now.Add(l.TTL), now.Add(min(l.TTL, k.ttl/4))
}

// full reports whether this process holds its limit of leases.
func (k *Keeper) full() bool { return k.max > 0 && k.held.Load() >= k.max }

// Held returns the tenants whose lease this process holds now (as Holds
// tells), sorted.
func (k *Keeper) Held() []string {
	k.mu.Lock()
	ids := make([]string, 0, len(k.tenants))
	for id := range k.tenants {
		ids = append(ids, id)
	}
	k.mu.Unlock()
	sort.Strings(ids)
	held := ids[:0]
	for _, id := range ids {
		if k.Holds(id) {
			held = append(held, id)
		}
	}
	return held
}

// Enter admits a write of the tenant to be served by this process and
// returns the function to call when it has been answered. It refuses
// (ok false) while the tenant's lease is being handed to another process
// and, once handed, while the lease given lasts (a write forwarded here by
// a process that read the lease before the hand-over arrives after it),
// and for a tenant this process does not hold while it holds its limit of
// leases: the write is to be forwarded to the tenant's next holder
// instead. A hand-over waits for the writes admitted before it.
func (k *Keeper) Enter(tenantID string) (leave func(), ok bool) {
	e := k.entry(tenantID)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.yielding || (e.token == 0 && (k.full() || k.now().Before(e.handedUntil))) {
		return nil, false
	}
	e.inflight++
	return func() {
		e.mu.Lock()
		e.inflight--
		e.mu.Unlock()
	}, true
}

// Holds reports whether this process holds the tenant's lease now (as far
// as it knows: the database may disagree once it expired).
func (k *Keeper) Holds(tenantID string) bool {
	k.mu.Lock()
	e := k.tenants[tenantID]
	k.mu.Unlock()
	if e == nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.token != 0 && k.now().Before(e.valid)
}

// Fenced records a commit the database refused with store.ErrFenced: the
// lease is gone (another process took the tenant over), counted and
// logged; the next Token acquires again or names the new holder.
func (k *Keeper) Fenced(tenantID string, err error) {
	k.fenced.Inc()
	k.log.Warn("commit refused by the tenant's fencing token: another process took the tenant over", "tenant", tenantID, "err", err)
	e := k.entry(tenantID)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.token != 0 {
		k.loseLocked(tenantID, e, "a commit was fenced")
	}
}

// loseLocked forgets the lease of e (e.mu held).
func (k *Keeper) loseLocked(tenantID string, e *entry, why string) {
	k.lost.Inc()
	k.log.Warn("tenant lease lost; this process stops writing the tenant", "tenant", tenantID, "token", e.token, "why", why)
	k.setToken(e, 0)
	e.valid = time.Time{}
}

// renew renews every held lease every TTL/3 until Close.
func (k *Keeper) renew() {
	defer close(k.done)
	tick := time.NewTicker(k.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-tick.C:
		}
		k.mu.Lock()
		ids := make([]string, 0, len(k.tenants))
		for id := range k.tenants {
			ids = append(ids, id)
		}
		k.mu.Unlock()
		sort.Strings(ids)
		for _, id := range ids {
			k.renewOne(id)
		}
	}
}

// renewOne renews one tenant's lease if this process holds it.
func (k *Keeper) renewOne(tenantID string) {
	e := k.entry(tenantID)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.token == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.ttl/3)
	defer cancel()
	now := k.now()
	l, err := k.l.RenewLease(ctx, tenantID, e.token)
	switch {
	case err == nil:
		e.valid = now.Add(l.TTL - k.margin())
	case errors.Is(err, store.ErrFenced):
		k.loseLocked(tenantID, e, "another process took the tenant over")
	default:
		// The database is unreachable: keep trying; once the time here
		// runs out, Token refuses to write until a renewal succeeds.
		k.log.Warn("renewing a tenant lease failed", "tenant", tenantID, "err", err)
	}
}

// Close stops renewing and releases every lease this process holds, so
// that other processes take the tenants over at once. Call it after the
// tenant runtime has stopped writing.
func (k *Keeper) Close(ctx context.Context) {
	k.once.Do(func() { close(k.stop) })
	<-k.done
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, e := range k.tenants {
		e.mu.Lock()
		if e.token != 0 {
			if err := k.l.ReleaseLease(ctx, id, e.token); err != nil {
				k.log.Warn("releasing a tenant lease", "tenant", id, "err", err)
			}
			k.setToken(e, 0)
		}
		e.mu.Unlock()
	}
}

// heldBy is the refusal of a write while l's owner holds the tenant.
func heldBy(l store.Lease, left time.Duration) error {
	return allot.Errorf(allot.EUNAVAILABLE, "Tenant %s is being written by another allot process (%s), whose lease runs for up to %s more; nothing was applied. Try again in a few seconds, or send the request to that process.",
		l.TenantID, l.Owner, left.Round(100*time.Millisecond))
}

// unavailable is the refusal of a write when the lease cannot be checked.
func unavailable(tenantID string, err error) error {
	return fmt.Errorf("%w (%w)", allot.Errorf(allot.EUNAVAILABLE, "The lease of tenant %s could not be checked because the database is unavailable; nothing was applied. Try again in a few seconds.", tenantID), err)
}
