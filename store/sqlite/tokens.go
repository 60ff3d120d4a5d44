package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"allot/store"
)

// CreateToken stores a token. Returns store.ErrConflict if the tenant already
// has a token with that id, or any tenant has one with that hash. Roles and
// AllotmentIDs are read back as empty (not nil) slices when they are empty.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if t.TenantID == "" || t.ID == "" || t.Hash == "" {
		return errors.New("store/sqlite: a token needs a tenant id, an id and a hash")
	}
	roles, err := stringsJSON(t.Roles)
	if err != nil {
		return err
	}
	allotments, err := stringsJSON(t.AllotmentIDs)
	if err != nil {
		return err
	}
	var revoked any
	if t.RevokedAt != nil {
		revoked = micros(*t.RevokedAt)
	}
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens
			(tenant_id, id, display_name, roles, allotment_ids, hash, created_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			t.TenantID, t.ID, t.DisplayName, roles, allotments, t.Hash, micros(t.CreatedAt), revoked)
		if isConstraint(err) {
			return fmt.Errorf("store/sqlite: token %q of tenant %q (or its hash): %w", t.ID, t.TenantID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store/sqlite: create token %q of tenant %q: %w", t.ID, t.TenantID, err)
		}
		return nil
	})
}

const tokenColumns = `tenant_id, id, display_name, roles, allotment_ids, hash, created_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (store.Token, error) {
	var (
		t                 store.Token
		roles, allotments []byte
		created           int64
		revoked           sql.NullInt64
	)
	if err := row.Scan(&t.TenantID, &t.ID, &t.DisplayName, &roles, &allotments, &t.Hash, &created, &revoked); err != nil {
		return store.Token{}, err
	}
	if err := json.Unmarshal(roles, &t.Roles); err != nil {
		return store.Token{}, fmt.Errorf("roles of token %q: %w", t.ID, err)
	}
	if err := json.Unmarshal(allotments, &t.AllotmentIDs); err != nil {
		return store.Token{}, fmt.Errorf("allotment ids of token %q: %w", t.ID, err)
	}
	t.CreatedAt = fromMicros(created)
	if revoked.Valid {
		at := fromMicros(revoked.Int64)
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
	t, err := scanToken(s.readers.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("store/sqlite: token by hash: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("store/sqlite: token by hash: %w", err)
	}
	return t, nil
}

// ListTokens returns the tenant's tokens ordered by creation time, then id.
func (s *Store) ListTokens(ctx context.Context, tenantID string) ([]store.Token, error) {
	if err := s.life.Enter(); err != nil {
		return nil, err
	}
	defer s.life.Leave()
	rows, err := s.readers.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: list tokens of %q: %w", tenantID, err)
	}
	defer rows.Close()
	var ts []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store/sqlite: list tokens of %q: %w", tenantID, err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store/sqlite: list tokens of %q: %w", tenantID, err)
	}
	return ts, nil
}

// RevokeToken marks a token revoked at the given time. Revoking a revoked
// token keeps the first revocation time and is not an error. Returns
// store.ErrNotFound if the tenant has no such token.
func (s *Store) RevokeToken(ctx context.Context, tenantID, id string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE tenant_id = ? AND id = ?`,
			micros(at), tenantID, id)
		if err != nil {
			return fmt.Errorf("store/sqlite: revoke token %q of tenant %q: %w", id, tenantID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store/sqlite: revoke token %q of tenant %q: %w", id, tenantID, err)
		} else if n == 0 {
			return fmt.Errorf("store/sqlite: token %q of tenant %q: %w", id, tenantID, store.ErrNotFound)
		}
		return nil
	})
}

// stringsJSON encodes a string list as a JSON array, nil as [].
func stringsJSON(ss []string) (string, error) {
	if ss == nil {
		ss = []string{}
	}
	b, err := json.Marshal(ss)
	if err != nil {
		return "", fmt.Errorf("store/sqlite: %w", err)
	}
	return string(b), nil
}
