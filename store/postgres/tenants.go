package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"allot/store"
)

// CreateTenant stores a new tenant. Returns store.ErrConflict if the id exists.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant) error {
	if t.ID == "" {
		return errors.New("store/postgres: tenant has no id")
	}
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	_, err := s.pool.Exec(ctx, `INSERT INTO tenants
		(tenant_id, company_name, domain, default_usage_location, settings, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.CompanyName, t.Domain, t.DefaultUsageLocation, t.Settings, t.CreatedAt)
	if isUniqueViolation(err) {
		return fmt.Errorf("store/postgres: tenant %q: %w", t.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store/postgres: create tenant %q: %w", t.ID, err)
	}
	return nil
}

// UpdateTenant replaces the tenant's fields except CreatedAt, which keeps the
// value CreateTenant stored. Returns store.ErrNotFound if the tenant is missing.
func (s *Store) UpdateTenant(ctx context.Context, t store.Tenant) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	tag, err := s.pool.Exec(ctx, `UPDATE tenants
		SET company_name = $2, domain = $3, default_usage_location = $4, settings = $5
		WHERE tenant_id = $1`,
		t.ID, t.CompanyName, t.Domain, t.DefaultUsageLocation, t.Settings)
	if err != nil {
		return fmt.Errorf("store/postgres: update tenant %q: %w", t.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store/postgres: tenant %q: %w", t.ID, store.ErrNotFound)
	}
	return nil
}

// DeleteTenant removes a tenant with its objects, audit log and tokens in
// one transaction. Returns store.ErrNotFound if the tenant is missing.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	return s.deleteTenant(ctx, id, 0)
}

// deleteTenant is DeleteTenant, under the tenant's lease token fence on a
// shared store (lease.go).
func (s *Store) deleteTenant(ctx context.Context, id string, fence int64) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.fenceChangeTx(ctx, tx, store.Change{TenantID: id, Fence: fence}); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM tenants WHERE tenant_id = $1`, id)
		if err != nil {
			return fmt.Errorf("store/postgres: delete tenant %q: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("store/postgres: tenant %q: %w", id, store.ErrNotFound)
		}
		for _, table := range []string{"objects", "state_heads", "state_changes", "state_snapshots", "audit", "tokens", "alert_states", "alert_jobs", "alert_attempts"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = $1`, id); err != nil {
				return fmt.Errorf("store/postgres: delete tenant %q: %s: %w", id, table, err)
			}
		}
		return nil
	})
	return leaseError(err)
}

const tenantColumns = `tenant_id, company_name, domain, default_usage_location, settings, created_at`

func scanTenant(row pgx.Row) (store.Tenant, error) {
	var t store.Tenant
	var created time.Time
	if err := row.Scan(&t.ID, &t.CompanyName, &t.Domain, &t.DefaultUsageLocation, &t.Settings, &created); err != nil {
		return store.Tenant{}, err
	}
	t.CreatedAt = utc(created)
	return t, nil
}

// GetTenant returns the tenant or store.ErrNotFound.
func (s *Store) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	if err := s.life.Enter(); err != nil {
		return store.Tenant{}, err
	}
	defer s.life.Leave()
	t, err := scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE tenant_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Tenant{}, fmt.Errorf("store/postgres: tenant %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Tenant{}, fmt.Errorf("store/postgres: get tenant %q: %w", id, err)
	}
	return t, nil
}

// ListTenants returns every tenant ordered by id.
func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	if err := s.life.Enter(); err != nil {
		return nil, err
	}
	defer s.life.Leave()
	rows, err := s.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: list tenants: %w", err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Tenant, error) { return scanTenant(r) })
	if err != nil {
		return nil, fmt.Errorf("store/postgres: list tenants: %w", err)
	}
	return ts, nil
}
