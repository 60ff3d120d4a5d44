package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"allot/store"
)

// Tenant leases (store.Leaser, migration 0005). A store opened with
// OpenShared shares the database with other processes: it holds the
// schema's owner lock in shared mode (so a process that wants the whole
// database, Open, is refused while any shared one runs, and the other way
// round), and every commit of a tenant must carry the tenant's current
// fencing token (store.Change.Fence), checked by lease_fence in the
// commit's transaction.

// errLeaseFenced is the SQLSTATE lease_fence raises.
const errLeaseFenced = "AL001"

// DefaultLeaseTTL is the lease time of SharedOptions without one.
const DefaultLeaseTTL = 10 * time.Second

// SharedOptions tune OpenShared.
type SharedOptions struct {
	// TTL is how long a tenant lease lasts after its last renewal
	// (default DefaultLeaseTTL, at least 1 s).
	TTL time.Duration
	// Owner is this store's identity in the leases (store.Leaser.Owner);
	// default: ProcessIdentity(). It must be unique among the stores
	// sharing the database: OpenShared appends a random suffix.
	Owner string
}

// ProcessIdentity names this process: host, pid and start time.
func ProcessIdentity() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/pid %d/started %s", host, os.Getpid(), processStart.Format(time.RFC3339Nano))
}

var processStart = time.Now().UTC()

// leases is the lease configuration of a shared store.
type leases struct {
	owner string
	ttl   time.Duration
}

// OpenShared opens the database at url like Open, but shared with other
// processes that open it with OpenShared: each tenant is written under its
// lease (store.Leaser; the returned store implements it), and Commit and
// CommitBulk refuse a change whose Fence is not the tenant's current token
// (a change without one included) with an error wrapping store.ErrFenced,
// writing nothing. Open of the same schema is refused while a shared store
// is open, and OpenShared while an Open store is.
func OpenShared(ctx context.Context, url string, o SharedOptions) (*Store, error) {
	if o.TTL == 0 {
		o.TTL = DefaultLeaseTTL
	}
	if o.TTL < time.Second {
		return nil, fmt.Errorf("store/postgres: the lease time %s is shorter than 1s", o.TTL)
	}
	if o.Owner == "" {
		o.Owner = ProcessIdentity()
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	o.Owner += "/" + hex.EncodeToString(b)
	return open(ctx, url, &leases{owner: o.Owner, ttl: o.TTL})
}

var _ store.Leaser = (*Store)(nil)

// Owner implements store.Leaser ("" for a store not opened with OpenShared).
func (s *Store) Owner() string {
	if s.leases == nil {
		return ""
	}
	return s.leases.owner
}

// LeaseTTL implements store.Leaser.
func (s *Store) LeaseTTL() time.Duration {
	if s.leases == nil {
		return 0
	}
	return s.leases.ttl
}

// errNotShared is the lease methods' error on a store opened with Open.
var errNotShared = errors.New("store/postgres: the store was not opened with OpenShared: it owns the whole database and has no leases")

// leaseTTLSQL is a lease row's time left, in microseconds.
const leaseTTLSQL = `(extract(epoch FROM expires_at - clock_timestamp()) * 1000000)::bigint`

func scanLease(row pgx.Row, tenantID string) (store.Lease, error) {
	l := store.Lease{TenantID: tenantID}
	var us int64
	err := row.Scan(&l.Owner, &l.Token, &us)
	l.TTL = time.Duration(us) * time.Microsecond
	return l, err
}

// AcquireLease implements store.Leaser.
func (s *Store) AcquireLease(ctx context.Context, tenantID string) (store.Lease, error) {
	if s.leases == nil {
		return store.Lease{}, errNotShared
	}
	if err := s.life.Enter(); err != nil {
		return store.Lease{}, err
	}
	defer s.life.Leave()
	l, err := scanLease(s.pool.QueryRow(ctx, `INSERT INTO tenant_leases AS l (tenant_id, owner, token, expires_at, acquired_at)
		VALUES ($1, $2, 1, clock_timestamp() + $3::bigint * interval '1 microsecond', clock_timestamp())
		ON CONFLICT (tenant_id) DO UPDATE SET
			token = CASE WHEN l.owner = excluded.owner AND l.expires_at > clock_timestamp() THEN l.token ELSE l.token + 1 END,
			acquired_at = CASE WHEN l.owner = excluded.owner AND l.expires_at > clock_timestamp() THEN l.acquired_at ELSE excluded.acquired_at END,
			owner = excluded.owner, expires_at = excluded.expires_at
		WHERE l.tenant_id = excluded.tenant_id AND (l.owner = excluded.owner OR l.expires_at <= clock_timestamp())
		RETURNING owner, token, `+leaseTTLSQL, tenantID, s.leases.owner, s.leases.ttl.Microseconds()), tenantID)
	if errors.Is(err, pgx.ErrNoRows) {
		held, err := s.LeaseOf(ctx, tenantID)
		if err != nil {
			return store.Lease{}, fmt.Errorf("store/postgres: lease of tenant %q: %w", tenantID, err)
		}
		return store.Lease{}, &store.LeasedError{Lease: held}
	}
	if err != nil {
		return store.Lease{}, classify(fmt.Errorf("store/postgres: lease of tenant %q: %w", tenantID, err))
	}
	return l, nil
}

// RenewLease implements store.Leaser.
func (s *Store) RenewLease(ctx context.Context, tenantID string, token int64) (store.Lease, error) {
	if s.leases == nil {
		return store.Lease{}, errNotShared
	}
	if err := s.life.Enter(); err != nil {
		return store.Lease{}, err
	}
	defer s.life.Leave()
	l, err := scanLease(s.pool.QueryRow(ctx, `UPDATE tenant_leases SET expires_at = clock_timestamp() + $4::bigint * interval '1 microsecond'
		WHERE tenant_id = $1 AND token = $2 AND owner = $3
		RETURNING owner, token, `+leaseTTLSQL, tenantID, token, s.leases.owner, s.leases.ttl.Microseconds()), tenantID)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Lease{}, fmt.Errorf("store/postgres: renewing the lease of tenant %q (token %d): %w", tenantID, token, store.ErrFenced)
	}
	if err != nil {
		return store.Lease{}, classify(fmt.Errorf("store/postgres: renewing the lease of tenant %q: %w", tenantID, err))
	}
	return l, nil
}

