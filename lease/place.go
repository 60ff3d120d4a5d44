package lease

import (
	"context"
	"errors"
	"sort"
	"time"

	"allot/store"
)

// Placement: the processes sharing a database spread the tenants between
// them. Every process registers itself (store.Placement.Heartbeat) and,
// every placement round, reads where every tenant is and computes the same
// plan from it (Plan): each live process's target (an even share of the
// tenants, within each process's limit), which tenants nobody holds go to
// which process short of its target, and which tenants a process over its
// target gives to which process short of it. A process carries out only
// its own part: it takes the tenants given to it (acquires their leases,
// before any write) and hands the ones it gives over (HandOver). A process
// that joins is short of its target, so the others give it tenants; one
// that leaves (stops, or is killed and its registration and leases run out)
// leaves tenants that nobody holds, which the others take.
//
// A hand-over moves the lease in one statement to the new holder
// (store.Placement.HandOverLease), between two batches of the tenant's
// writer, after the writes this process admitted (Enter) were answered;
// meanwhile new writes wait, and then are forwarded to the new holder. So
// the tenant is never without a holder, and its writes pause for the time
// of the hand-over, not of a lease.

// Move is a tenant to be given to another process.
type Move struct {
	TenantID string
	To       string
}

// Targets is how many tenants each live process should hold: tenants
// spread evenly, none beyond a process's limit (MaxTenants, 0: none) —
// what a limited process cannot take goes to the others; a tenant left
// over by the division goes to the processes that hold most (current),
// then by owner, so that an even placement is left as it is. The sum is
// tenants, or the sum of the limits if that is smaller.
func Targets(procs []store.Process, current map[string]int, tenants int) map[string]int {
	target := make(map[string]int, len(procs))
	active := append([]store.Process(nil), procs...)
	sort.SliceStable(active, func(i, j int) bool {
		a, b := active[i], active[j]
		if current[a.Owner] != current[b.Owner] {
			return current[a.Owner] > current[b.Owner]
		}
		return a.Owner < b.Owner
	})
	room := func(p store.Process) int {
		if p.MaxTenants <= 0 {
			return tenants
		}
		return p.MaxTenants - target[p.Owner]
	}
	left := tenants
	for left > 0 && len(active) > 0 {
		share := left / len(active)
		next := active[:0:0]
		for _, p := range active {
			if r := room(p); r <= share {
				target[p.Owner] += r
				left -= r
			} else {
				next = append(next, p)
			}
		}
		if len(next) < len(active) {
			active = next // some took all they may: share the rest again
			continue
		}
		for i, p := range active {
			target[p.Owner] += share
			if i < left%len(active) {
				target[p.Owner]++
			}
		}
		left = 0
	}
	return target
}

// Plan is self's part of the placement of the tenants (placed: each with
// its holder, "" for none) over the live processes (procs): the tenants
// nobody holds that it is to take, and the tenants it holds that it is to
// give, and to whom. Every process computes the same plan from the same
// view. A tenant whose holder is not a live process (its registration ran
// out before its lease) is left until its lease runs out.
func Plan(procs []store.Process, placed []store.Placed, self string) (take []string, give []Move) {
	live := make(map[string]bool, len(procs))
	for _, p := range procs {
		live[p.Owner] = true
	}
	current := map[string]int{}
	held := map[string][]string{}
	var free []string
	for _, pl := range placed {
		switch {
		case pl.Owner == "":
			free = append(free, pl.TenantID)
		case live[pl.Owner]:
			current[pl.Owner]++
			held[pl.Owner] = append(held[pl.Owner], pl.TenantID)
		}
	}
	target := Targets(procs, current, len(placed))
	owners := make([]string, 0, len(procs))
	for _, p := range procs {
		owners = append(owners, p.Owner)
	}
	sort.Strings(owners)
	short := map[string]int{}
	for _, o := range owners {
		short[o] = target[o] - current[o]
	}
	// next returns the next process short of its target, "" if none.
	next := func() string {
		for _, o := range owners {
			if short[o] > 0 {
				short[o]--
				return o
			}
		}
		return ""
	}
	for _, id := range free {
		to := next()
		if to == "" {
			break
		}
		if to == self {
			take = append(take, id)
		}
	}
	for _, o := range owners {
		ids := held[o]
		for over := current[o] - target[o]; over > 0; over-- {
			to := next()
			if to == "" {
				return take, give
			}
			if o == self {
				give = append(give, Move{TenantID: ids[len(ids)-over], To: to})
			}
		}
	}
	return take, give
}

// PlaceOptions tune Keeper.Place.
type PlaceOptions struct {
	// Every is the time between placement rounds (default a third of
	// the lease time, at most a second).
	Every time.Duration
	// Between runs fn between two batches of the tenant's writer
	// (tenant.Tenant.Between), or at once for a tenant this process does
	// not run; HandOver needs it.
	Between func(ctx context.Context, tenantID string, fn func() error) error
}

