package store

import (
	"context"
	"time"
)

// Session is a signed-in admin-center browser (package web). Hash is the
// hex SHA-256 of the session's random id (the id itself, which the
// browser's cookie holds, is never stored); TokenHash is the hash of the
// API token it signed in with (never the token); TenantID is that token's
// tenant.
type Session struct {
	TenantID  string
	Hash      string
	TokenHash string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionStore is implemented by the stores that keep admin-center
// sessions, so that a restart does not sign everyone out. Both backends
// implement it; the contract suite checks it.
type SessionStore interface {
	// CreateSession stores a session. ErrConflict if its hash exists.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns the session with that hash, expired or not,
	// or ErrNotFound.
	SessionByHash(ctx context.Context, hash string) (Session, error)
	// DeleteSession deletes a session; a missing one is not an error.
	DeleteSession(ctx context.Context, hash string) error
	// DeleteExpiredSessions deletes the sessions that expired at or
	// before now and returns how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
}