// ReleaseLease implements store.Leaser.
func (s *Store) ReleaseLease(ctx context.Context, tenantID string, token int64) error {
	if s.leases == nil {
		return errNotShared
	}
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	_, err := s.pool.Exec(ctx, `UPDATE tenant_leases SET expires_at = clock_timestamp()
		WHERE tenant_id = $1 AND token = $2 AND owner = $3 AND expires_at > clock_timestamp()`, tenantID, token, s.leases.owner)
	return classify(err)
}

// LeaseOf implements store.Leaser.
func (s *Store) LeaseOf(ctx context.Context, tenantID string) (store.Lease, error) {
	if err := s.life.Enter(); err != nil {
		return store.Lease{}, err
	}
	defer s.life.Leave()
	l, err := scanLease(s.pool.QueryRow(ctx, `SELECT owner, token, `+leaseTTLSQL+` FROM tenant_leases WHERE tenant_id = $1`, tenantID), tenantID)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Lease{}, store.ErrNotFound
	}
	return l, err
}

// DeleteTenantFenced implements store.Leaser.
func (s *Store) DeleteTenantFenced(ctx context.Context, tenantID string, fence int64) error {
	if s.leases == nil {
		return errNotShared
	}
	if fence == 0 {
		return fmt.Errorf("store/postgres: delete tenant %q: no lease token: %w", tenantID, store.ErrFenced)
	}
	return s.deleteTenant(ctx, tenantID, fence)
}

// fenceChanges queues each change's lease check (lease_fence) on b. A
// shared store refuses a change without a token before anything is sent;
// a store that owns the database checks only the tokens it is given.
func (s *Store) fenceChanges(b *pgx.Batch, changes []store.Change) error {
	for _, c := range changes {
		if c.Fence == 0 && s.leases != nil {
			return fmt.Errorf("store/postgres: commit: tenant %q: a change without a lease token on a shared database: %w", c.TenantID, store.ErrFenced)
		}
		if c.Fence != 0 {
			b.Queue(`SELECT lease_fence($1, $2)`, c.TenantID, c.Fence)
		}
	}
	return nil
}

// fenceChangeTx runs c's lease check in tx (see fenceChanges).
func (s *Store) fenceChangeTx(ctx context.Context, tx pgx.Tx, c store.Change) error {
	b := &pgx.Batch{}
	if err := s.fenceChanges(b, []store.Change{c}); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

// leaseError turns a failed lease_fence into an error wrapping
// store.ErrFenced (not a store fault: the database is fine, this process
// is not the tenant's writer any more).
func leaseError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == errLeaseFenced {
		return fmt.Errorf("%w: %s", store.ErrFenced, pe.Message)
	}
	return err
}
