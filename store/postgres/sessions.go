package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"allot/store"
)

var _ store.SessionStore = (*Store)(nil)

// CreateSession stores an admin-center session (store.SessionStore).
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	if ss.TenantID == "" || ss.Hash == "" || ss.TokenHash == "" {
		return errors.New("store/postgres: a session needs a tenant id, a hash and a token hash")
	}
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (tenant_id, hash, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		ss.TenantID, ss.Hash, ss.TokenHash, ss.CreatedAt, ss.ExpiresAt)
	if isUniqueViolation(err) {
		return fmt.Errorf("store/postgres: session: %w", store.ErrConflict)
	}
	if err != nil {
		return classify(fmt.Errorf("store/postgres: create session: %w", err))
	}
	return nil
}

// SessionByHash returns a session, expired or not, or store.ErrNotFound.
func (s *Store) SessionByHash(ctx context.Context, hash string) (store.Session, error) {
	if err := s.life.Enter(); err != nil {
		return store.Session{}, err
	}
	defer s.life.Leave()
	ss := store.Session{Hash: hash}
	err := s.pool.QueryRow(ctx, `SELECT tenant_id, token_hash, created_at, expires_at FROM sessions WHERE hash = $1`, hash).
		Scan(&ss.TenantID, &ss.TokenHash, &ss.CreatedAt, &ss.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Session{}, fmt.Errorf("store/postgres: session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("store/postgres: session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = utc(ss.CreatedAt), utc(ss.ExpiresAt)
	return ss, nil
}

// DeleteSession deletes a session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash); err != nil {
		return classify(fmt.Errorf("store/postgres: delete session: %w", err))
	}
	return nil
}

// DeleteExpiredSessions deletes the sessions expired at or before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	if err := s.life.Enter(); err != nil {
		return 0, err
	}
	defer s.life.Leave()
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, classify(fmt.Errorf("store/postgres: delete expired sessions: %w", err))
	}
	return tag.RowsAffected(), nil
}
