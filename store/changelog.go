package store

import (
	"context"
	"errors"
)

// Followers: a process that does not write a tenant keeps its copy of the
// tenant current by reading the tenant's committed changes back from the
// log, in order, after the log number of the copy it holds (package
// store/statelog numbers each committed change with mutations 1, 2, … per
// tenant). Commit sets Change.Seq to that number, so the writer knows the
// number of the state it holds too.

// ErrCompacted is returned by ChangeLog.Changes when the log no longer has
// every record after the number asked for: a snapshot replaced them
// (compaction, a bulk commit), or the tenant was deleted and made again
// and its log is shorter than the number. The caller reads the tenant
// anew (LoadObjectsAt).
var ErrCompacted = errors.New("the tenant's log no longer has the records after that number")

// TunedLoader is a store whose loads can be tuned for a caller that
// decodes every object it is given (store/sqlite and store/postgres).
type TunedLoader interface {
	// LoadObjectsTuned is ChangeLog.LoadObjectsAt tuned by opts
	// (LoadOptions).
	LoadObjectsTuned(ctx context.Context, tenantID string, opts LoadOptions, fn func(Object) error) (int64, error)
}

// ChangeLog is a store whose tenants' committed changes can be read back in
// order (store/sqlite and store/postgres).
type ChangeLog interface {
	// LoadObjectsAt is LoadObjects that also returns the log number of the
	// state it read (the last record's number; 0 if the tenant has none):
	// objects and number come from one consistent read.
	LoadObjectsAt(ctx context.Context, tenantID string, fn func(Object) error) (int64, error)
	// Changes calls fn with each record after the number after, in order,
	// with its number and mutations, all read in one consistent read, and
	// returns the last record's number (after itself when there is none
	// later). ErrCompacted if a record after after was folded into a
	// snapshot (or the log is shorter than after); ErrNotFound if the
	// tenant does not exist. An error from fn stops the read and is
	// returned as it is.
	Changes(ctx context.Context, tenantID string, after int64, fn func(seq int64, muts []Mutation) error) (int64, error)
	// LogSeq returns the tenant's last record's number (0 if none, or if
	// the tenant does not exist).
	LogSeq(ctx context.Context, tenantID string) (int64, error)
}

// ChangeNotifier is a store that tells other processes when a tenant's log
// grows (PostgreSQL: LISTEN/NOTIFY, the notification sent once the commit
// is done, so it arrives only once the commit is visible).
type ChangeNotifier interface {
	// Notifications calls fn with the tenant and the record's number of
	// the commits with mutations by any process (this one included),
	// until ctx ends; it returns ctx's error. Several commits of a tenant
	// in quick succession may be told as one (the highest number: the log
	// has every record up to it). A notification may come more than once,
	// or late, and may be lost when the committing process ends right
	// after its commit: a follower polls too. After a lost connection
	// (when some may have been missed) fn is called with tenantID "" and
	// seq 0: check every tenant. fn runs on one goroutine and must return
	// quickly.
	Notifications(ctx context.Context, fn func(tenantID string, seq int64)) error
}
