package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// The writer's transactions. The store holds the writer's one connection
// (Store.wconn) for its whole life and runs a write as BEGIN IMMEDIATE, the
// write's statements, COMMIT: three prepared statements on that
// connection, no database/sql transaction. A database/sql Tx starts a
// goroutine per transaction (it waits for the context to end) that the
// COMMIT wakes, and the driver parses "begin immediate" and "commit" again
// for every transaction; on the path of every durable command that is
// scheduling and parsing for nothing: writes are already serialised by
// writeMu.
//
// Failures keep the rules of a database/sql transaction:
//   - a statement that fails, or a context that ends before COMMIT, rolls
//     the transaction back (a statement run with a context that ends is
//     interrupted and fails);
//   - COMMIT runs without the caller's context: once it has run, the
//     transaction is committed and reported so (a context that ended
//     during it must not turn a durable commit into a reported failure);
//   - a BEGIN or COMMIT that reports a failure is followed by a ROLLBACK,
//     whose own failure ("no transaction is active") is ignored: SQLite
//     leaves a transaction open after a COMMIT that failed with
//     SQLITE_BUSY, and a BEGIN whose context ended as it ran may have
//     taken effect. The next BEGIN thus never finds a transaction open.

// wtx is a write transaction in progress on the writer's connection.
type wtx struct {
	c *sql.Conn
}

// ExecContext runs a statement in the transaction.
func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.c.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction.
func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.c.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query of one row in the transaction.
func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.c.QueryRowContext(ctx, query, args...)
}

// StmtContext returns st, one of the store's statements: they are prepared
// on the writer's connection, which runs the transaction.
func (t *wtx) StmtContext(_ context.Context, st *sql.Stmt) *sql.Stmt { return st }

// shrinkCache hands the writer's page cache back to the system (PRAGMA
// shrink_memory) after a snapshot is written. A bulk commit or a
// compaction fills the cache — sized so that a bulk commit does not spill
// to the WAL before COMMIT — with pages of the snapshot it wrote, which
// nothing reads next: at a million users that is
// over 100 MB of resident memory at the import's peak. A failure costs
// only that memory. Called under writeMu.
func (s *Store) shrinkCache() {
	_, _ = s.wconn.ExecContext(context.Background(), "PRAGMA shrink_memory")
}

// begin starts a write transaction (BEGIN IMMEDIATE: the write lock is
// taken up front). Called under writeMu.
func (s *Store) begin(ctx context.Context) (*wtx, error) {
	if _, err := s.stmt.begin.ExecContext(ctx); err != nil {
		s.rollback()
		return nil, fmt.Errorf("store/sqlite: begin: %w", err)
	}
	return &wtx{c: s.wconn}, nil
}

// commit commits the transaction begun last; a context that ended first
// rolls it back. Called under writeMu.
func (s *Store) commit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		s.rollback()
		return fmt.Errorf("store/sqlite: commit: %w", err)
	}
	if _, err := s.stmt.commit.ExecContext(context.Background()); err != nil {
		s.rollback()
		return fmt.Errorf("store/sqlite: commit: %w", err)
	}
	return nil
}

// rollback rolls back the transaction in progress, if any. Called under
// writeMu.
func (s *Store) rollback() {
	_, _ = s.stmt.rollback.ExecContext(context.Background())
}
