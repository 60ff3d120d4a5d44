package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"allot/audit"
	"allot/store"
)

// bulkRows is the size (mutations plus audit entries) from which Commit
// copies rather than sends one statement per row. Below it, the pipelined
// batch is faster: no temporary table, no merge.
const bulkRows = 1024

const (
	sqlUpsertObject = `INSERT INTO objects (tenant_id, kind, id, body) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, kind, id) DO UPDATE SET body = excluded.body`
	sqlDeleteObject = `DELETE FROM objects WHERE tenant_id = $1 AND kind = $2 AND id = $3`
	sqlInsertAudit  = `INSERT INTO audit (tenant_id, seq, at, actor, action, user_id, group_id, sku_id, why, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
)

var auditColumns = []string{"tenant_id", "seq", "at", "actor", "action", "user_id", "group_id", "sku_id", "why", "detail"}

// Commit applies every change in one transaction, mutations in order, and
// returns once PostgreSQL has committed it. On error nothing of any change is
// applied. An audit entry whose Seq the tenant already has (in the store or
// earlier in changes) fails the commit with an error that wraps
// store.ErrConflict. A Change without a TenantID, a Mutation without a Kind
// or an ID, and an audit entry whose TenantID is set and differs from its
// Change's are refused before anything is sent.
func (s *Store) Commit(ctx context.Context, changes []store.Change) error {
	n, err := validate(changes)
	if err != nil {
		return fmt.Errorf("store/postgres: commit: %w", err)
	}
	if n == 0 {
		return nil
	}
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.leave()
	if n < bulkRows {
		err = s.commitBatch(ctx, changes)
	} else {
		err = s.commitCopy(ctx, changes)
	}
	if isUniqueViolation(err, "audit_pkey") {
		return fmt.Errorf("store/postgres: commit: audit seq already exists: %w: %w", store.ErrConflict, err)
	}
	if err != nil {
		return classify(fmt.Errorf("store/postgres: commit: %w", ownerError(err)))
	}
	return nil
}

// commitBatch sends every row as its own statement in one pipelined batch:
// one round trip, run by the server as one implicit transaction that
// commits at the batch's Sync, or rolls back entirely on the first error.
func (s *Store) commitBatch(ctx context.Context, changes []store.Change) error {
	b := &pgx.Batch{}
	s.owner.fence(b) // first: see owner.go
	b.QueuedQueries = append(b.QueuedQueries, statements(changes).QueuedQueries...)
	return s.pool.SendBatch(ctx, b).Close()
}

// statements queues one statement per row of changes.
func statements(changes []store.Change) *pgx.Batch {
	b := &pgx.Batch{}
	for _, c := range changes {
		for _, m := range c.Mutations {
			if m.Delete {
				b.Queue(sqlDeleteObject, c.TenantID, string(m.Kind), m.ID)
			} else {
				b.Queue(sqlUpsertObject, c.TenantID, string(m.Kind), m.ID, body(m.Body))
			}
		}
		for _, e := range c.Audit {
			b.Queue(sqlInsertAudit, c.TenantID, e.Seq, e.At, e.Actor, e.Action,
				nullString(e.UserID), nullString(e.GroupID), nullString(e.SKUID), e.Why, e.Detail)
		}
	}
	return b
}

// commitCopy writes the final state of every touched object with COPY (see
// copyUpserts), deletes with COPY into a temporary table and DELETE … USING,
// and copies the audit entries straight into audit, all in one transaction.
func (s *Store) commitCopy(ctx context.Context, changes []store.Change) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.owner.fenceTx(ctx, tx); err != nil {
			return err
		}
		return copyChanges(ctx, tx, changes)
	})
}

// copyChanges is commitCopy inside the transaction tx.
func copyChanges(ctx context.Context, tx pgx.Tx, changes []store.Change) error {
	upserts, deletes := collapse(changes)
	var tenants []string
	for _, c := range changes {
		if !slices.Contains(tenants, c.TenantID) {
			tenants = append(tenants, c.TenantID)
		}
	}
	{
		if len(upserts) > 0 {
			if err := copyUpserts(ctx, tx, tenants, upserts); err != nil {
				return err
			}
		}
		if len(deletes) > 0 {
			if _, err := tx.Exec(ctx, `CREATE TEMP TABLE allot_deletes (
				tenant_id text COLLATE "C", kind text COLLATE "C", id text COLLATE "C"
			) ON COMMIT DROP`); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "allot_deletes"}, []string{"tenant_id", "kind", "id"},
				pgx.CopyFromSlice(len(deletes), func(i int) ([]any, error) {
					d := deletes[i]
					return []any{d.tenantID, string(d.Kind), d.ID}, nil
				})); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM objects o USING pg_temp.allot_deletes d
				WHERE o.tenant_id = d.tenant_id AND o.kind = d.kind AND o.id = d.id`); err != nil {
				return err
			}
		}
		var entries []auditRow
		for _, c := range changes {
			for i := range c.Audit {
				entries = append(entries, auditRow{c.TenantID, &c.Audit[i]})
			}
		}
		if len(entries) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit"}, auditColumns,
				pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
					r := entries[i]
					e := r.entry
					return []any{r.tenantID, e.Seq, e.At, e.Actor, e.Action,
						nullString(e.UserID), nullString(e.GroupID), nullString(e.SKUID), e.Why, e.Detail}, nil
				})); err != nil {
				return err
			}
		}
		return nil
	}
}

