package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/jackc/pgx/v5"

	"allot/audit"
	"allot/store"
	"allot/store/statelog"
)

// bulkRows is the number of audit entries from which Commit copies them
// rather than sends one statement per entry.
const bulkRows = 1024

const (
	// sqlAppendRecord numbers a record after the tenant's last and stores
	// it, in one statement, and answers the log's length after the
	// snapshot and its bytes (compaction's trigger).
	sqlAppendRecord = `WITH h AS (
			INSERT INTO state_heads AS s (tenant_id, snapshot_seq, last_seq, log_bytes) VALUES ($1, -1, 1, $3)
			ON CONFLICT (tenant_id) DO UPDATE SET last_seq = s.last_seq + 1, log_bytes = s.log_bytes + $3
			RETURNING last_seq, snapshot_seq, log_bytes
		), ins AS (
			INSERT INTO state_changes (tenant_id, seq, data) SELECT $1, last_seq, $2 FROM h
		)
		SELECT last_seq - snapshot_seq, log_bytes, last_seq FROM h`
	sqlInsertAudit = `INSERT INTO audit (tenant_id, seq, at, actor, action, user_id, group_id, sku_id, why, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
)

var auditColumns = []string{"tenant_id", "seq", "at", "actor", "action", "user_id", "group_id", "sku_id", "why", "detail"}

// Commit applies every change in one transaction and returns once
// PostgreSQL has committed it: each change with mutations becomes one record
// of its tenant's log (numbered after the last), and its audit entries rows
// of audit. On error nothing of any change is applied. An audit entry whose
// Seq the tenant already has (in the store or earlier in changes) fails the
// commit with an error that wraps store.ErrConflict. A Change without a
// TenantID, a Mutation without a Kind or an ID, and an audit entry whose
// TenantID is set and differs from its Change's are refused before anything
// is sent.
func (s *Store) Commit(ctx context.Context, changes []store.Change) error {
	n, err := store.Validate(changes)
	if err != nil {
		return fmt.Errorf("store/postgres: commit: %w", err)
	}
	if n == 0 {
		return nil
	}
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	type logLen struct {
		i                    int // in changes
		tenantID             string
		records, nbytes, seq int64
	}
	var lens []*logLen
	b := &pgx.Batch{}
	s.owner.fence(b) // first: see owner.go
	// then the tenants' leases: lease.go
	if err := s.fenceChanges(b, changes); err != nil {
		return err
	}
	audits := 0
	for i, c := range changes {
		if len(c.Mutations) > 0 {
			l := &logLen{i: i, tenantID: c.TenantID}
			lens = append(lens, l)
			data := statelog.EncodeRecord(c.Mutations)
			b.Queue(sqlAppendRecord, c.TenantID, data, int64(len(data))).QueryRow(func(row pgx.Row) error {
				return row.Scan(&l.records, &l.nbytes, &l.seq)
			})
		}
		audits += len(c.Audit)
	}
	told := make([]string, 0, len(lens)) // tenants whose log grew: notify.go
	for _, l := range lens {
		told = append(told, l.tenantID)
	}
	if audits < bulkRows {
		queueAudit(b, changes)
		err = s.sendCommit(ctx, b, told)
	} else {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			return copyAudit(ctx, tx, changes)
		})
		if err == nil {
			s.notifyCommitted(ctx, told)
		}
	}
	if isUniqueViolation(err, "audit_pkey") {
		return fmt.Errorf("store/postgres: commit: audit seq already exists: %w: %w", store.ErrConflict, err)
	}
	if err != nil {
		return classify(fmt.Errorf("store/postgres: commit: %w", ownerError(err)))
	}
	for _, l := range lens {
		changes[l.i].Seq = l.seq
	}
	if s.compactor != nil {
		for _, l := range lens {
			s.compactor.Consider(l.tenantID, l.records, l.nbytes)
		}
	}
	return nil
}

// queueAudit queues one statement per audit entry of changes.
func queueAudit(b *pgx.Batch, changes []store.Change) {
	for _, c := range changes {
		for _, e := range c.Audit {
			b.Queue(sqlInsertAudit, c.TenantID, e.Seq, e.At, e.Actor, e.Action,
				nullString(e.UserID), nullString(e.GroupID), nullString(e.SKUID), e.Why, e.Detail)
		}
	}
}

// copyAudit copies the audit entries of changes into audit.
func copyAudit(ctx context.Context, tx pgx.Tx, changes []store.Change) error {
	var entries []auditRow
	for _, c := range changes {
		for i := range c.Audit {
			entries = append(entries, auditRow{c.TenantID, &c.Audit[i]})
		}
	}
	if len(entries) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"audit"}, auditColumns,
		pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
			r := entries[i]
			e := r.entry
			return []any{r.tenantID, e.Seq, e.At, e.Actor, e.Action,
				nullString(e.UserID), nullString(e.GroupID), nullString(e.SKUID), e.Why, e.Detail}, nil
		}))
	return err
}

// CommitBulk applies c and the streamed objects, which must come in strictly
// increasing key order, by writing the tenant's whole state as a new
// snapshot in one transaction: the current objects (few, for the new tenant
// an import fills) merged with the stream. A streamed key that exists fails
// the commit with an error wrapping store.ErrConflict.
func (s *Store) CommitBulk(ctx context.Context, c store.Change, next func() ([]store.Object, error)) error {
	if _, err := store.Validate([]store.Change{c}); err != nil {
		return fmt.Errorf("store/postgres: commit: %w", err)
	}
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	var streamErr error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.owner.fenceTx(ctx, tx); err != nil {
			return err
		}
		if err := s.fenceChangeTx(ctx, tx, c); err != nil { // the tenant's lease: lease.go
			return err
		}
		h, err := (stateTx{tx}).Head(ctx, c.TenantID)
		if err != nil {
			return err
		}
		cur, err := statelog.Current(ctx, stateTx{tx}, c.TenantID, h, c.Mutations)
		if err != nil {
			return err
		}
		seq := h.Last + 1
		w := &partWriter{tenantID: c.TenantID, seq: seq}
		parts := statelog.NewConcurrentParts(func(p statelog.Part) error { return w.add(ctx, tx, p) }, runtime.GOMAXPROCS(0))
		if err := statelog.MergeStream(cur, next, parts); err != nil {
			if errors.Is(err, statelog.ErrStream) {
				streamErr = errors.Unwrap(err)
				return streamErr
			}
			if errors.Is(err, statelog.ErrExists) {
				return fmt.Errorf("an object of tenant %q exists: %w", c.TenantID, store.ErrConflict)
			}
			return fmt.Errorf("objects of tenant %q: %w", c.TenantID, err)
		}
		if err := parts.Flush(); err != nil {
			return err
		}
		if err := w.flush(ctx, tx); err != nil {
			return err
		}
		if err := installSnapshot(ctx, tx, c.TenantID, seq, h.Snap < 0); err != nil {
			return err
		}
		if err := writeHead(ctx, tx, c.TenantID, statelog.Head{Snap: seq, Last: seq}); err != nil {
			return err
		}
		b := &pgx.Batch{}
		queueAudit(b, []store.Change{c})
		return tx.SendBatch(ctx, b).Close()
	})
	if streamErr != nil {
		return streamErr
	}
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("store/postgres: commit: %w", err)
	}
	if isUniqueViolation(err, "audit_pkey") {
		return fmt.Errorf("store/postgres: commit: audit seq already exists: %w: %w", store.ErrConflict, err)
	}
	if err != nil {
		return classify(fmt.Errorf("store/postgres: commit: %w", ownerError(err)))
	}
	s.notifyCommitted(ctx, []string{c.TenantID})
	return nil
}

// partWriter copies snapshot parts into state_snapshots, a few at a time.
// It keeps a copy of each part's data until the part is written, in
// buffers of its own that serve the next parts (a part's data is valid
// only while add runs: statelog.NewConcurrentParts).
type partWriter struct {
	tenantID string
	seq      int64
	n        int64
	rows     [][]any
	data     [partsPerCopy][]byte
}

const partsPerCopy = 16

func (w *partWriter) add(ctx context.Context, tx pgx.Tx, p statelog.Part) error {
	i := len(w.rows)
	w.data[i] = append(w.data[i][:0], p.Data...)
	w.rows = append(w.rows, []any{w.tenantID, w.seq, w.n, string(p.FirstKind), p.FirstID, w.data[i]})
	w.n++
	if len(w.rows) >= partsPerCopy {
		return w.flush(ctx, tx)
	}
	return nil
}

func (w *partWriter) flush(ctx context.Context, tx pgx.Tx) error {
	if len(w.rows) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"state_snapshots"}, []string{"tenant_id", "seq", "part", "first_kind", "first_id", "data"},
		pgx.CopyFromRows(w.rows))
	w.rows = w.rows[:0]
	return err
}

// installSnapshot removes what the snapshot at seq replaces: the records up
// to seq, other snapshots' parts and, for the tenant's first snapshot, its
// legacy objects rows.
func installSnapshot(ctx context.Context, tx pgx.Tx, tenantID string, seq int64, first bool) error {
	if _, err := tx.Exec(ctx, `DELETE FROM state_changes WHERE tenant_id = $1 AND seq <= $2`, tenantID, seq); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM state_snapshots WHERE tenant_id = $1 AND seq <> $2`, tenantID, seq); err != nil {
		return err
	}
	if first {
		if _, err := tx.Exec(ctx, `DELETE FROM objects WHERE tenant_id = $1`, tenantID); err != nil {
			return err
		}
	}
	return nil
}

