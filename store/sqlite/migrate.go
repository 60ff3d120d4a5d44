package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"allot/audit"
	"allot/store/migrate"
)

// migrationFiles are the schema changes, applied in the order of the number
// that starts their name (0001_init.sql, 0002_….sql). A migration is never
// edited once released; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationCode is the Go part of a migration, run after its SQL in the same
// transaction: what SQL cannot write (an encoding of allot's).
var migrationCode = map[int]func(context.Context, *sql.Tx) error{
	7: convertAuditRows,
}

// convertAuditRows moves the entries of the audit table (one row per entry)
// into audit_rows (0007_audit_rows.sql): each tenant's entries in seq order,
// auditRowMax to a row, then drops the audit table.
func convertAuditRows(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT tenant_id, seq, at, actor, action, user_id, group_id, sku_id, why, detail
		FROM audit ORDER BY tenant_id, seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		tenant string
		es     []audit.Entry
	)
	flush := func() error {
		if len(es) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, insertAuditRowSQL, tenant, es[0].Seq, es[len(es)-1].Seq, encodeAuditRow(es))
		es = es[:0]
		return err
	}
	for rows.Next() {
		var e audit.Entry
		var at int64
		var user, group, sku sql.NullString
		if err := rows.Scan(&e.TenantID, &e.Seq, &at, &e.Actor, &e.Action, &user, &group, &sku, &e.Why, &e.Detail); err != nil {
			return err
		}
		e.At = fromMicros(at)
		e.UserID, e.GroupID, e.SKUID = user.String, group.String, sku.String
		if e.TenantID != tenant || len(es) == auditRowMax {
			if err := flush(); err != nil {
				return err
			}
		}
		tenant = e.TenantID
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	rows.Close()
	_, err = tx.ExecContext(ctx, `DROP TABLE audit`)
	return err
}

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
	if code := migrationCode[m.Version]; code != nil {
		if err := code(ctx, tx); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, micros(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}