// CommitBulk applies c, then copies the streamed objects straight into
// objects with COPY (they are new: no merge), in one transaction. A key that
// exists fails the COPY, and so the commit, with an error wrapping
// store.ErrConflict.
func (s *Store) CommitBulk(ctx context.Context, c store.Change, next func() ([]store.Object, error)) error {
	n, err := validate([]store.Change{c})
	if err != nil {
		return fmt.Errorf("store/postgres: commit: %w", err)
	}
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.leave()
	src := &objectStream{tenantID: c.TenantID, next: next}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.owner.fenceTx(ctx, tx); err != nil {
			return err
		}
		var err error
		switch {
		case n >= bulkRows:
			err = copyChanges(ctx, tx, []store.Change{c})
		case n > 0:
			err = tx.SendBatch(ctx, statements([]store.Change{c})).Close()
		}
		if err != nil {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"objects"}, []string{"tenant_id", "kind", "id", "body"}, src)
		if src.err != nil {
			return src.err // the caller's error, as it is
		}
		return err
	})
	if src.err != nil {
		return src.err
	}
	if isUniqueViolation(err, "audit_pkey") {
		return fmt.Errorf("store/postgres: commit: audit seq already exists: %w: %w", store.ErrConflict, err)
	}
	if isUniqueViolation(err) {
		return fmt.Errorf("store/postgres: commit: an object of tenant %q exists: %w: %w", c.TenantID, store.ErrConflict, err)
	}
	if err != nil {
		return classify(fmt.Errorf("store/postgres: commit: %w", ownerError(err)))
	}
	return nil
}

// objectStream is a pgx.CopyFromSource over the batches of CommitBulk.
type objectStream struct {
	tenantID string
	next     func() ([]store.Object, error)
	batch    []store.Object
	i        int
	row      [4]any
	err      error // from next or a bad object
}

func (s *objectStream) Next() bool {
	s.i++
	for s.i >= len(s.batch) {
		if s.err != nil {
			return false
		}
		b, err := s.next()
		if err != nil {
			s.err = err
			return false
		}
		if len(b) == 0 {
			return false
		}
		s.batch, s.i = b, 0
	}
	o := &s.batch[s.i]
	if o.Kind == "" || o.ID == "" {
		s.err = fmt.Errorf("store/postgres: commit: an object of tenant %q needs a kind and an id", s.tenantID)
		return false
	}
	s.row = [4]any{s.tenantID, string(o.Kind), o.ID, body(o.Body)}
	return true
}

