package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Tenant leases: several processes share one database (PostgreSQL opened
// with leases), and each tenant is written by at most one of them at a time,
// the holder of the tenant's lease.
//
// A lease has an owner (a process's identity: host, pid, start time and
// what else the process puts there, e.g. its address), a fencing token and
// an expiry. Expiry is on the database's clock: a process never compares
// its own clock with the database's, it only measures how long ago it
// sent a successful renewal. The token strictly increases, per tenant,
// every time the lease changes hands (and whenever it is acquired after it
// expired), and never goes back, even when the tenant is deleted and made
// again. Every commit of a tenant carries the token (Change.Fence) and the
// store checks it in the commit's own transaction, holding the lease row
// locked until the commit ends: a commit with a token that is not the
// current one writes nothing and fails with ErrFenced, and a takeover waits
// for the commits of the previous holder in progress. So a paused or
// partitioned process that still believes it holds the lease can never
// write after another process took it over, whatever its clock says.
//
// What the token promises the holder: while the token is unchanged, no
// other process has committed anything for the tenant. A process whose
// copy of a tenant was current under token N may keep writing from that
// copy under N; under any other token it must read the tenant again first.

// ErrFenced is returned by a commit whose fencing token is not the
// tenant's current one (another process holds or held the lease since),
// and by RenewLease for a lease that is no longer the caller's. Nothing of
// the commit is written.
var ErrFenced = errors.New("the tenant's lease is held by another process")

// ErrLeased is returned by AcquireLease while another owner holds an
// unexpired lease; the error is a *LeasedError naming it.
var ErrLeased = errors.New("the tenant is leased by another process")

// Lease is one tenant's lease as the database has it.
type Lease struct {
	TenantID string
	Owner    string // the holder's identity (see Leaser.Owner)
	Token    int64  // the fencing token, strictly increasing per tenant
	// TTL is how long the lease has left at the moment the database
	// answered, on the database's clock (0 or less: expired).
	TTL time.Duration
}

// LeasedError is AcquireLease's refusal: who holds the tenant and for how
// long at most (if it stops renewing).
type LeasedError struct {
	Lease Lease
}

func (e *LeasedError) Error() string {
	return fmt.Sprintf("tenant %s is written by another allot process (%s) for at least %s more",
		e.Lease.TenantID, e.Lease.Owner, e.Lease.TTL.Round(time.Millisecond))
}

func (e *LeasedError) Unwrap() error { return ErrLeased }

// Leaser is a store whose tenants are written under leases (see above).
// The lease methods and Commit are safe for concurrent use; the caller
// keeps one lease per tenant and renews it well before TTL ends.
type Leaser interface {
	// Owner is this store's owner identity, unique among the processes
	// (and store instances) sharing the database.
	Owner() string
	// LeaseTTL is how long a lease lasts after its last acquisition or
	// renewal.
	LeaseTTL() time.Duration
	// AcquireLease takes the tenant's lease for this owner if nobody
	// holds it or its lease expired (on the database's clock), with a new
	// token greater than every earlier one of the tenant; if this owner
	// holds it unexpired, it renews it and keeps the token. While another
	// owner holds it unexpired it fails with a *LeasedError (ErrLeased).
	AcquireLease(ctx context.Context, tenantID string) (Lease, error)
	// RenewLease extends the lease this owner holds with token by TTL
	// from now, expired or not, as long as nobody took it over meanwhile
	// (the token is still current); otherwise it fails with ErrFenced.
	RenewLease(ctx context.Context, tenantID string, token int64) (Lease, error)
	// ReleaseLease ends the lease held with token at once (another owner
	// may acquire it without waiting for it to expire). Releasing a lease
	// that is no longer this token's does nothing.
	ReleaseLease(ctx context.Context, tenantID string, token int64) error
	// LeaseOf returns the tenant's lease as the database has it (expired
	// or not: see TTL), or ErrNotFound if it never had one: the owner to
	// name to a client, or to forward a write to.
	LeaseOf(ctx context.Context, tenantID string) (Lease, error)
	// DeleteTenantFenced is DeleteTenant under the tenant's lease: it
	// fails with ErrFenced, deleting nothing, unless fence is the
	// tenant's current token. (A store with leases refuses DeleteTenant,
	// which carries no token, with ErrFenced.)
	DeleteTenantFenced(ctx context.Context, tenantID string, fence int64) error
}

// Placement spreads tenants over the processes sharing a database (allot
// serve --ha): every process registers itself (Heartbeat) and renews its
// registration like a lease; each reads where every tenant is (Placement)
// and moves or takes leases to even them out (package lease). A store that
// implements it implements Leaser.
type Placement interface {
	Leaser
	// Heartbeat registers this owner as a live process for LeaseTTL from
	// now (on the database's clock), with its limit of tenant leases
	// (maxTenants; 0: none), or renews its registration.
	Heartbeat(ctx context.Context, maxTenants int) error
	// Deregister removes this owner's registration at once (a graceful
	// stop): the others count it gone without waiting for it to expire.
	Deregister(ctx context.Context) error
	// Placement returns the live processes (registration unexpired),
	// sorted by owner, and every tenant with the holder of its unexpired
	// lease ("" when nobody holds it), sorted by tenant, read at one
	// moment of the database.
	Placement(ctx context.Context) ([]Process, []Placed, error)
	// HandOverLease gives the lease this owner holds with token to the
	// live process to, under a new token (token+1) and for LeaseTTL from
	// now: the new holder finds it its own (AcquireLease keeps the token)
	// without waiting for an expiry. It fails with ErrFenced if token is
	// no longer this owner's (nothing changes), and with ErrNotFound if
	// to is not a live process. Like a takeover, it waits for a commit
	// in progress under token, and a commit under token after it is
	// refused.
	HandOverLease(ctx context.Context, tenantID string, token int64, to string) (Lease, error)
}

// Process is a live process of the placement: its owner identity
// (Leaser.Owner) and its limit of tenant leases (0: none).
type Process struct {
	Owner      string
	MaxTenants int
}

// Placed is a tenant and the holder of its unexpired lease ("" for none).
type Placed struct {
	TenantID string
	Owner    string
}
