package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"allot/store"
)

// CreateTenant stores a new tenant. Returns store.ErrConflict if the id exists.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant) error {
	if t.ID == "" {
		return errors.New("store/sqlite: tenant has no id")
	}
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants
			(tenant_id, company_name, domain, default_usage_location, settings, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, t.CompanyName, t.Domain, t.DefaultUsageLocation, t.Settings, micros(t.CreatedAt))
		if isConstraint(err) {
			return fmt.Errorf("store/sqlite: tenant %q: %w", t.ID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store/sqlite: create tenant %q: %w", t.ID, err)
		}
		return nil
	})
}

// UpdateTenant replaces the tenant's fields except CreatedAt, which keeps the
// value CreateTenant stored. Returns store.ErrNotFound if the tenant is missing.
func (s *Store) UpdateTenant(ctx context.Context, t store.Tenant) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants
			SET company_name = ?, domain = ?, default_usage_location = ?, settings = ?
			WHERE tenant_id = ?`,
			t.CompanyName, t.Domain, t.DefaultUsageLocation, t.Settings, t.ID)
		if err != nil {
			return fmt.Errorf("store/sqlite: update tenant %q: %w", t.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store/sqlite: update tenant %q: %w", t.ID, err)
		} else if n == 0 {
			return fmt.Errorf("store/sqlite: tenant %q: %w", t.ID, store.ErrNotFound)
		}
		return nil
	})
}

// DeleteTenant removes a tenant with its objects, audit log and tokens in
// one transaction. Returns store.ErrNotFound if the tenant is missing.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	err := s.writeThen(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE tenant_id = ?`, id)
		if err != nil {
			return fmt.Errorf("store/sqlite: delete tenant %q: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store/sqlite: delete tenant %q: %w", id, err)
		} else if n == 0 {
			return fmt.Errorf("store/sqlite: tenant %q: %w", id, store.ErrNotFound)
		}
		for _, table := range []string{"objects", "state_heads", "state_changes", "state_snapshots", "audit_moved", "tokens", "alert_states", "alert_jobs", "alert_attempts"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE tenant_id = ?`, id); err != nil {
				return fmt.Errorf("store/sqlite: delete tenant %q: %s: %w", id, table, err)
			}
		}
		if err := deleteAuditRows(ctx, tx, id); err != nil {
			return fmt.Errorf("store/sqlite: delete tenant %q: audit: %w", id, err)
		}
		return nil
	}, func() { s.forgetTails(id) })
	if err == nil && s.auditIdx != nil {
		// The index file's rows of the tenant. Best effort: the tenant is
		// deleted, and a stale index row is harmless (every condition is
		// checked on the audit row too).
		_ = s.auditIdx.forget(ctx, id)
	}
	return err
}

// deleteAuditRows deletes the tenant's audit rows. The highest id is never
// given again (the audit index file's progress counts on it): when the
// tenant had it, an empty row of tenant "" keeps it (replacing the one an
// earlier deletion kept).
func deleteAuditRows(ctx context.Context, tx *wtx, tenantID string) error {
	const top = `SELECT coalesce(max(id), 0) FROM audit_rows`
	var before, after int64
	if err := tx.QueryRowContext(ctx, top).Scan(&before); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_rows WHERE tenant_id = ?`, tenantID); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, top).Scan(&after); err != nil || after == before {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_rows WHERE tenant_id = ''`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_rows (id, tenant_id, first_seq, last_seq, data) VALUES (?, '', 0, 0, x'')`, before)
	return err
}

const tenantColumns = `tenant_id, company_name, domain, default_usage_location, settings, created_at`

func scanTenant(row interface{ Scan(...any) error }) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	if err := row.Scan(&t.ID, &t.CompanyName, &t.Domain, &t.DefaultUsageLocation, &t.Settings, &created); err != nil {
		return store.Tenant{}, err
	}
	t.CreatedAt = fromMicros(created)
	return t, nil
}

// GetTenant returns the tenant or store.ErrNotFound.
func (s *Store) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	if err := s.life.Enter(); err != nil {
		return store.Tenant{}, err
	}
	defer s.life.Leave()
	t, err := scanTenant(s.readers.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE tenant_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Tenant{}, fmt.Errorf("store/sqlite: tenant %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Tenant{}, fmt.Errorf("store/sqlite: get tenant %q: %w", id, err)
	}
	return t, nil
}

// ListTenants returns every tenant ordered by id.
func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	if err := s.life.Enter(); err != nil {
		return nil, err
	}
	defer s.life.Leave()
	rows, err := s.readers.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: list tenants: %w", err)
	}
	defer rows.Close()
	var ts []store.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("store/sqlite: list tenants: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store/sqlite: list tenants: %w", err)
	}
	return ts, nil
}

// write runs fn in a write transaction on the writer connection and commits
// it. An error from fn rolls back and is returned as it is, but classified
// (store.Fault) when SQLite says whether retrying can help.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error) error {
	return s.writeThen(ctx, fn, nil)
}

// writeThen is write, and calls committed (when not nil) once the
// transaction committed, still holding writeMu: where the writer's memory
// of the database (tails.go) takes what the transaction wrote. A failed
// write forgets everything the writer knew of the tenants.
func (s *Store) writeThen(ctx context.Context, fn func(tx *wtx) error, committed func()) error {
	if err := s.life.Enter(); err != nil {
		return &store.Fault{Class: store.ErrUnavailable, Reason: "the database is closing", Err: err}
	}
	defer s.life.Leave()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	tx, err := s.begin(ctx)
	if err != nil {
		s.forgetTails("")
		return classify(err)
	}
	if err := fn(tx); err != nil {
		s.rollback()
		s.forgetTails("")
		return classify(err)
	}
	if err := s.commit(ctx); err != nil {
		s.forgetTails("")
		return classify(err)
	}
	if committed != nil {
		committed()
	}
	s.ckpt.wrote()
	s.auditIdx.wrote()
	return nil
}
