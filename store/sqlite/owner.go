package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"allot/store"
	"allot/store/migrate"
)

// ownerLock is the writer's ownership of a database file: an exclusive
// flock(2) on "<database>.lock", held until Close. The kernel drops it when
// the process dies (kill -9 included), so a crash never leaves a stale
// owner. The file holds a description of the owner for the error that a
// refused process shows; it is never deleted (deleting a locked file would
// let a second process lock a new file of the same name).
type ownerLock struct{ f *os.File }

// lockPath is the owner lock file of the database at abs.
func lockPath(abs string) string { return abs + ".lock" }

// acquireOwner takes the exclusive lock of the database at abs, or returns
// an error wrapping store.ErrInUse that names the process holding it.
func acquireOwner(abs string) (*ownerLock, error) {
	f, err := os.OpenFile(lockPath(abs), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: lock %s: %w", abs, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		var b []byte
		for range 20 { // the owner may not have written its description yet
			if b, _ = os.ReadFile(lockPath(abs)); len(b) > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		return nil, fmt.Errorf("store/sqlite: %w", store.InUseError(abs, strings.TrimSpace(string(b))))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store/sqlite: lock %s: %w", abs, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(store.OwnerDescription(time.Now())+"\n"), 0)
	}
	return &ownerLock{f: f}, nil
}

// release gives the database up. Safe on nil.
func (l *ownerLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}

// OpenReadOnly opens the existing database file at path for reading only,
// without taking ownership, so that it works while another process (allot
// serve) writes the file: SQLite's WAL mode lets readers see the last
// committed state without blocking the writer. Every write of the returned
// store returns store.ErrReadOnly. The schema must be the one this binary
// knows: an older one is migrated by the next writer, a newer one needs a
// newer allot.
func OpenReadOnly(path string) (store.Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("store/sqlite: %w", err)
	}
	s := &Store{path: abs, life: store.Lifecycle{Closed: errClosed}}
	source := dsn(abs, connReader)
	if syscall.Access(filepath.Dir(abs), 2 /* W_OK */) == syscall.EROFS {
		// On a read-only file system nobody can write the file, and SQLite
		// cannot create the WAL index it needs to read: read it as an
		// immutable file instead.
		source += "&mode=ro&immutable=1"
	}
	if indexExists(abs) && !strings.Contains(source, "immutable=1") {
		// The audit index file of the process that writes the database
		// (auditindex.go); without it, audit queries read the audit
		// table alone.
		s.readers, s.indexAttached = sql.OpenDB(attachIndex{dsn: source, index: indexPath(abs)}), true
	} else if s.readers, err = sql.Open("sqlite", source); err != nil {
		return nil, fmt.Errorf("store/sqlite: open %s: %w", abs, err)
	}
	if err := checkSchema(context.Background(), s.readers); err != nil {
		s.readers.Close()
		return nil, fmt.Errorf("store/sqlite: %s: %w", abs, err)
	}
	return store.ReadOnly(readOnlyStore{s}), nil
}

// readOnlyStore is a Store without writer, statements or checkpointer.
type readOnlyStore struct{ *Store }

func (r readOnlyStore) Close() error {
	if !r.life.Close() {
		return nil
	}
	return r.readers.Close()
}

// Backup works on a read-only store too: VACUUM INTO runs on a connection
// of its own and writes only the copy, so a backup can be taken beside the
// process that owns the database (allot backup while allot serve runs).
func (r readOnlyStore) Backup(ctx context.Context, path string) error {
	return r.Store.Backup(ctx, path)
}

// checkSchema fails unless the database's schema is exactly the newest this
// binary knows.
func checkSchema(ctx context.Context, db *sql.DB) error {
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		return err
	}
	var newest sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("not an allot database: %w", err)
	}
	return migrate.CheckCurrent(ms, newest.Int64)
}
