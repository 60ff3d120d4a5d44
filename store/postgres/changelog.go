package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"allot/store"
	"allot/store/statelog"
)

// The change log read back by followers (store.ChangeLog) and the
// notifications that wake them (store.ChangeNotifier). A shared store
// (OpenShared) sends NOTIFY notifyChannel, payload "<seq> <tenant id>",
// after every commit with mutations (notify.go: in a transaction of its
// own, several commits of a tenant told as one); a store that owns the
// database has no one to tell and sends nothing.

// notifyChannel is the LISTEN/NOTIFY channel of committed changes.
const notifyChannel = "allot_changes"

var (
	_ store.ChangeLog      = (*Store)(nil)
	_ store.ChangeNotifier = (*Store)(nil)
	_ store.TunedLoader    = (*Store)(nil)
)

// LoadObjectsAt is LoadObjects plus the log number of the state read, in
// the same REPEATABLE READ transaction (statelog.LoadAt).
func (s *Store) LoadObjectsAt(ctx context.Context, tenantID string, fn func(store.Object) error) (int64, error) {
	return statelog.LoadAt(ctx, s.stateRead(ctx), "store/postgres", tenantID, fn)
}

// LoadObjectsTuned is LoadObjectsAt tuned by opts (store.TunedLoader).
func (s *Store) LoadObjectsTuned(ctx context.Context, tenantID string, opts store.LoadOptions, fn func(store.Object) error) (int64, error) {
	return statelog.LoadAt(ctx, s.stateRead(ctx), "store/postgres", tenantID, fn, opts)
}

// Changes reads the tenant's records after after (statelog.Changes) in one
// REPEATABLE READ transaction (statelog.ChangesAt).
func (s *Store) Changes(ctx context.Context, tenantID string, after int64, fn func(int64, []store.Mutation) error) (int64, error) {
	return statelog.ChangesAt(ctx, s.stateRead(ctx), "store/postgres", tenantID, after, fn)
}

// LogSeq returns the tenant's last record's number.
func (s *Store) LogSeq(ctx context.Context, tenantID string) (int64, error) {
	if err := s.life.Enter(); err != nil {
		return 0, err
	}
	defer s.life.Leave()
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT last_seq FROM state_heads WHERE tenant_id = $1`, tenantID).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store/postgres: log of %q: %w", tenantID, err)
	}
	return seq, nil
}

// Notifications listens on notifyChannel on a connection of its own until
// ctx ends (Close waits for that: end ctx first). After the connection is
// lost it connects again (after a second) and calls fn("", 0):
// notifications may have been missed.
func (s *Store) Notifications(ctx context.Context, fn func(tenantID string, seq int64)) error {
	first := true
	for {
		err := s.listen(ctx, fn, first)
		first = false
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errClosed) {
			return err
		}
		// Lost: the caller polls meanwhile.
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// listen holds one connection listening until it fails or ctx ends.
func (s *Store) listen(ctx context.Context, fn func(string, int64), first bool) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	if _, err := c.Exec(ctx, `LISTEN `+notifyChannel); err != nil {
		c.Conn().Close(context.Background()) //nolint:errcheck // dropped from the pool
		return err
	}
	defer func() {
		// The connection goes back to the pool: stop listening on it (a
		// closed one is dropped).
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.Exec(ctx, `UNLISTEN `+notifyChannel); err != nil {
			c.Conn().Close(ctx) //nolint:errcheck
		}
	}()
	if !first {
		fn("", 0)
	}
	for {
		n, err := c.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		seqText, tenantID, ok := strings.Cut(n.Payload, " ")
		seq, perr := strconv.ParseInt(seqText, 10, 64)
		if !ok || perr != nil || tenantID == "" {
			continue // not ours
		}
		fn(tenantID, seq)
	}
}
