package postgres

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A shared store notifies the other processes of a commit (changelog.go)
// in a transaction of its own, right after the commit's, in the same
// round trip: PostgreSQL serialises the commits of every transaction that
// sent a notification, WAL flush included (the notification queue's lock
// on the database is held until the commit ends), which capped the
// commits of all tenants together at about one flush each — ~900 a second
// on this project's test machine, against ~2,700 without
// (docs/BENCHMARKS.md, session 9). The notifying transaction writes
// nothing durable (the queue lives in memory; the listeners read the log
// itself), so it commits with synchronous_commit off: the lock is held for
// microseconds and never across a flush. A notification is still sent
// only for a change that committed (after its COMMIT in the pipeline); it
// carries the tenant's number when it is sent (its last record, which
// under the tenant's lease is the commit's own). It is lost if the
// process or the connection fails between the two transactions: the
// followers' poll finds the change (tenant/follow.go).

// sqlNotify notifies, for each tenant of $1, its last record's number, in
// a transaction that commits without waiting for its WAL flush.
const sqlNotify = `SELECT count(pg_notify('` + notifyChannel + `', h.last_seq || ' ' || h.tenant_id))
	FROM (SELECT set_config('synchronous_commit', 'off', true)) AS c, state_heads AS h
	WHERE h.tenant_id = ANY($1::text[])`

// sendCommit sends a commit's batch b as one transaction and, on a shared
// store when tenants' logs grew (told), the notification after it, in one
// round trip. A failed notification after a successful commit is logged,
// not returned.
func (s *Store) sendCommit(ctx context.Context, b *pgx.Batch, told []string) error {
	if s.leases == nil || len(told) == 0 {
		return s.pool.SendBatch(ctx, b).Close()
	}
	committed := false
	nb := &pgx.Batch{}
	nb.Queue("BEGIN")
	nb.QueuedQueries = append(nb.QueuedQueries, b.QueuedQueries...)
	nb.Queue("COMMIT").Exec(func(pgconn.CommandTag) error {
		committed = true
		return nil
	})
	nb.Queue(sqlNotify, told)
	err := s.pool.SendBatch(ctx, nb).Close()
	if err != nil && committed {
		slog.Warn("store/postgres: notifying other processes of a commit failed; they find it at their next poll", "tenants", told, "err", err)
		return nil
	}
	return err
}

// notifyCommitted notifies the commit of told's tenants (a commit sent
// otherwise than by sendCommit: one that copies its rows). Errors are
// logged.
func (s *Store) notifyCommitted(ctx context.Context, told []string) {
	if s.leases == nil || len(told) == 0 {
		return
	}
	if _, err := s.pool.Exec(ctx, sqlNotify, told); err != nil {
		slog.Warn("store/postgres: notifying other processes of a commit failed; they find it at their next poll", "tenants", told, "err", err)
	}
}
