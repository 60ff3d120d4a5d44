package auth_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"allot/auth"
	"allot/store"
	"allot/store/sqlite"
)

// slowLookup holds TokenByHash until released, so that a revocation can
// happen while a lookup is in flight.
type slowLookup struct {
	store.Store
	entered, release chan struct{}
}

func (s *slowLookup) TokenByHash(ctx context.Context, h string) (store.Token, error) {
	t, err := s.Store.TokenByHash(ctx, h)
	if s.entered != nil {
		s.entered <- struct{}{}
		<-s.release
	}
	return t, err
}

// A lookup that read the token before its revocation must not cache the
// old principal past the revocation's Forget (it would be accepted for the
// cache's lifetime).
func TestLookupInFlightDuringRevocationIsNotCached(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	tok, secret, err := auth.Create(ctx, st, "t1", "x", []string{auth.RoleGlobalReader}, nil, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	slow := &slowLookup{Store: st, entered: make(chan struct{}), release: make(chan struct{})}
	a := auth.NewAuthenticator(slow)
	done := make(chan error)
	go func() {
		_, err := a.Authenticate(ctx, "Bearer "+secret)
		done <- err
	}()
	<-slow.entered // the lookup read the token, still valid
	if err := st.RevokeToken(ctx, "t1", tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	a.Forget(tok.ID)
	slow.entered = nil
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatalf("the lookup in flight: %v", err)
	}
	if _, err := a.Authenticate(ctx, "Bearer "+secret); err != auth.ErrUnauthenticated {
		t.Fatalf("after the revocation the token authenticates (err %v): the stale lookup was cached", err)
	}
}
