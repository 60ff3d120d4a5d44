package identity

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"allot"
	"allot/audit"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
	"allot/userprop"
)

// TestDataFromAnEarlierVersionLoadsAndGetsItsPartnerDomain: a store
// written before tenants had domains, with users the rules now refuse,
// loads; at start-up each tenant's partner domain becomes its first
// domain; refused stored values stay editable around.
func TestDataFromAnEarlierVersionLoadsAndGetsItsPartnerDomain(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(tid string, users ...licensing.User) {
		if err := st.CreateTenant(ctx, store.Tenant{ID: tid, CompanyName: tid, Domain: tid + ".example", DefaultUsageLocation: "US", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		var muts []store.Mutation
		for _, u := range users {
			b, _ := json.Marshal(u)
			muts = append(muts, store.Mutation{Kind: store.KindUser, ID: u.ID, Body: b})
		}
		if err := st.Commit(ctx, []store.Change{{TenantID: tid, Mutations: muts}}); err != nil {
			t.Fatal(err)
		}
	}
	put("contoso",
		licensing.User{ID: "u1", UserPrincipalName: "legacy", UsageLocation: "XX", DisplayName: "L"},
		licensing.User{ID: "u2", UserPrincipalName: "jos\u00e9@contoso.example"},
		licensing.User{ID: "u3", UserPrincipalName: "jose\u0301@contoso.example"})
	put("fabrikam")
	clock := now.Add(90 * 24 * time.Hour) // the runtime's clock, far from the wall clock
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return clock }}))
	if err != nil {
		t.Fatalf("a store from an earlier version does not load: %v", err)
	}
	defer rt.Close(ctx)
	for i := 0; i < 2; i++ { // the second run changes nothing
		if err := AdoptPartnerDomains(ctx, rt); err != nil {
			t.Fatal(err)
		}
	}
	// The adoption is dated by the runtime's clock.
	entries, err := st.QueryAudit(ctx, audit.Query{TenantID: "contoso", Actor: "allot (start-up)"})
	if err != nil || len(entries) == 0 {
		t.Fatalf("the adoption's audit entries: %v %v", entries, err)
	}
	for _, e := range entries {
		if !e.At.Equal(clock) {
			t.Errorf("the adoption is dated %v, not by the runtime's clock (%v)", e.At, clock)
		}
	}
	tn, _ := rt.Get("contoso")
	tn.Read(func(s *tenant.State) {
		ds := Domains(s)
		if len(ds) != 1 || ds[0].ID != "contoso.example" || !ds[0].IsDefault || !ds[0].IsInitial {
			t.Fatalf("domains after start-up: %+v", ds)
		}
	})
	do := func(fn func(tx *tenant.Tx) error) error {
		return tn.Do(ctx, licensing.Op{Actor: "test", Now: time.Now()}, fn)
	}
	// Stored values that break the rules do not block other changes.
	for _, id := range []string{"u1", "u3"} {
		if err := do(func(tx *tenant.Tx) error {
			u, _ := tx.Engine.User(id)
			u.SetText(userprop.Department, "Sales")
			return PutUser(tx, u)
		}); err != nil {
			t.Fatalf("editing stored user %s: %v", id, err)
		}
	}
	// New writes follow the rules, with the adopted domain.
	err = do(func(tx *tenant.Tx) error {
		return PutUser(tx, licensing.User{ID: "u4", UserPrincipalName: "ann@fabrikam.example"})
	})
	if allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("a user in another tenant's domain: %v", err)
	}
	if err := do(func(tx *tenant.Tx) error {
		return PutUser(tx, licensing.User{ID: "u4", UserPrincipalName: "ann@contoso.example"})
	}); err != nil {
		t.Fatal(err)
	}
	if owner, ok, err := DomainOwner(context.Background(), rt, "FABRIKAM.example"); err != nil || !ok || owner != "fabrikam" {
		t.Fatalf("DomainOwner = %q, %v, %v", owner, ok, err)
	}
}
