// Package sqlite is allot's embedded store: one SQLite database file opened
// with modernc.org/sqlite (pure Go, no cgo). It implements store.Store.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so the
// write-ahead log is fsynced before a transaction's COMMIT returns; Commit is
// durable on return, across process crashes and power loss.
//
// Concurrency: every write goes through one connection and is serialised in
// process (SQLite allows one writer at a time anyway; queueing in Go is
// cheaper than spinning on SQLITE_BUSY). Reads use a pool of read-only
// connections and, thanks to WAL, never wait for the writer. One process
// owns the file for writing (Open takes an exclusive lock, owner.go); other
// processes may read it at the same time with OpenReadOnly.
//
// Times are stored as INTEGER microseconds since the Unix epoch. They are read
// back as UTC time.Time values that are Equal to what was written truncated to
// the microsecond.
//
// The schema is created and upgraded at Open by the embedded migrations in
// migrations/, recorded in the schema_migrations table.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"allot/store"
	"allot/store/statelog"
)

// busyTimeout is how long a connection waits for a lock held by another
// process before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	path   string
	writer *sql.DB // exactly one connection, held as wconn
	// wconn is the writer's connection, taken from writer at Open and
	// held until Close: every write runs on it under writeMu (writetx.go).
	wconn   *sql.Conn
	readers *sql.DB // query_only connections

	// writeMu serialises writes so that they queue in Go rather than on the
	// database lock. It is held for the whole of a write transaction.
	writeMu sync.Mutex
	stmt    statements // prepared on wconn
	// tails: the end of each tenant's log and audit as the writer last
	// wrote it (tails.go); guarded by writeMu.
	tails map[string]tail
	// pendingAudit: the tenants whose log records may hold audit entries
	// not yet in audit_rows (auditlog.go); guarded by writeMu.
	pendingAudit map[string]struct{}
	ckpt         *checkpointer
	// compactor folds long logs into snapshots (compact.go); nil on a
	// read-only store.
	compactor *statelog.Compactor
	compactMu sync.Mutex // one Compact at a time
	owner     *ownerLock // this process owns the file (owner.go)
	// auditIdx fills the audit index file (auditindex.go); nil on a
	// read-only store. indexAttached: the readers have it as "idx".
	auditIdx      *auditIndexer
	indexAttached bool

	life store.Lifecycle
}

var _ store.Store = (*Store)(nil)

// statements are the hot-path statements, prepared once on the writer's
// connection (wconn).
type statements struct {
	begin        *sql.Stmt // BEGIN IMMEDIATE (writetx.go)
	commit       *sql.Stmt
	rollback     *sql.Stmt
	insertChange *sql.Stmt
	insertPart   *sql.Stmt
	insertAudit  *sql.Stmt // a row of audit_rows
	overlapAudit *sql.Stmt // the rows of a tenant a seq range overlaps
	readTail     *sql.Stmt // tailSQL
}

// Open opens (creating if needed) the database file at path, applies any
// pending migrations and returns the store. The directory must exist. The
// process owns the database until Close: another Open of the same file, in
// this process or another, fails with an error wrapping store.ErrInUse
// (owner.go); readers use OpenReadOnly.
func Open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: %w", err)
	}
	owner, err := acquireOwner(abs)
	if err != nil {
		return nil, err
	}
	s, err := open(abs)
	if err != nil {
		owner.release()
		return nil, err
	}
	s.owner = owner
	return s, nil
}

func open(abs string) (*Store, error) {
	var err error
	s := &Store{path: abs, life: store.Lifecycle{Closed: errClosed}, tails: map[string]tail{}}

	// The writer is opened first: it switches the file to WAL mode before any
	// reader connects.
	s.writer, err = sql.Open("sqlite", dsn(abs, connWriter))
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: open %s: %w", abs, err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)

	ctx := context.Background()
	// Switching a new file to WAL mode needs the database to itself, and
	// SQLite refuses at once (SQLITE_BUSY, without the busy timeout) while
	// another process or store is opening it too: retry until the timeout.
	deadline := time.Now().Add(busyTimeout)
	for {
		err = migrateDB(ctx, s.writer)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("store/sqlite: %s: %w", abs, err)
	}
	if err := s.prepare(ctx); err != nil {
		s.closeWriter()
		return nil, fmt.Errorf("store/sqlite: %s: %w", abs, err)
	}

	if s.pendingAudit, err = findPendingAudit(ctx, s.wconn); err != nil {
		s.closeWriter()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", abs, err)
	}
	// The audit index file (auditindex.go) first: the readers attach it.
	// Its goroutine also moves pending audit entries (auditlog.go), the
	// first time in its first round, shortly after Open.
	if s.auditIdx, err = openAuditIndexer(ctx, abs, s.moveAllAudit); err != nil {
		s.closeWriter()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", abs, err)
	}
	s.readers, s.indexAttached = sql.OpenDB(attachIndex{dsn: dsn(abs, connReader), index: indexPath(abs)}), true
	// No cap on readers: a LoadObjects callback may read the store again, and
	// a capped pool could then deadlock. WAL readers do not block each other.
	s.readers.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)))
	if err := s.readers.PingContext(ctx); err != nil {
		s.auditIdx.close()
		s.closeWriter()
		s.readers.Close()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", abs, err)
	}
	if s.ckpt, err = startCheckpointer(abs, &s.writeMu); err != nil {
		s.auditIdx.close()
		s.closeWriter()
		s.readers.Close()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", abs, err)
	}
	s.compactor = statelog.StartCompactor(s.compactLong)
	if err := s.requestLegacy(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", abs, err)
	}
	return s, nil
}

