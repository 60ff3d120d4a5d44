package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// The audit log's indexes live in a file of their own.
//
// The audit_rows table (in the database file) keeps every entry, one row
// per tenant and commit (auditrow.go), keyed by (tenant_id, last_seq), with
// an id that is never reused: that is all a commit writes. The lookups by
// user, group, SKU and time are tables of a second SQLite file beside the
// database (indexPath), with its own write lock and log, which an indexer
// goroutine fills behind the commits, in batches of up to indexBatch rows
// taken in id order: a commit never waits for it, and a batch writes each
// index page it touches once. An index row names an audit row, not an
// entry: (tenant, user, the row's last_seq, row id) once for all the
// row's entries of that user; likewise groups and SKUs, and times by the
// second (tenant, second, row id).
//
// Contracts:
//   - The index file is derived data: it records the last id it holds
//     (progress) and whose rows they are (the database's
//     audit_index_owner id). A file that belongs to another database, or
//     claims ids the database never gave (a restored backup), or has
//     another layout (user_version), is emptied and built again from
//     audit_rows. Backups need only the database file.
//   - It runs with synchronous=NORMAL: a power cut can lose its last
//     batches, never make it inconsistent, and it then takes them again.
//   - Readers (QueryAudit) read the index file's progress first, then the
//     database: rows up to it through the indexes, the rest (the ids
//     after it) from audit_rows itself, in one transaction of a
//     connection that has the index file attached as "idx". An entry is
//     therefore read exactly once, and an acknowledged one always. Every
//     condition is checked on the decoded entry.
//   - An index row may name a row that is gone (a deleted tenant's, or a
//     row merged into a new one: commit.go's insertAudit): the join finds
//     nothing, and a merged row's entries are read under its new id.
//     Rows of a deleted tenant are deleted from the index file after the
//     tenant.

// indexBatch is how many audit rows the indexer takes per transaction (a
// row holds up to auditRowMax entries).
const indexBatch = 512

// indexDelay is how long the indexer waits after a commit, so that a burst
// of commits is indexed in one batch.
const indexDelay = 100 * time.Millisecond

// indexVersion is the index file's layout (its user_version).
const indexVersion = 2

// indexTables are the index file's lookup tables.
var indexTables = []string{"by_user", "by_group", "by_sku", "by_at"}

// indexSchema is the index file's tables, layout indexVersion.
const indexSchema = `
CREATE TABLE IF NOT EXISTS progress (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    owner   TEXT    NOT NULL,  -- the database's audit_index_owner id
    last_id INTEGER NOT NULL   -- every audit_rows row with id <= last_id is indexed
);
CREATE TABLE IF NOT EXISTS by_user  (tenant_id TEXT NOT NULL, ref TEXT NOT NULL, last_seq INTEGER NOT NULL, row INTEGER NOT NULL, PRIMARY KEY (tenant_id, ref, last_seq, row)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS by_group (tenant_id TEXT NOT NULL, ref TEXT NOT NULL, last_seq INTEGER NOT NULL, row INTEGER NOT NULL, PRIMARY KEY (tenant_id, ref, last_seq, row)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS by_sku   (tenant_id TEXT NOT NULL, ref TEXT NOT NULL, last_seq INTEGER NOT NULL, row INTEGER NOT NULL, PRIMARY KEY (tenant_id, ref, last_seq, row)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS by_at    (tenant_id TEXT NOT NULL, sec INTEGER NOT NULL, row INTEGER NOT NULL, PRIMARY KEY (tenant_id, sec, row)) WITHOUT ROWID;
PRAGMA user_version = 2;
`

// indexPath is the index file of the database file at abs.
func indexPath(abs string) string { return abs + ".audit-index" }

// auditIndexer fills the index file.
type auditIndexer struct {
	db   *sql.DB // the index file, one connection
	main *sql.DB // a reader of the database, one connection
	mu   sync.Mutex
	wake chan struct{} // buffered, 1
	stop chan struct{}
	// paused stops the background rounds (tests that need rows left
	// unindexed); catchUp still works.
	paused atomic.Bool
	done   sync.WaitGroup
	// move moves pending audit entries into the database's audit_rows
	// (auditlog.go) before each round indexes them.
	move func(context.Context) error
}

// openAuditIndexer opens (creating or rebuilding as needed) the index file
// of the (migrated) database at abs and starts filling it.
func openAuditIndexer(ctx context.Context, abs string, move func(context.Context) error) (*auditIndexer, error) {
	main, err := sql.Open("sqlite", dsn(abs, connReader))
	if err != nil {
		return nil, err
	}
	main.SetMaxOpenConns(1)
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: indexPath(abs), RawQuery: q.Encode()}).String())
	if err != nil {
		main.Close()
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	x := &auditIndexer{db: db, main: main, wake: make(chan struct{}, 1), stop: make(chan struct{}), move: move}
	if err := x.prepare(ctx); err != nil {
		db.Close()
		main.Close()
		return nil, fmt.Errorf("audit index %s: %w", indexPath(abs), err)
	}
	x.done.Add(1)
	go x.run()
	x.wrote()
	return x, nil
}

