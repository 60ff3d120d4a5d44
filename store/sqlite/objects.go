package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"allot/store"
)

// LoadObjects calls fn for every object of the tenant, ordered by kind then
// id (byte order). The load reads one consistent snapshot; commits made
// meanwhile are not seen. fn may keep the Body it is given. An error from fn
// stops the load and is returned as it is.
func (s *Store) LoadObjects(ctx context.Context, tenantID string, fn func(store.Object) error) error {
	if err := s.life.enter(); err != nil {
		return err
	}
	defer s.life.leave()
	rows, err := s.readers.QueryContext(ctx, `SELECT kind, id, body FROM objects WHERE tenant_id = ? ORDER BY kind, id`, tenantID)
	if err != nil {
		return fmt.Errorf("store/sqlite: load objects of %q: %w", tenantID, err)
	}
	defer rows.Close()
	var (
		kindRaw sql.RawBytes
		kind    store.Kind // a tenant has few kinds: reuse the string
	)
	for rows.Next() {
		var o store.Object
		if err := rows.Scan(&kindRaw, &o.ID, &o.Body); err != nil {
			return fmt.Errorf("store/sqlite: load objects of %q: %w", tenantID, err)
		}
		if string(kindRaw) != string(kind) {
			kind = store.Kind(kindRaw)
		}
		o.Kind = kind
		if err := fn(o); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store/sqlite: load objects of %q: %w", tenantID, err)
	}
	return nil
}

// GetObject returns one object or store.ErrNotFound.
func (s *Store) GetObject(ctx context.Context, tenantID string, kind store.Kind, id string) (store.Object, error) {
	if err := s.life.enter(); err != nil {
		return store.Object{}, err
	}
	defer s.life.leave()
	o := store.Object{Kind: kind, ID: id}
	err := s.readers.QueryRowContext(ctx, `SELECT body FROM objects WHERE tenant_id = ? AND kind = ? AND id = ?`,
		tenantID, string(kind), id).Scan(&o.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Object{}, fmt.Errorf("store/sqlite: object %s %q of tenant %q: %w", kind, id, tenantID, store.ErrNotFound)
	}
	if err != nil {
		return store.Object{}, fmt.Errorf("store/sqlite: get object %s %q of tenant %q: %w", kind, id, tenantID, err)
	}
	return o, nil
}

// Commit applies every change in one transaction, mutations in order, and
// returns once the transaction is fsynced to the WAL. On error nothing of any
// change is applied. An audit entry whose Seq the tenant already has (in the
// store or earlier in changes) fails the commit with an error that wraps
// store.ErrConflict. A Change without a TenantID, a Mutation without a Kind
// or an ID, and an audit entry whose TenantID is set and differs from its
// Change's are refused before anything is written.
func (s *Store) Commit(ctx context.Context, changes []store.Change) error {
	n, err := validate(changes)
	if err != nil {
		return fmt.Errorf("store/sqlite: commit: %w", err)
	}
	if n == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		for _, c := range changes {
			if err := s.apply(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// apply writes one change's mutations, in order, and audit entries.
func (s *Store) apply(ctx context.Context, tx *sql.Tx, c store.Change) error {
	var upsert, del, ins *sql.Stmt
	for _, m := range c.Mutations {
		var err error
		if m.Delete {
			if del == nil {
				del = tx.StmtContext(ctx, s.stmt.deleteObject)
			}
			_, err = del.ExecContext(ctx, c.TenantID, string(m.Kind), m.ID)
		} else {
			if upsert == nil {
				upsert = tx.StmtContext(ctx, s.stmt.upsertObject)
			}
			_, err = upsert.ExecContext(ctx, c.TenantID, string(m.Kind), m.ID, body(m.Body))
		}
		if err != nil {
			return fmt.Errorf("store/sqlite: commit: %s %q of tenant %q: %w", m.Kind, m.ID, c.TenantID, err)
		}
	}
	for _, e := range c.Audit {
		if ins == nil {
			ins = tx.StmtContext(ctx, s.stmt.insertAudit)
		}
		_, err := ins.ExecContext(ctx, c.TenantID, e.Seq, micros(e.At), e.Actor, e.Action,
			nullString(e.UserID), nullString(e.GroupID), nullString(e.SKUID), e.Why, e.Detail)
		if isConstraint(err) {
			return fmt.Errorf("store/sqlite: commit: audit seq %d of tenant %q: %w", e.Seq, c.TenantID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store/sqlite: commit: audit seq %d of tenant %q: %w", e.Seq, c.TenantID, err)
		}
	}
	return nil
}

// bulkRows is how many objects one INSERT statement of CommitBulk writes:
// fewer statements, less per-statement work in database/sql and SQLite.
const bulkRows = 128

// CommitBulk applies c, then inserts the streamed objects with multi-row
// INSERT statements (no upsert: the objects are new), all in one
// transaction fsynced to the WAL before it returns. A key that exists fails
// the commit with an error wrapping store.ErrConflict.
func (s *Store) CommitBulk(ctx context.Context, c store.Change, next func() ([]store.Object, error)) error {
	if _, err := validate([]store.Change{c}); err != nil {
		return fmt.Errorf("store/sqlite: commit: %w", err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.apply(ctx, tx, c); err != nil {
			return err
		}
		many, err := tx.PrepareContext(ctx, insertObjectsSQL(bulkRows))
		if err != nil {
			return fmt.Errorf("store/sqlite: commit: %w", err)
		}
		defer many.Close()
		var one *sql.Stmt
		args := make([]any, 0, 4*bulkRows)
		for {
			objs, err := next()
			if err != nil {
				return err
			}
			if len(objs) == 0 {
				return nil
			}
			for len(objs) > 0 {
				n := min(len(objs), bulkRows)
				stmt := many
				if n < bulkRows {
					if one == nil {
						if one, err = tx.PrepareContext(ctx, insertObjectsSQL(1)); err != nil {
							return fmt.Errorf("store/sqlite: commit: %w", err)
						}
						defer one.Close()
					}
					stmt, n = one, 1
				}
				args = args[:0]
				for _, o := range objs[:n] {
					if o.Kind == "" || o.ID == "" {
						return fmt.Errorf("store/sqlite: commit: an object of tenant %q needs a kind and an id", c.TenantID)
					}
					args = append(args, c.TenantID, string(o.Kind), o.ID, body(o.Body))
				}
				if _, err := stmt.ExecContext(ctx, args...); err != nil {
					if isConstraint(err) {
						return fmt.Errorf("store/sqlite: commit: an object of tenant %q exists: %w", c.TenantID, store.ErrConflict)
					}
					return fmt.Errorf("store/sqlite: commit: objects of tenant %q: %w", c.TenantID, err)
				}
				objs = objs[n:]
			}
		}
	})
}

// insertObjectsSQL is an INSERT of n objects.
func insertObjectsSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO objects (tenant_id, kind, id, body) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?)")
	}
	return b.String()
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
