package store

import (
	"context"
	"errors"
)

// Classes of a failed write. Backends classify the errors of Commit and
// CommitBulk they recognise (errors.Is(err, ErrUnwritable), …), so that
// callers answer a client truthfully: whether retrying can help.
var (
	// ErrUnwritable: the database refuses writes, and retrying will not
	// help until an operator acts: the disk is full, the database is
	// read-only, damaged or not permitted.
	ErrUnwritable = errors.New("the database refuses writes")
	// ErrUnavailable: a transient failure (a lock held too long, a lost
	// or refused connection, a serialisation failure); retrying may work.
	ErrUnavailable = errors.New("the database is unavailable for now")
)

// Fault is a classified backend error: Class is ErrUnwritable or
// ErrUnavailable, Reason says what an operator needs to know ("the disk is
// full"), Err is the backend's error.
type Fault struct {
	Class  error
	Reason string
	Err    error
}

func (f *Fault) Error() string   { return f.Reason + ": " + f.Err.Error() }
func (f *Fault) Unwrap() []error { return []error{f.Class, f.Err} }

// FaultOf returns the classified fault inside err, or nil.
func FaultOf(err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// WriteProber is implemented by stores that can check whether a write
// would be durable now: ProbeWrite commits a real write that changes no data
// (only the probe's own counter) and returns its error, classified like
// Commit's.
type WriteProber interface {
	ProbeWrite(ctx context.Context) error
}

// ProbeSQL is the write of ProbeWrite in both backends: it bumps the
// counter of the one write_probe row (migration 0003; made again if it is
// missing), so that the commit really writes: SQLite writes nothing for an
// UPDATE that leaves a row's bytes as they were, and such a probe succeeded
// on a database whose every real write failed.
const ProbeSQL = `INSERT INTO write_probe (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = write_probe.n + 1`
