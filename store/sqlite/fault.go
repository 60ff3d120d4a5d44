package sqlite

import (
	"context"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"allot/store"
)

// classify wraps a SQLite error of a write in a store.Fault when its primary
// result code says whether retrying can help; other errors are returned as
// they are.
func classify(err error) error {
	var se *sqlite.Error
	if err == nil || store.FaultOf(err) != nil || !errors.As(err, &se) {
		return err
	}
	unwritable := func(reason string) error { return &store.Fault{Class: store.ErrUnwritable, Reason: reason, Err: err} }
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL:
		return unwritable("the disk holding the database is full")
	case sqlite3.SQLITE_READONLY:
		return unwritable("the database is read-only")
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return unwritable("the database file is damaged")
	case sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH, sqlite3.SQLITE_CANTOPEN:
		return unwritable("the database file cannot be written (permissions)")
	case sqlite3.SQLITE_IOERR:
		return unwritable("the disk refuses writes (I/O error)")
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return &store.Fault{Class: store.ErrUnavailable, Reason: "the database is locked by another process", Err: err}
	}
	return err
}

// ProbeWrite commits store.ProbeSQL, a real write that changes no data
// (store.WriteProber).
func (s *Store) ProbeWrite(ctx context.Context) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, store.ProbeSQL)
		return err
	})
}
