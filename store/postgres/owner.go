package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"allot/store"
	"allot/store/migrate"
)

// Ownership on PostgreSQL (see store.ErrInUse). The writer holds a
// session-level advisory lock of its schema on a connection of its own for
// as long as the store is open; a second writer's pg_try_advisory_lock
// fails and it is refused with the owner's description, read from the
// owner_lease row. Each acquisition increments owner_lease.generation, and
// every commit first calls owner_fence(generation), which locks the row FOR
// SHARE and fails unless the generation is still this store's. So if the
// lock's connection is lost (a PostgreSQL restart, a network cut) and
// another process takes the database over meanwhile, this store's commits
// fail instead of writing over the new owner's state from a stale copy in
// memory; if nobody else took it, the store takes the lock again and goes
// on.
//
// A store opened with OpenShared (lease.go) takes the same lock in shared
// mode: shared stores run together, and exclude an Open store (and are
// excluded by it). Its commits are fenced per tenant by lease tokens
// instead of the generation, so its fence here does nothing; it still
// increments the generation when it starts, which fences an Open store
// that lost its lock meanwhile. An Open store, when it acquires the
// database, increments every tenant lease's token and ends the lease, which
// fences the shared stores that lost their lock meanwhile.

// ownerKey is the advisory lock of the schema's owner.
const ownerKey = `hashtextextended('allot.owner:' || coalesce(current_schema(), ''), 0)`

// errFenced is the SQLSTATE owner_fence raises (object_in_use).
const errFenced = "55006"

const ownerDDL = `
CREATE TABLE IF NOT EXISTS owner_lease (
	id          integer     NOT NULL PRIMARY KEY CHECK (id = 1),
	generation  bigint      NOT NULL,
	holder      text        NOT NULL,
	acquired_at timestamptz NOT NULL
);
CREATE OR REPLACE FUNCTION owner_fence(gen bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM owner_lease WHERE id = 1 AND generation = gen FOR SHARE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'allot: another process has taken this database over since this one opened it; restart this process'
			USING ERRCODE = 'object_in_use';
	END IF;
END $$;`

// owner is this store's ownership of the schema.
type owner struct {
	cfg        *pgx.ConnConfig
	generation int64
	holder     string
	shared     bool // OpenShared: the lock is taken in shared mode

	mu     sync.Mutex
	conn   *pgx.Conn // holds the advisory lock; nil while lost
	fenced bool      // another process took over: never write again
	stop   chan struct{}
	done   chan struct{}
	halt   sync.Once
}

// ownerWait is how long Open waits for a lock that is held.
const ownerWait = 2 * time.Second

// acquireOwner takes the schema's owner lock on a new connection, or returns
// an error wrapping store.ErrInUse naming the owner.
func acquireOwner(ctx context.Context, pool *pgxpool.Pool, cfg *pgx.ConnConfig, shared bool) (*owner, error) {
	o := &owner{cfg: cfg.Copy(), holder: store.OwnerDescription(time.Now()), shared: shared, stop: make(chan struct{}), done: make(chan struct{})}
	if shared {
		o.holder = "allot processes sharing it (tenant leases), the last started being " + o.holder
	}
	conn, err := pgx.ConnectConfig(ctx, o.cfg)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: owner lock: %w", err)
	}
	// A process that just closed the database (a restart, a test that
	// reopens) releases the lock when its server process has ended, a
	// moment after its connection closed: try for a short while.
	var got bool
	for deadline := time.Now().Add(ownerWait); ; {
		if err := conn.QueryRow(ctx, o.lockSQL()).Scan(&got); err != nil {
			conn.Close(ctx)
			return nil, fmt.Errorf("store/postgres: owner lock: %w", err)
		}
		if got || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !got {
		conn.Close(ctx)
		var holder, schema string
		_ = pool.QueryRow(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schema)
		_ = pool.QueryRow(ctx, `SELECT holder FROM owner_lease WHERE id = 1`).Scan(&holder)
		return nil, fmt.Errorf("store/postgres: %w", store.InUseError(fmt.Sprintf("schema %q of database %q", schema, cfg.Database), holder))
	}
	if _, err := conn.Exec(ctx, ownerDDL); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("store/postgres: owner lease: %w", err)
	}
	if err := conn.QueryRow(ctx, `INSERT INTO owner_lease (id, generation, holder, acquired_at) VALUES (1, 1, $1, now())
		ON CONFLICT (id) DO UPDATE SET generation = owner_lease.generation + 1, holder = excluded.holder, acquired_at = now()
		RETURNING generation`, o.holder).Scan(&o.generation); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("store/postgres: owner lease: %w", err)
	}
	if !shared {
		// Fence the shared stores that lost their lock (see above).
		if _, err := conn.Exec(ctx, `UPDATE tenant_leases SET token = token + 1, owner = $1, expires_at = clock_timestamp()`, o.holder); err != nil {
			conn.Close(ctx)
			return nil, fmt.Errorf("store/postgres: owner lease: %w", err)
		}
	}
	o.conn = conn
	go o.watch()
	return o, nil
}

