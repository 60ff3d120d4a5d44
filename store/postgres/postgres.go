// Package postgres is allot's production store: PostgreSQL through
// github.com/jackc/pgx/v5 and its connection pool. It implements store.Store.
//
// Durability: Commit returns once PostgreSQL has committed the transaction.
// A connection whose synchronous_commit is off is switched to on when it
// connects, so a commit is flushed to the server's WAL before it is
// acknowledged; stricter settings (remote_write, remote_apply) are kept.
//
// Commit sends a small batch as one pipelined pgx.Batch (one round trip, one
// implicit transaction). A large batch is copied with COPY into temporary
// tables and merged with INSERT … ON CONFLICT … DO UPDATE and DELETE … USING
// in one transaction.
//
// Several allot processes may share one database: the migrations embedded in
// migrations/ run at Open under an advisory lock, so processes starting
// together apply each of them once.
//
// The URL is a pgx connection string. Query parameters that are not pgx or
// libpq settings are sent to the server as runtime parameters; in particular
// search_path=<schema> keeps allot's tables in a schema of their own. Pool
// settings such as pool_max_conns are accepted too.
//
// Times are timestamptz: they are read back as UTC time.Time values that are
// Equal to what was written truncated to the microsecond. Identifiers use the
// "C" collation, so objects load in byte order of kind and id, as on SQLite.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"allot/store"
	"allot/store/statelog"
)

// Store is a store.Store on a PostgreSQL database. It is safe for concurrent
// use; commits of different tenants run in parallel on the pool's
// connections.
type Store struct {
	pool  *pgxpool.Pool
	owner *owner // nil on a read-only store (owner.go)
	// leases is set on a store opened with OpenShared (lease.go).
	leases *leases
	life   store.Lifecycle
	// compactor folds long logs into snapshots (Compact); nil on a
	// read-only store.
	compactor *statelog.Compactor
	compactMu sync.Mutex // one Compact at a time
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url, applies any pending migrations and
// returns the store. The process owns the database's schema until Close:
// another Open of it fails with an error wrapping store.ErrInUse (owner.go);
// readers use OpenReadOnly.
func Open(ctx context.Context, url string) (*Store, error) {
	return open(ctx, url, nil)
}

// open is Open, or OpenShared when ls is set.
func open(ctx context.Context, url string, ls *leases) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: %w", err)
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `SELECT set_config('synchronous_commit', 'on', false)
			WHERE current_setting('synchronous_commit') = 'off'`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store/postgres: connect: %w", err)
	}
	if err := migrateDB(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store/postgres: %w", err)
	}
	o, err := acquireOwner(ctx, pool, cfg.ConnConfig, ls != nil)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, owner: o, leases: ls, life: store.Lifecycle{Closed: errClosed}}
	s.compactor = statelog.StartCompactor(s.compactLong)
	rows, err := pool.Query(ctx, statelog.LegacyTenantsSQL)
	if err == nil {
		var ids []string
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		for _, id := range ids {
			s.compactor.Request(id)
		}
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store/postgres: legacy tenants: %w", err)
	}
	return s, nil
}

// Close waits for the operations in progress, then closes the pool. Later
// calls return an error; closing twice is not an error.
func (s *Store) Close() error {
	if s.compactor != nil {
		s.compactor.Close()
	}
	if s.life.Close() {
		s.owner.release()
		s.pool.Close()
	}
	return nil
}

// Backup is not supported on PostgreSQL: the returned error wraps
// errors.ErrUnsupported and tells the user to use pg_dump.
func (s *Store) Backup(ctx context.Context, path string) error {
	return fmt.Errorf("store/postgres: allot does not back up PostgreSQL itself; use pg_dump "+
		"(for example: pg_dump --format=custom --file=%s \"$DATABASE_URL\"): %w", path, errors.ErrUnsupported)
}

// errClosed is returned by every method called after Close.
var errClosed = errors.New("store/postgres: store is closed")

// isUniqueViolation reports whether err is a violation of a primary key or
// unique constraint: of one of constraints, or of any when none is given.
func isUniqueViolation(err error, constraints ...string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		return false
	}
	return len(constraints) == 0 || slices.Contains(constraints, pe.ConstraintName)
}

// utc normalises a time read from the database.
func utc(t time.Time) time.Time { return t.UTC() }

// ceilMicro rounds t up to the microsecond: stored times are whole
// microseconds, so "at >= t" and "at < t" hold exactly when they hold for
// ceilMicro(t). (pgx truncates when it encodes.)
func ceilMicro(t time.Time) time.Time {
	if t.Nanosecond()%1000 == 0 {
		return t
	}
	return t.Truncate(time.Microsecond).Add(time.Microsecond)
}

// nullString stores "" as NULL.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
