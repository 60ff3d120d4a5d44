package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"allot/store/migrate"
)

// migrationFiles are the schema changes, applied in the order of the number
// that starts their name (0001_init.sql, 0002_….sql). A migration is never
// edited once released; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies the pending migrations, each in its own IMMEDIATE
// transaction together with its schema_migrations row, so that it is applied
// exactly once even when several processes open the same file at once. It
// refuses a database whose schema is newer than this binary knows.
func migrateDB(ctx context.Context, db *sql.DB) error {
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var newest sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := migrate.CheckNewest(ms, newest.Int64); err != nil {
		return err
	}
	return migrate.Run(ms, func(m migrate.File) error { return apply(ctx, conn, m) })
}

func apply(ctx context.Context, conn *sql.Conn, m migrate.File) error {
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: see dsn
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil // applied earlier, or by another process just now
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, micros(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}