// requestLegacy asks the compactor for the first snapshot of every tenant
// an earlier version stored as objects rows.
func (s *Store) requestLegacy(ctx context.Context) error {
	rows, err := s.readers.QueryContext(ctx, statelog.LegacyTenantsSQL)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		s.compactor.Request(id)
	}
	return rows.Err()
}

// prepare takes the writer's connection (wconn) and prepares the
// statements on it.
func (s *Store) prepare(ctx context.Context) error {
	var err error
	if s.wconn, err = s.writer.Conn(ctx); err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.stmt.begin, `BEGIN IMMEDIATE`},
		{&s.stmt.commit, `COMMIT`},
		{&s.stmt.rollback, `ROLLBACK`},
		{&s.stmt.readTail, tailSQL},
		{&s.stmt.insertChange, `INSERT INTO state_changes (tenant_id, seq, data, audit, audit_last) VALUES (?, ?, ?, ?, ?)`},
		{&s.stmt.insertPart, `INSERT INTO state_snapshots (tenant_id, seq, part, first_kind, first_id, data) VALUES (?, ?, ?, ?, ?, ?)`},
		{&s.stmt.insertAudit, insertAuditRowSQL},
		{&s.stmt.overlapAudit, `SELECT id, data FROM audit_rows WHERE tenant_id = ? AND last_seq >= ? AND first_seq <= ?`},
	} {
		st, err := s.wconn.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		*p.stmt = st
	}
	return nil
}

// Close waits for the operations in progress, then closes the database. Later
// calls return an error; closing twice is not an error.
func (s *Store) Close() error {
	if s.compactor != nil {
		s.compactor.Close() // cancels a compaction in progress
	}
	if !s.life.Close() {
		return nil
	}
	return errors.Join(
		s.auditIdx.close(),
		s.ckpt.close(),
		s.readers.Close(), s.closeWriter(), s.owner.release())
}

// closeWriter closes the writer's statements, connection and pool (what
// of them was opened).
func (s *Store) closeWriter() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.stmt.begin, s.stmt.commit, s.stmt.rollback, s.stmt.insertChange, s.stmt.insertPart, s.stmt.insertAudit, s.stmt.overlapAudit, s.stmt.readTail} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.wconn != nil {
		errs = append(errs, s.wconn.Close())
	}
	return errors.Join(append(errs, s.writer.Close())...)
}

type connRole int

const (
	connWriter connRole = iota
	connReader
	connBackup
	connCheckpointer
)

// dsn returns the modernc.org/sqlite data source name for the file at the
// absolute path abs. Every connection gets the busy timeout and FULL
// synchronous mode (a reader can end up running a checkpoint when it is the
// last connection to close). The writer also gets a large page cache so that
// a bulk commit of a million objects does not spill to the WAL before COMMIT,
// BEGIN IMMEDIATE so that it takes the write lock up front, and no automatic
// checkpoints (see checkpoint.go).
func dsn(abs string, role connRole) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_synchronous", "FULL")
	q.Add("_pragma", "journal_size_limit(67108864)")
	switch role {
	case connWriter:
		q.Set("_journal_mode", "WAL")
		q.Set("_txlock", "immediate")
		q.Add("_pragma", "cache_size(-65536)")
		q.Add("_pragma", "wal_autocheckpoint(0)")
	case connReader:
		q.Set("_query_only", "1")
	case connCheckpointer:
		// A TRUNCATE checkpoint holds the writers off while it waits for
		// readers: it gives up after a second (harmless, it runs again)
		// rather than stall commits for the whole busy timeout.
		q.Set("_busy_timeout", fmt.Sprint(checkpointBusy.Milliseconds()))
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String()
}

// errClosed is returned by every method called after Close.
var errClosed = errors.New("store/sqlite: store is closed")

// isBusy reports whether err is SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// isConstraint reports whether err is a primary key or unique constraint
// violation.
func isConstraint(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return true
	}
	return false
}

// micros converts t to the stored form: microseconds since the Unix epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// ceilMicros is micros rounded up: stored times are whole microseconds, so
// "at >= t" and "at < t" hold exactly when they hold for ceilMicros(t).
func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

// fromMicros converts a stored time back to a UTC time.Time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