// prepare creates the tables and empties them when they are not this
// database's (another owner, ids it never gave, another layout).
func (x *auditIndexer) prepare(ctx context.Context) error {
	var version int
	if err := x.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version != indexVersion {
		for _, t := range append([]string{"progress"}, indexTables...) {
			if _, err := x.db.ExecContext(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
				return err
			}
		}
	}
	if _, err := x.db.ExecContext(ctx, indexSchema); err != nil {
		return err
	}
	var owner string
	var issued int64
	err := x.main.QueryRowContext(ctx, `SELECT (SELECT id FROM audit_index_owner),
		coalesce((SELECT max(id) FROM audit_rows), 0)`).Scan(&owner, &issued)
	if err != nil {
		return err
	}
	var have string
	var last int64
	err = x.db.QueryRowContext(ctx, `SELECT owner, last_id FROM progress`).Scan(&have, &last)
	if err == nil && have == owner && last <= issued {
		return nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range append([]string{"progress"}, indexTables...) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO progress (one, owner, last_id) VALUES (1, ?, 0)`, owner); err != nil {
		return err
	}
	return tx.Commit()
}

// wrote tells the indexer that audit rows may have been committed.
func (x *auditIndexer) wrote() {
	if x == nil {
		return
	}
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

func (x *auditIndexer) run() {
	defer x.done.Done()
	for {
		select {
		case <-x.stop:
			return
		case <-x.wake:
		}
		select {
		case <-x.stop:
			return
		case <-time.After(indexDelay):
		}
		// An error (the disk full, say) leaves the entries to the next
		// round; readers take pending entries from the log and unindexed
		// rows from the audit table.
		if !x.paused.Load() {
			if x.move != nil {
				_ = x.move(context.Background())
			}
			_ = x.catchUp(context.Background())
		}
	}
}

// catchUp indexes every audit row committed so far.
func (x *auditIndexer) catchUp(ctx context.Context) error {
	for {
		n, err := x.batch(ctx)
		if err != nil || n < indexBatch {
			return err
		}
	}
}

// batch indexes the next audit rows after progress, and returns how many.
func (x *auditIndexer) batch(ctx context.Context) (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT last_id FROM progress`).Scan(&last); err != nil {
		return 0, err
	}
	rs, err := x.read(ctx, last)
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	var stmts [4]*sql.Stmt
	for i, t := range indexTables {
		q := `INSERT OR IGNORE INTO ` + t + ` (tenant_id, ref, last_seq, row) VALUES (?, ?, ?, ?)`
		if t == "by_at" {
			q = `INSERT OR IGNORE INTO by_at (tenant_id, sec, row) VALUES (?, ?, ?)`
		}
		if stmts[i], err = tx.PrepareContext(ctx, q); err != nil {
			return 0, err
		}
		defer stmts[i].Close()
	}
	for _, r := range rs {
		for i, refs := range [][]string{r.users, r.groups, r.skus} {
			for _, ref := range refs {
				if _, err := stmts[i].ExecContext(ctx, r.tenant, ref, r.lastSeq, r.id); err != nil {
					return 0, err
				}
			}
		}
		for _, sec := range r.secs {
			if _, err := stmts[3].ExecContext(ctx, r.tenant, sec, r.id); err != nil {
				return 0, err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE progress SET last_id = ?`, rs[len(rs)-1].id); err != nil {
		return 0, err
	}
	return len(rs), tx.Commit()
}

// indexKeys are what the index file holds of one audit row: its distinct
// users, groups, SKUs and seconds.
type indexKeys struct {
	id, lastSeq         int64
	tenant              string
	users, groups, skus []string
	secs                []int64
}

// read returns the keys of the next indexBatch audit rows after id last.
// A row that does not decode is indexed under nothing (readers find it by
// its tenant's seq order only, and report the error there).
func (x *auditIndexer) read(ctx context.Context, last int64) ([]indexKeys, error) {
	rows, err := x.main.QueryContext(ctx, `SELECT id, tenant_id, last_seq, data FROM audit_rows WHERE id > ? ORDER BY id LIMIT ?`, last, indexBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []indexKeys
	for rows.Next() {
		var k indexKeys
		var data []byte
		if err := rows.Scan(&k.id, &k.tenant, &k.lastSeq, &data); err != nil {
			return nil, err
		}
		if k.tenant != "" { // "": the placeholder that keeps the highest id
			if es, err := decodeAuditRow(k.tenant, data); err == nil {
				for _, e := range es {
					k.users = addRef(k.users, e.UserID)
					k.groups = addRef(k.groups, e.GroupID)
					k.skus = addRef(k.skus, e.SKUID)
					if sec := floorDiv(micros(e.At), 1e6); !slices.Contains(k.secs, sec) {
						k.secs = append(k.secs, sec)
					}
				}
			}
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// addRef adds a non-empty id to a set.
func addRef(set []string, id string) []string {
	if id == "" || slices.Contains(set, id) {
		return set
	}
	return append(set, id)
}

// floorDiv is a/b rounded down.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// forget deletes a deleted tenant's index rows.
func (x *auditIndexer) forget(ctx context.Context, tenantID string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range indexTables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE tenant_id = ?`, tenantID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (x *auditIndexer) close() error {
	if x == nil {
		return nil
	}
	close(x.stop)
	x.done.Wait()
	return errors.Join(x.db.Close(), x.main.Close())
}

// attachIndex is a connector for the database's readers that attaches the
// index file as "idx" to each connection (read-only: the readers never
// write it).
type attachIndex struct {
	dsn   string // the reader's
	index string // the index file's path
}

func (c attachIndex) Driver() driver.Driver { return &sqlite.Driver{} }

func (c attachIndex) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Driver().Open(c.dsn)
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", Path: c.index, RawQuery: "mode=ro"}
	_, err = conn.(driver.ExecerContext).ExecContext(ctx, `ATTACH DATABASE ? AS idx`, []driver.NamedValue{{Ordinal: 1, Value: u.String()}})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("attach the audit index: %w", err)
	}
	return conn, nil
}

// indexExists reports whether the database at abs has an index file.
func indexExists(abs string) bool {
	_, err := os.Stat(indexPath(abs))
	return err == nil
}
