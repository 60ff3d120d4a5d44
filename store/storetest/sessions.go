package storetest

import (
	"errors"
	"testing"
	"time"

	"allot/store"
)

// testSessions: admin-center sessions round-trip, survive reopening, are
// deleted one by one or when expired, and a hash is unique.
func testSessions(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	ss, ok := s.(store.SessionStore)
	if !ok {
		t.Skip("the store keeps no sessions")
	}
	if _, err := ss.SessionByHash(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing session: %v", err)
	}
	live := store.Session{TenantID: "t1", Hash: "h-live", TokenHash: "tok-1", CreatedAt: base, ExpiresAt: base.Add(12 * time.Hour)}
	old := store.Session{TenantID: store.PartnerTenant, Hash: "h-old", TokenHash: "tok-2", CreatedAt: base.Add(-24 * time.Hour), ExpiresAt: base}
	gone := store.Session{TenantID: "t1", Hash: "h-gone", TokenHash: "tok-1", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	for _, x := range []store.Session{live, old, gone} {
		if err := ss.CreateSession(ctx(t), x); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.CreateSession(ctx(t), store.Session{TenantID: "t2", Hash: "h-live", TokenHash: "x", CreatedAt: base, ExpiresAt: base}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second session with the same hash: %v", err)
	}
	if err := ss.DeleteSession(ctx(t), "h-gone"); err != nil {
		t.Fatal(err)
	}
	if err := ss.DeleteSession(ctx(t), "h-gone"); err != nil {
		t.Fatalf("deleting a missing session: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t)
	ss = s.(store.SessionStore)
	got, err := ss.SessionByHash(ctx(t), "h-live")
	if err != nil || got.TenantID != "t1" || got.TokenHash != "tok-1" || !got.CreatedAt.Equal(us(base)) ||
		!got.ExpiresAt.Equal(us(live.ExpiresAt)) || got.ExpiresAt.Location() != time.UTC {
		t.Fatalf("session after reopening: %+v, %v", got, err)
	}
	if _, err := ss.SessionByHash(ctx(t), "h-gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
	n, err := ss.DeleteExpiredSessions(ctx(t), base)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	if _, err := ss.SessionByHash(ctx(t), "h-old"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session after the sweep: %v", err)
	}
	if _, err := ss.SessionByHash(ctx(t), "h-live"); err != nil {
		t.Fatalf("live session after the sweep: %v", err)
	}
}
