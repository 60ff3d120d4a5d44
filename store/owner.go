package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// A database has at most one writer process: the process that opens a store
// for writing owns the database until it closes the store (SQLite: an
// exclusive lock on a file beside the database; PostgreSQL: an advisory
// lock per schema). A second process that asks to write is refused with an
// error that wraps ErrInUse and names the owner. Two writers would each keep
// their own copy of the tenants in memory and number audit entries from
// their own counters, so neither would see the other's changes and commits
// would collide. Processes that only read open the store read-only
// (OpenReadOnly in each backend), which needs no ownership.
var ErrInUse = errors.New("the database is in use by another allot process")

// ErrReadOnly is returned by every write of a store opened read-only.
var ErrReadOnly = errors.New("the database is open read-only")

// OwnerDescription describes this process for the owner record that another
// process reads when it is refused: pid, command line and start time.
func OwnerDescription(now time.Time) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d on %s (%s), since %s", os.Getpid(), host, strings.Join(os.Args, " "), now.UTC().Format(time.RFC3339))
}

// InUseError is the error of a refused second writer: it wraps ErrInUse,
// names the database and its owner, and says what to do.
func InUseError(db, owner string) error {
	if owner == "" {
		owner = "unknown process"
	}
	return fmt.Errorf("%w: %s is owned by %s; only one process may write a database: "+
		"make the change through that server's HTTP API, or stop it first", ErrInUse, db, owner)
}

// ReadOnly wraps a store so that every write returns ErrReadOnly; reads go
// to s. Closing it closes s.
// A store that keeps a change log (ChangeLog) stays one: reading the log
// is a read, and a load needs the log's number to trust what it reads
// (tenant: the derivation stamp).
func ReadOnly(s Store) Store {
	if cl, ok := s.(ChangeLog); ok {
		return readOnlyLog{readOnly{s}, cl}
	}
	return readOnly{s}
}

// IsReadOnly reports whether s was opened read-only.
func IsReadOnly(s Store) bool {
	switch s.(type) {
	case readOnly, readOnlyLog:
		return true
	}
	return false
}

// readOnlyInner returns the store a read-only store (ReadOnly) wraps.
func readOnlyInner(s Store) (Store, bool) {
	switch ro := s.(type) {
	case readOnly:
		return ro.Store, true
	case readOnlyLog:
		return ro.Store, true
	}
	return nil, false
}

// readOnlyLog is a read-only store with its change log.
type readOnlyLog struct {
	readOnly
	ChangeLog
}

// LoadObjectsTuned is the wrapped store's (TunedLoader), or its untuned
// LoadObjectsAt.
func (r readOnlyLog) LoadObjectsTuned(ctx context.Context, tenantID string, opts LoadOptions, fn func(Object) error) (int64, error) {
	if tl, ok := r.ChangeLog.(TunedLoader); ok {
		return tl.LoadObjectsTuned(ctx, tenantID, opts, fn)
	}
	return r.ChangeLog.LoadObjectsAt(ctx, tenantID, fn)
}

type readOnly struct{ Store }

func (readOnly) CreateTenant(context.Context, Tenant) error { return ErrReadOnly }
func (readOnly) UpdateTenant(context.Context, Tenant) error { return ErrReadOnly }
func (readOnly) Commit(context.Context, []Change) error     { return ErrReadOnly }
func (readOnly) CommitBulk(context.Context, Change, func() ([]Object, error)) error {
	return ErrReadOnly
}
func (readOnly) CreateToken(context.Context, Token) error                     { return ErrReadOnly }
func (readOnly) RevokeToken(context.Context, string, string, time.Time) error { return ErrReadOnly }