// Compact folds the tenant's log into a new snapshot: the objects as of the
// last record, read in one REPEATABLE READ transaction and written in
// another, which installs it and deletes the records it covers and the older
// snapshot (and, the first time, the legacy objects rows). Commits go on
// meanwhile. If the tenant changed in a way that makes the new snapshot
// wrong (a bulk commit replaced its state, it was deleted), nothing is
// installed. Compact is safe to call at any time.
func (s *Store) Compact(ctx context.Context, tenantID string) error {
	return s.compact(ctx, tenantID, false)
}

// compactLong is the background compactor's Compact: it leaves alone a
// tenant whose log is short again unless the tenant has no snapshot
// (statelog.WorthCompacting).
func (s *Store) compactLong(ctx context.Context, tenantID string) error {
	return s.compact(ctx, tenantID, true)
}

func (s *Store) compact(ctx context.Context, tenantID string, onlyLong bool) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	s.compactMu.Lock() // one compaction at a time
	defer s.compactMu.Unlock()
	var (
		h       statelog.Head
		created any
		parts   [][]any
	)
	skip := false
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if h, err = (stateTx{tx}).Head(ctx, tenantID); err != nil {
			return err
		}
		if !statelog.WorthCompacting(h, onlyLong) {
			skip = true
			return nil
		}
		if err := tx.QueryRow(ctx, `SELECT created_at FROM tenants WHERE tenant_id = $1`, tenantID).Scan(&created); err != nil {
			return err
		}
		l, err := statelog.Fold(ctx, stateTx{tx}, tenantID, h)
		if err != nil {
			return err
		}
		w := statelog.NewParts(func(p statelog.Part) error {
			parts = append(parts, []any{tenantID, h.Last, int64(len(parts)), string(p.FirstKind), p.FirstID, p.Data})
			return nil
		})
		if err := statelog.Merge(statelog.Base(ctx, stateTx{tx}, tenantID, h), l, w.Add); err != nil {
			return err
		}
		return w.Flush()
	})
	if err != nil {
		return fmt.Errorf("store/postgres: compact tenant %q: %w", tenantID, err)
	}
	if skip {
		return nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.owner.fenceTx(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM state_heads WHERE tenant_id = $1 FOR UPDATE`, tenantID); err != nil {
			return err
		}
		cur, err := (stateTx{tx}).Head(ctx, tenantID)
		if err != nil {
			return err
		}
		var nowCreated any
		err = tx.QueryRow(ctx, `SELECT created_at FROM tenants WHERE tenant_id = $1`, tenantID).Scan(&nowCreated)
		if errors.Is(err, pgx.ErrNoRows) || cur.Snap != h.Snap || cur.Last < h.Last || fmt.Sprint(nowCreated) != fmt.Sprint(created) {
			return nil // replaced or deleted meanwhile: install nothing
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM state_snapshots WHERE tenant_id = $1 AND seq = $2`, tenantID, h.Last); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"state_snapshots"}, []string{"tenant_id", "seq", "part", "first_kind", "first_id", "data"},
			pgx.CopyFromRows(parts)); err != nil {
			return err
		}
		var rest int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(length(data)), 0) FROM state_changes WHERE tenant_id = $1 AND seq > $2`,
			tenantID, h.Last).Scan(&rest); err != nil {
			return err
		}
		if err := installSnapshot(ctx, tx, tenantID, h.Last, h.Snap < 0); err != nil {
			return err
		}
		return writeHead(ctx, tx, tenantID, statelog.Head{Snap: h.Last, Last: cur.Last, LogBytes: rest})
	})
	if err != nil {
		return classify(fmt.Errorf("store/postgres: compact tenant %q: %w", tenantID, ownerError(err)))
	}
	return nil
}

var _ store.Compactor = (*Store)(nil)

type auditRow struct {
	tenantID string
	entry    *audit.Entry
}
