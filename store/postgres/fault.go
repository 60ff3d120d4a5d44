package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"allot/store"
)

// classify wraps a PostgreSQL error of a write in a store.Fault when its
// SQLSTATE (or the connection's failure) says whether retrying can help;
// other errors are returned as they are.
func classify(err error) error {
	if err == nil || store.FaultOf(err) != nil {
		return err
	}
	unwritable := func(reason string) error { return &store.Fault{Class: store.ErrUnwritable, Reason: reason, Err: err} }
	unavailable := func(reason string) error { return &store.Fault{Class: store.ErrUnavailable, Reason: reason, Err: err} }
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100":
			return unwritable("the disk holding the database is full")
		case pe.Code == "25006":
			return unwritable("the database is read-only")
		case pe.Code == "XX001" || pe.Code == "XX002":
			return unwritable("the database is damaged")
		case pe.Code == "42501":
			return unwritable("the database user may not write")
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "57P"), strings.HasPrefix(pe.Code, "53"),
			pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03":
			return unavailable("the database is unavailable or overloaded")
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || pgconn.Timeout(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return unavailable("the connection to the database failed")
	}
	return err
}

// ProbeWrite commits store.ProbeSQL, a real write that changes no data
// (store.WriteProber).
func (s *Store) ProbeWrite(ctx context.Context) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	b := &pgx.Batch{}
	if s.owner != nil {
		s.owner.fence(b) // a writer that lost its database cannot write (owner.go)
	}
	b.Queue(store.ProbeSQL)
	return classify(ownerError(s.pool.SendBatch(ctx, b).Close()))
}
