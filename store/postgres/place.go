package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"allot/store"
)

// Tenant placement (store.Placement, migration 0007): the processes of a
// shared database register in processes, renewing their row like a lease.

var _ store.Placement = (*Store)(nil)

// Heartbeat implements store.Placement.
func (s *Store) Heartbeat(ctx context.Context, maxTenants int) error {
	if s.leases == nil {
		return errNotShared
	}
	if maxTenants < 0 {
		return fmt.Errorf("store/postgres: heartbeat: a negative limit of tenants (%d)", maxTenants)
	}
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	_, err := s.pool.Exec(ctx, `INSERT INTO processes AS p (owner, max_tenants, expires_at, started_at)
		VALUES ($1, $2, clock_timestamp() + $3::bigint * interval '1 microsecond', clock_timestamp())
		ON CONFLICT (owner) DO UPDATE SET max_tenants = excluded.max_tenants, expires_at = excluded.expires_at`,
		s.leases.owner, maxTenants, s.leases.ttl.Microseconds())
	if err != nil {
		return classify(fmt.Errorf("store/postgres: heartbeat: %w", err))
	}
	// Rows of processes gone long ago (killed: they removed nothing).
	if _, err := s.pool.Exec(ctx, `DELETE FROM processes WHERE expires_at < clock_timestamp() - interval '1 hour'`); err != nil {
		return classify(fmt.Errorf("store/postgres: heartbeat: %w", err))
	}
	return nil
}

// Deregister implements store.Placement.
func (s *Store) Deregister(ctx context.Context) error {
	if s.leases == nil {
		return errNotShared
	}
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	_, err := s.pool.Exec(ctx, `DELETE FROM processes WHERE owner = $1`, s.leases.owner)
	return classify(err)
}

// Placement implements store.Placement: both lists are read in one
// read-only REPEATABLE READ transaction.
func (s *Store) Placement(ctx context.Context) ([]store.Process, []store.Placed, error) {
	if err := s.life.Enter(); err != nil {
		return nil, nil, err
	}
	defer s.life.Leave()
	var procs []store.Process
	var placed []store.Placed
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT owner, max_tenants FROM processes WHERE expires_at > clock_timestamp() ORDER BY owner`)
		if err != nil {
			return err
		}
		if procs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Process, error) {
			var p store.Process
			return p, r.Scan(&p.Owner, &p.MaxTenants)
		}); err != nil {
			return err
		}
		// Every tenant at once: placement looks at them all.
		rows, err = tx.Query(ctx, `SELECT t.tenant_id, coalesce(l.owner, '') FROM tenants t
			LEFT JOIN tenant_leases l ON l.tenant_id = t.tenant_id AND l.expires_at > clock_timestamp()
			ORDER BY t.tenant_id`)
		if err != nil {
			return err
		}
		placed, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Placed, error) {
			var p store.Placed
			return p, r.Scan(&p.TenantID, &p.Owner)
		})
		return err
	})
	if err != nil {
		return nil, nil, classify(fmt.Errorf("store/postgres: placement: %w", err))
	}
	return procs, placed, nil
}

// HandOverLease implements store.Placement.
func (s *Store) HandOverLease(ctx context.Context, tenantID string, token int64, to string) (store.Lease, error) {
	if s.leases == nil {
		return store.Lease{}, errNotShared
	}
	if err := s.life.Enter(); err != nil {
		return store.Lease{}, err
	}
	defer s.life.Leave()
	l, err := scanLease(s.pool.QueryRow(ctx, `UPDATE tenant_leases SET owner = $4, token = token + 1,
			expires_at = clock_timestamp() + $5::bigint * interval '1 microsecond', acquired_at = clock_timestamp()
		WHERE tenant_id = $1 AND token = $2 AND owner = $3
			AND EXISTS (SELECT 1 FROM processes p WHERE p.owner = $4 AND p.expires_at > clock_timestamp())
		RETURNING owner, token, `+leaseTTLSQL, tenantID, token, s.leases.owner, to, s.leases.ttl.Microseconds()), tenantID)
	if err == nil {
		return l, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Lease{}, classify(fmt.Errorf("store/postgres: handing over the lease of tenant %q: %w", tenantID, err))
	}
	cur, err := s.LeaseOf(ctx, tenantID)
	if err == nil && cur.Token == token && cur.Owner == s.leases.owner {
		return store.Lease{}, fmt.Errorf("store/postgres: handing over the lease of tenant %q: %q is not a live process: %w", tenantID, to, store.ErrNotFound)
	}
	return store.Lease{}, fmt.Errorf("store/postgres: handing over the lease of tenant %q (token %d): %w", tenantID, token, store.ErrFenced)
}