// watch checks the lock's connection every second and, when it is lost,
// takes the lock again unless another process has owned the schema since.
func (o *owner) watch() {
	defer close(o.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-tick.C:
		}
		o.mu.Lock()
		if o.fenced {
			o.mu.Unlock()
			return
		}
		if o.conn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := o.conn.Ping(ctx)
			cancel()
			if err != nil {
				o.conn.Close(context.Background())
				o.conn = nil
			}
		}
		if o.conn == nil {
			o.reacquire()
		}
		o.mu.Unlock()
	}
}

// reacquire takes the lock again on a new connection; under o.mu.
func (o *owner) reacquire() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, o.cfg)
	if err != nil {
		return // PostgreSQL is still away: try again at the next tick
	}
	var got bool
	var gen int64
	err = conn.QueryRow(ctx, o.lockSQL()).Scan(&got)
	if err == nil && got && o.shared {
		o.conn = conn // tokens fence this store's commits, not the generation
		return
	}
	if err == nil && got {
		err = conn.QueryRow(ctx, `SELECT generation FROM owner_lease WHERE id = 1`).Scan(&gen)
	}
	switch {
	case err != nil || !got:
		conn.Close(ctx) // another process holds it: our commits fail at the fence
	case gen != o.generation:
		o.fenced = true
		conn.Close(ctx)
	default:
		o.conn = conn
	}
}

// lockSQL tries the owner lock in this owner's mode.
func (o *owner) lockSQL() string {
	if o.shared {
		return `SELECT pg_try_advisory_lock_shared(` + ownerKey + `)`
	}
	return `SELECT pg_try_advisory_lock(` + ownerKey + `)`
}

// fence queues the ownership check at the start of a batch (none for a
// shared owner: see above).
func (o *owner) fence(b *pgx.Batch) {
	if o.shared {
		return
	}
	b.Queue(`SELECT owner_fence($1)`, o.generation)
}

// fenceTx runs the ownership check first in tx.
func (o *owner) fenceTx(ctx context.Context, tx pgx.Tx) error {
	if o.shared {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT owner_fence($1)`, o.generation)
	return err
}

// release gives the schema up (closing the lock's connection ends the
// advisory lock). Safe on nil.
func (o *owner) release() {
	if o == nil {
		return
	}
	o.halt.Do(func() { close(o.stop) })
	<-o.done
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.conn != nil {
		o.conn.Close(context.Background())
		o.conn = nil
	}
}

// ownerError turns a failed fence into a fault that wraps store.ErrInUse:
// the database cannot be written by this process any more (another one
// owns it), which only a restart of this process resolves.
func ownerError(err error) error {
	err = leaseError(err) // a tenant's lease, lease.go
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == errFenced {
		return &store.Fault{Class: store.ErrUnwritable, Reason: "another allot process has taken this database over; restart this one",
			Err: fmt.Errorf("%w: %s", store.ErrInUse, pe.Message)}
	}
	return err
}

// OpenReadOnly connects to the database at url for reading only, without
// taking ownership, so that it works while another process (allot serve)
// writes it. Every write of the returned store returns store.ErrReadOnly.
// The schema must be the one this binary knows.
func OpenReadOnly(ctx context.Context, url string) (store.Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: %w", err)
	}
	if err := checkSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store/postgres: %w", err)
	}
	return store.ReadOnly(&Store{pool: pool, life: store.Lifecycle{Closed: errClosed}}), nil
}

// checkSchema fails unless the schema is exactly the newest this binary
// knows.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		return err
	}
	var newest *int32
	if err := pool.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("not an allot database: %w", err)
	}
	v := int64(0)
	if newest != nil {
		v = int64(*newest)
	}
	return migrate.CheckCurrent(ms, v)
}
