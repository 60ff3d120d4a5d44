package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"allot/store"
)

func testToken(tenant, id string, created time.Time) store.Token {
	return store.Token{ID: id, TenantID: tenant, DisplayName: "CI pipeline " + id, Roles: []string{"License Administrator", "Reader"},
		AllotmentIDs: []string{"al-1", "al-2"}, Hash: fmt.Sprintf("%x", []byte(tenant+"/"+id)), CreatedAt: created}
}

func wantToken(t testing.TB, got, want store.Token) {
	t.Helper()
	ok := got.ID == want.ID && got.TenantID == want.TenantID && got.DisplayName == want.DisplayName &&
		slices.Equal(got.Roles, want.Roles) && slices.Equal(got.AllotmentIDs, want.AllotmentIDs) &&
		got.Hash == want.Hash && got.CreatedAt.Equal(us(want.CreatedAt)) && got.CreatedAt.Location() == time.UTC &&
		(got.RevokedAt == nil) == (want.RevokedAt == nil)
	if ok && got.RevokedAt != nil {
		ok = got.RevokedAt.Equal(us(*want.RevokedAt)) && got.RevokedAt.Location() == time.UTC
	}
	if !ok {
		t.Fatalf("token:\n got  %+v (revoked %v)\n want %+v (revoked %v)", got, got.RevokedAt, want, want.RevokedAt)
	}
}

func testTokensRoundTrip(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	if toks, err := s.ListTokens(ctx(t), "t1"); err != nil || len(toks) != 0 {
		t.Fatalf("ListTokens without tokens = %v, %v", toks, err)
	}
	late := testToken("t1", "a-late", base.Add(2*time.Hour))
	early := testToken("t1", "z-early", base.Add(time.Hour))
	tie := testToken("t1", "b-tie", base.Add(2*time.Hour))
	minimal := store.Token{ID: "m", TenantID: store.PartnerTenant, Hash: "h-minimal", CreatedAt: base}
	revoked := testToken("t1", "r", base.Add(3*time.Hour))
	at := base.Add(4 * time.Hour)
	revoked.RevokedAt = &at
	for _, tok := range []store.Token{late, early, tie, minimal, revoked} {
		if err := s.CreateToken(ctx(t), tok); err != nil {
			t.Fatalf("CreateToken(%s): %v", tok.ID, err)
		}
	}
	toks, err := s.ListTokens(ctx(t), "t1")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Token{early, late, tie, revoked} // by creation time, then id
	if len(toks) != len(want) {
		t.Fatalf("ListTokens = %d tokens, want %d", len(toks), len(want))
	}
	for i := range want {
		wantToken(t, toks[i], want[i])
	}
	got, err := s.TokenByHash(ctx(t), minimal.Hash)
	if err != nil {
		t.Fatal(err)
	}
	wantToken(t, got, minimal)
	got, err = s.TokenByHash(ctx(t), late.Hash)
	if err != nil {
		t.Fatal(err)
	}
	wantToken(t, got, late)
	if _, err := s.TokenByHash(ctx(t), "no such hash"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TokenByHash of an unknown hash = %v, want ErrNotFound", err)
	}
}

func testTokenConflicts(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	tok := testToken("t1", "tok", base)
	if err := s.CreateToken(ctx(t), tok); err != nil {
		t.Fatal(err)
	}
	sameID := tok
	sameID.Hash = "other hash"
	if err := s.CreateToken(ctx(t), sameID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateToken with a used id = %v, want ErrConflict", err)
	}
	sameHash := testToken("t2", "other", base)
	sameHash.Hash = tok.Hash
	if err := s.CreateToken(ctx(t), sameHash); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateToken with a used hash in another tenant = %v, want ErrConflict", err)
	}
	sameIDOtherTenant := testToken("t2", "tok", base)
	if err := s.CreateToken(ctx(t), sameIDOtherTenant); err != nil {
		t.Fatalf("CreateToken with the id of another tenant's token: %v", err)
	}
	got, err := s.TokenByHash(ctx(t), tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	wantToken(t, got, tok)
}

func testRevokeToken(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	tok := testToken("t1", "tok", base)
	if err := s.CreateToken(ctx(t), tok); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx(t), "t2", "tok", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeToken in another tenant = %v, want ErrNotFound", err)
	}
	if err := s.RevokeToken(ctx(t), "t1", "missing", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeToken of a missing token = %v, want ErrNotFound", err)
	}
	at := base.Add(time.Hour)
	if err := s.RevokeToken(ctx(t), "t1", "tok", at); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx(t), "t1", "tok", at.Add(time.Hour)); err != nil {
		t.Fatalf("revoking again: %v", err)
	}
	tok.RevokedAt = &at
	got, err := s.TokenByHash(ctx(t), tok.Hash)
	if err != nil {
		t.Fatalf("TokenByHash of a revoked token: %v", err)
	}
	wantToken(t, got, tok)
	toks, err := s.ListTokens(ctx(t), "t1")
	if err != nil || len(toks) != 1 {
		t.Fatalf("ListTokens = %v, %v", toks, err)
	}
	wantToken(t, toks[0], tok)
}
