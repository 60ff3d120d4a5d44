package storetest

import (
	"errors"
	"testing"

	"allot/audit"
	"allot/store"
)

func testTenantsAreIsolated(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	// "t1" is a prefix of "t10": a store matching tenant ids loosely fails here.
	tenants := []string{"t1", "t10", "T1"}
	for _, tn := range tenants {
		mustCreateTenant(t, s, tn)
		mustCommit(t, s, store.Change{TenantID: tn,
			Mutations: []store.Mutation{put(store.KindUser, "u1", `"`+tn+`"`), put(store.KindGroup, "g1", `"`+tn+`"`)},
			Audit:     []audit.Entry{{Seq: 1, At: base, Actor: tn, Action: "a", UserID: "u1"}},
		})
		if err := s.CreateToken(ctx(t), store.Token{ID: "tok1", TenantID: tn, DisplayName: tn, Roles: []string{"admin"}, Hash: "hash-" + tn, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	// A change to one tenant touches no other.
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{del(store.KindGroup, "g1"), put(store.KindUser, "u1", `"changed"`)},
		Audit: []audit.Entry{{Seq: 2, At: base, Actor: "t1", Action: "a", UserID: "u1"}}})
	if err := s.RevokeToken(ctx(t), "t1", "tok1", base); err != nil {
		t.Fatal(err)
	}

	wantObjects(t, s, "t1", obj(store.KindUser, "u1", `"changed"`))
	for _, tn := range tenants[1:] {
		wantObjects(t, s, tn, obj(store.KindGroup, "g1", `"`+tn+`"`), obj(store.KindUser, "u1", `"`+tn+`"`))
		o, err := s.GetObject(ctx(t), tn, store.KindGroup, "g1")
		if err != nil || string(o.Body) != `"`+tn+`"` {
			t.Fatalf("GetObject(%q) = %s, %v", tn, o.Body, err)
		}
		es, err := s.QueryAudit(ctx(t), audit.Query{TenantID: tn, UserID: "u1"})
		if err != nil || len(es) != 1 || es[0].Actor != tn || es[0].TenantID != tn {
			t.Fatalf("QueryAudit(%q) = %+v, %v", tn, es, err)
		}
		if seq, err := s.MaxAuditSeq(ctx(t), tn); err != nil || seq != 1 {
			t.Fatalf("MaxAuditSeq(%q) = %d, %v", tn, seq, err)
		}
		toks, err := s.ListTokens(ctx(t), tn)
		if err != nil || len(toks) != 1 || toks[0].TenantID != tn || toks[0].RevokedAt != nil {
			t.Fatalf("ListTokens(%q) = %+v, %v", tn, toks, err)
		}
	}
	if es, err := s.QueryAudit(ctx(t), audit.Query{TenantID: "t"}); err != nil || len(es) != 0 {
		t.Fatalf("QueryAudit of tenant %q = %+v, %v", "t", es, err)
	}
}

// testDeleteTenant: DeleteTenant removes the tenant, its objects, audit
// entries and tokens, and nothing of a tenant whose id it prefixes.
func testDeleteTenant(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	for _, tn := range []string{"t1", "t10"} {
		mustCreateTenant(t, s, tn)
		mustCommit(t, s, store.Change{TenantID: tn,
			Mutations: []store.Mutation{put(store.KindUser, "u1", `"`+tn+`"`)},
			Audit:     []audit.Entry{{Seq: 1, At: base, Actor: tn, Action: "a", UserID: "u1"}},
		})
		if err := s.CreateToken(ctx(t), store.Token{ID: "tok1", TenantID: tn, DisplayName: tn, Roles: []string{"admin"}, Hash: "hash-" + tn, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteTenant(ctx(t), "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTenant(ctx(t), "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetTenant after DeleteTenant: %v, want ErrNotFound", err)
	}
	wantObjects(t, s, "t1")
	if seq, err := s.MaxAuditSeq(ctx(t), "t1"); err != nil || seq != 0 {
		t.Fatalf("MaxAuditSeq after DeleteTenant = %d, %v", seq, err)
	}
	if _, err := s.TokenByHash(ctx(t), "hash-t1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TokenByHash after DeleteTenant: %v, want ErrNotFound", err)
	}
	wantObjects(t, s, "t10", obj(store.KindUser, "u1", `"t10"`))
	if toks, err := s.ListTokens(ctx(t), "t10"); err != nil || len(toks) != 1 {
		t.Fatalf("ListTokens(t10) = %v, %v", toks, err)
	}
	if err := s.DeleteTenant(ctx(t), "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second DeleteTenant: %v, want ErrNotFound", err)
	}
	// The id can be used again.
	mustCreateTenant(t, s, "t1")
}