func (s *objectStream) Values() ([]any, error) { return s.row[:], nil }
func (s *objectStream) Err() error             { return s.err }

// copyUpserts writes the objects, which have distinct keys and belong to
// tenants. When none of the tenants has any object yet (an import into a new tenant), they are
// copied straight into objects; otherwise they are copied into a temporary
// table and merged with INSERT … ON CONFLICT, which costs about twice as
// much. (Should another writer add objects to such a tenant in between,
// against the one-writer-per-tenant rule, the COPY fails on the primary key
// and the transaction rolls back: nothing is lost or doubled.)
func copyUpserts(ctx context.Context, tx pgx.Tx, tenants []string, upserts []tenantMutation) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM objects WHERE tenant_id = ANY($1))`, tenants).Scan(&exists); err != nil {
		return err
	}
	rows := pgx.CopyFromSlice(len(upserts), func(i int) ([]any, error) {
		u := upserts[i]
		return []any{u.tenantID, string(u.Kind), u.ID, body(u.Body)}, nil
	})
	columns := []string{"tenant_id", "kind", "id", "body"}
	if !exists {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"objects"}, columns, rows)
		return err
	}
	// ON COMMIT DROP: the table lives as long as this transaction, also when
	// it rolls back.
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE allot_upserts (
		tenant_id text COLLATE "C", kind text COLLATE "C", id text COLLATE "C", body bytea
	) ON COMMIT DROP`); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "allot_upserts"}, columns, rows); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO objects (tenant_id, kind, id, body)
		SELECT tenant_id, kind, id, body FROM pg_temp.allot_upserts
		ON CONFLICT (tenant_id, kind, id) DO UPDATE SET body = excluded.body`)
	return err
}

type auditRow struct {
	tenantID string
	entry    *audit.Entry
}

// tenantMutation is a mutation with the tenant of its change.
type tenantMutation struct {
	tenantID string
	store.Mutation
}

type objectKey struct {
	tenantID string
	kind     store.Kind
	id       string
}

// collapse reduces changes to the final state of each object they touch:
// applying the mutations in order is the same as writing the upserts and
// removing the deletes, in any order, because each key occurs once. (A set
// statement cannot touch a row twice, so order must be resolved here.)
func collapse(changes []store.Change) (upserts, deletes []tenantMutation) {
	n := 0
	for _, c := range changes {
		n += len(c.Mutations)
	}
	final := make([]tenantMutation, 0, n)
	at := make(map[objectKey]int, n)
	for _, c := range changes {
		for _, m := range c.Mutations {
			k := objectKey{c.TenantID, m.Kind, m.ID}
			if i, ok := at[k]; ok {
				final[i].Mutation = m
				continue
			}
			at[k] = len(final)
			final = append(final, tenantMutation{c.TenantID, m})
		}
	}
	for _, m := range final {
		if m.Delete {
			deletes = append(deletes, m)
		} else {
			upserts = append(upserts, m)
		}
	}
	return upserts, deletes
}

// body stores a nil body as an empty one (the column is NOT NULL).
func body(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// validate checks what the schema cannot and returns the number of rows the
// changes write.
func validate(changes []store.Change) (int, error) {
	n := 0
	for i, c := range changes {
		if c.TenantID == "" {
			return 0, fmt.Errorf("change %d has no tenant id", i)
		}
		for j, m := range c.Mutations {
			if m.Kind == "" || m.ID == "" {
				return 0, fmt.Errorf("change %d (tenant %q): mutation %d needs a kind and an id", i, c.TenantID, j)
			}
		}
		for _, e := range c.Audit {
			if e.TenantID != "" && e.TenantID != c.TenantID {
				return 0, fmt.Errorf("change %d (tenant %q): audit seq %d belongs to tenant %q", i, c.TenantID, e.Seq, e.TenantID)
			}
		}
		n += len(c.Mutations) + len(c.Audit)
	}
	return n, nil
}