// Place takes part in the placement (see above) until ctx ends, then
// deregisters this process. Each round renews its registration, reads the
// placement and carries out this process's part of the plan.
func (k *Keeper) Place(ctx context.Context, st store.Placement, o PlaceOptions) {
	if o.Every <= 0 {
		o.Every = min(k.ttl/3, time.Second)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), k.ttl)
		defer cancel()
		if err := st.Deregister(dctx); err != nil {
			k.log.Warn("leaving the placement", "err", err)
		}
	}()
	tick := time.NewTicker(o.Every)
	defer tick.Stop()
	for {
		k.PlaceOnce(ctx, st, o)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// PlaceOnce is one placement round of Place.
func (k *Keeper) PlaceOnce(ctx context.Context, st store.Placement, o PlaceOptions) {
	rctx, cancel := context.WithTimeout(ctx, k.ttl/2)
	defer cancel()
	if err := st.Heartbeat(rctx, int(k.max)); err != nil {
		if ctx.Err() == nil {
			k.log.Warn("renewing this process's registration failed", "err", err)
		}
		return
	}
	procs, placed, err := st.Placement(rctx)
	if err != nil {
		if ctx.Err() == nil {
			k.log.Warn("reading the placement of the tenants failed", "err", err)
		}
		return
	}
	self := k.Owner()
	take, give := Plan(procs, placed, self)
	for _, pl := range placed {
		if pl.Owner == self && !k.Holds(pl.TenantID) {
			take = append(take, pl.TenantID) // handed to this process
		}
	}
	for _, id := range take {
		if ctx.Err() != nil {
			return
		}
		k.take(rctx, id)
	}
	for _, m := range give {
		if ctx.Err() != nil {
			return
		}
		if err := k.HandOver(ctx, st, m.TenantID, m.To, o.Between); err != nil {
			k.log.Warn("handing a tenant to another process failed; it stays here", "tenant", m.TenantID, "to", m.To, "err", err)
		}
	}
}

// take acquires the tenant's lease for the placement (before any write),
// unless this process holds it or its limit; a refusal (another process
// was quicker) is left for the next round.
func (k *Keeper) take(ctx context.Context, tenantID string) {
	e := k.entry(tenantID)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := k.now()
	if (e.token != 0 && now.Before(e.valid)) || e.yielding || (e.token == 0 && k.full()) {
		return
	}
	if e.token != 0 {
		return // its time here ran out: the renewals (or the next write) decide
	}
	l, err := k.l.AcquireLease(ctx, tenantID)
	var le *store.LeasedError
	switch {
	case errors.As(err, &le):
		k.remember(e, le.Lease, now)
		return
	case err != nil:
		k.log.Warn("taking a tenant for the placement failed", "tenant", tenantID, "err", err)
		return
	}
	k.took(tenantID, e, l, now)
}

// errBusy: writes admitted before a hand-over did not end in time.
var errBusy = errors.New("writes of the tenant in progress did not end within half a lease")

// HandOver gives the tenant's lease, which this process holds, to the
// live process to: new writes of the tenant wait (Enter refuses them),
// the writes admitted before are waited for (at most half a lease; then
// nothing changes and errBusy is returned), and between two batches of
// the tenant's writer (between) the lease moves to to in the database. From
// then on this process refuses to write the tenant without asking the
// database (naming to) until the lease time it was given ends. A token
// that is no longer current is a lease lost (logged, counted); nothing is
// handed over.
func (k *Keeper) HandOver(ctx context.Context, st store.Placement, tenantID, to string,
	between func(ctx context.Context, tenantID string, fn func() error) error) error {
	e := k.entry(tenantID)
	e.mu.Lock()
	if e.token == 0 || e.yielding {
		e.mu.Unlock()
		return nil
	}
	e.yielding = true
	e.mu.Unlock()
	start := k.now()
	defer func() {
		e.mu.Lock()
		e.yielding = false
		e.mu.Unlock()
	}()
	for {
		e.mu.Lock()
		n := e.inflight
		e.mu.Unlock()
		if n == 0 {
			break
		}
		if k.now().Sub(start) > k.ttl/2 {
			return errBusy
		}
		time.Sleep(5 * time.Millisecond)
	}
	hctx, cancel := context.WithTimeout(ctx, k.ttl/2)
	defer cancel()
	give := func() error {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.token == 0 {
			return nil
		}
		now := k.now()
		l, err := st.HandOverLease(hctx, tenantID, e.token, to)
		switch {
		case errors.Is(err, store.ErrFenced):
			k.loseLocked(tenantID, e, "another process took the tenant over before it was handed over")
			return nil
		case err != nil:
			return err
		}
		k.log.Info("tenant lease handed to another process", "tenant", tenantID, "from_token", e.token, "token", l.Token, "to", to,
			"seconds", k.now().Sub(start).Seconds())
		k.setToken(e, 0)
		e.valid = time.Time{}
		k.remember(e, l, now)
		e.handedUntil = now.Add(l.TTL)
		k.handed.Inc()
		return nil
	}
	if between == nil {
		return give()
	}
	return between(hctx, tenantID, give)
}
