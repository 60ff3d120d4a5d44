package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"allot/store/migrate"
)

// migrationFiles are the schema changes, applied in the order of the number
// that starts their name (0001_init.sql, 0002_….sql). A migration is never
// edited once released; a change is a new file. The SQLite backend has its
// own: the dialects differ.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// lockKey is the advisory lock that serialises migrations of one schema:
// processes starting together wait for the first to finish, and allot
// instances in different schemas of one database do not wait for each other.
const lockKey = `hashtextextended('allot.migrate:' || coalesce(current_schema(), ''), 0)`

// migrate applies the pending migrations, each in its own transaction
// together with its schema_migrations row, while holding the advisory lock.
// It refuses a database whose schema is newer than this binary knows.
func migrateDB(ctx context.Context, pool *pgxpool.Pool) (err error) {
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockKey+`)`); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.Background(), `SELECT pg_advisory_unlock(`+lockKey+`)`); uerr != nil {
			// The session may still hold the lock: do not return it to the pool.
			conn.Hijack().Close(context.Background())
			if err == nil {
				err = fmt.Errorf("migrate: unlock: %w", uerr)
			}
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	done := map[int]bool{}
	newest := int64(0)
	for _, v := range applied {
		done[int(v)], newest = true, max(newest, int64(v))
	}
	if err := migrate.CheckNewest(ms, newest); err != nil {
		return err
	}
	return migrate.Run(ms, func(m migrate.File) error {
		if done[m.Version] {
			return nil
		}
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
	})
}
