package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"allot/store"
)

// CreateToken stores a token. Returns store.ErrConflict if the tenant already
// has a token with that id, or any tenant has one with that hash. Roles and
// AllotmentIDs are read back as empty (not nil) slices when they are empty.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if t.TenantID == "" || t.ID == "" || t.Hash == "" {
		return errors.New("store/postgres: a token needs a tenant id, an id and a hash")
	}
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens
		(tenant_id, id, display_name, roles, allotment_ids, hash, created_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.TenantID, t.ID, t.DisplayName, nonNil(t.Roles), nonNil(t.AllotmentIDs), t.Hash, t.CreatedAt, t.RevokedAt)
	if isUniqueViolation(err) {
		return fmt.Errorf("store/postgres: token %q of tenant %q (or its hash): %w", t.ID, t.TenantID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store/postgres: create token %q of tenant %q: %w", t.ID, t.TenantID, err)
	}
	return nil
}

const tokenColumns = `tenant_id, id, display_name, roles, allotment_ids, hash, created_at, revoked_at`

func scanToken(row pgx.Row) (store.Token, error) {
	var t store.Token
	var created time.Time
	var revoked *time.Time
	if err := row.Scan(&t.TenantID, &t.ID, &t.DisplayName, &t.Roles, &t.AllotmentIDs, &t.Hash, &created, &revoked); err != nil {
		return store.Token{}, err
	}
	t.CreatedAt = utc(created)
	if revoked != nil {
		at := utc(*revoked)
		t.RevokedAt = &at
	}
	return t, nil
}

// TokenByHash returns the token with that hash, revoked or not, or
// store.ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	if err := s.life.Enter(); err != nil {
		return store.Token{}, err
	}
	defer s.life.Leave()
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Token{}, fmt.Errorf("store/postgres: token by hash: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("store/postgres: token by hash: %w", err)
	}
	return t, nil
}

// ListTokens returns the tenant's tokens ordered by creation time, then id.
func (s *Store) ListTokens(ctx context.Context, tenantID string) ([]store.Token, error) {
	if err := s.life.Enter(); err != nil {
		return nil, err
	}
	defer s.life.Leave()
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: list tokens of %q: %w", tenantID, err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("store/postgres: list tokens of %q: %w", tenantID, err)
	}
	return ts, nil
}

// RevokeToken marks a token revoked at the given time. Revoking a revoked
// token keeps the first revocation time and is not an error. Returns
// store.ErrNotFound if the tenant has no such token.
func (s *Store) RevokeToken(ctx context.Context, tenantID, id string, at time.Time) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, $3) WHERE tenant_id = $1 AND id = $2`,
		tenantID, id, at)
	if err != nil {
		return fmt.Errorf("store/postgres: revoke token %q of tenant %q: %w", id, tenantID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store/postgres: token %q of tenant %q: %w", id, tenantID, store.ErrNotFound)
	}
	return nil
}

// nonNil stores a nil list as an empty array (the columns are NOT NULL).
func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
