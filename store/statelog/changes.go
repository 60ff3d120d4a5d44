package statelog

import (
	"context"
	"fmt"

	"allot/store"
)

// Changes calls fn with each of the tenant's records after the number
// after, in order, decoded, and returns the last one's number (after when
// there is none): store.ChangeLog.Changes on one consistent read (tx). It
// fails with store.ErrCompacted when a record after after is no longer in
// the log (after is older than the snapshot) or the log is shorter than
// after (the tenant was made again), and never skips a number.
func Changes(ctx context.Context, tx Tx, tenantID string, after int64, fn func(seq int64, muts []store.Mutation) error) (int64, error) {
	h, err := tx.Head(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	if after < 0 || (h.Snap >= 0 && after < h.Snap) || after > h.Last {
		return 0, fmt.Errorf("tenant %q: records after %d (log %d..%d): %w", tenantID, after, h.Snap, h.Last, store.ErrCompacted)
	}
	last := after
	var fnErr error
	err = tx.Records(ctx, tenantID, after, func(seq int64, data []byte) error {
		if seq != last+1 {
			return fmt.Errorf("tenant %q: record %d follows %d: %w", tenantID, seq, last, store.ErrCompacted)
		}
		var muts []store.Mutation
		if err := DecodeRecord(data, func(m store.Mutation) error {
			muts = append(muts, m)
			return nil
		}); err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		if err := fn(seq, muts); err != nil {
			fnErr = err
			return err
		}
		last = seq
		return nil
	})
	if fnErr != nil {
		return last, fnErr
	}
	if err != nil {
		return last, err
	}
	if last < h.Last {
		return last, fmt.Errorf("tenant %q: the log ends at %d, its head says %d: %w", tenantID, last, h.Last, store.ErrCompacted)
	}
	return last, nil
}
