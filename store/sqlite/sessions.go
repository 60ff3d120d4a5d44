package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"allot/store"
)

var _ store.SessionStore = (*Store)(nil)

// CreateSession stores an admin-center session (store.SessionStore).
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	if ss.TenantID == "" || ss.Hash == "" || ss.TokenHash == "" {
		return errors.New("store/sqlite: a session needs a tenant id, a hash and a token hash")
	}
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (tenant_id, hash, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			ss.TenantID, ss.Hash, ss.TokenHash, micros(ss.CreatedAt), micros(ss.ExpiresAt))
		if isConstraint(err) {
			return fmt.Errorf("store/sqlite: session: %w", store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store/sqlite: create session: %w", err)
		}
		return nil
	})
}

// SessionByHash returns a session, expired or not, or store.ErrNotFound.
func (s *Store) SessionByHash(ctx context.Context, hash string) (store.Session, error) {
	if err := s.life.Enter(); err != nil {
		return store.Session{}, err
	}
	defer s.life.Leave()
	ss := store.Session{Hash: hash}
	var created, expires int64
	err := s.readers.QueryRowContext(ctx, `SELECT tenant_id, token_hash, created_at, expires_at FROM sessions WHERE hash = ?`, hash).
		Scan(&ss.TenantID, &ss.TokenHash, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, fmt.Errorf("store/sqlite: session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("store/sqlite: session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = fromMicros(created), fromMicros(expires)
	return ss, nil
}

// DeleteSession deletes a session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash); err != nil {
			return fmt.Errorf("store/sqlite: delete session: %w", err)
		}
		return nil
	})
}

// DeleteExpiredSessions deletes the sessions expired at or before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, micros(now))
		if err != nil {
			return fmt.Errorf("store/sqlite: delete expired sessions: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
