package storetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"allot/store"
)

func wantTenant(t testing.TB, got, want store.Tenant) {
	t.Helper()
	if got.ID != want.ID || got.CompanyName != want.CompanyName || got.Domain != want.Domain ||
		got.DefaultUsageLocation != want.DefaultUsageLocation || !bytes.Equal(got.Settings, want.Settings) ||
		!got.CreatedAt.Equal(us(want.CreatedAt)) || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("tenant:\n got  %+v\n want %+v (times to the microsecond, UTC)", got, want)
	}
}

func testTenantsRoundTrip(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	want := store.Tenant{ID: "contoso", CompanyName: "Contoso Ltd", Domain: "contoso.example", DefaultUsageLocation: "US",
		Settings: []byte(`{"waitingRoom":true}`), CreatedAt: base}
	if err := s.CreateTenant(ctx(t), want); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTenant(ctx(t), "contoso")
	if err != nil {
		t.Fatal(err)
	}
	wantTenant(t, got, want)
}

func testCreateTenantTwiceConflicts(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	first := mustCreateTenant(t, s, "contoso")
	err := s.CreateTenant(ctx(t), store.Tenant{ID: "contoso", CompanyName: "Other"})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateTenant: %v, want ErrConflict", err)
	}
	got, err := s.GetTenant(ctx(t), "contoso")
	if err != nil {
		t.Fatal(err)
	}
	wantTenant(t, got, first)
}

func testMissingTenantIsNotFound(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	if _, err := s.GetTenant(ctx(t), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetTenant: %v, want ErrNotFound", err)
	}
	if err := s.UpdateTenant(ctx(t), store.Tenant{ID: "nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateTenant: %v, want ErrNotFound", err)
	}
	if _, err := s.GetTenant(ctx(t), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateTenant of a missing tenant created it: %v", err)
	}
}

func testUpdateTenant(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCreateTenant(t, s, "contoso")
	update := store.Tenant{ID: "contoso", CompanyName: "Contoso Holdings", Domain: "contoso.test",
		DefaultUsageLocation: "GB", Settings: []byte(`{"a":1}`), CreatedAt: base.Add(time.Hour)}
	if err := s.UpdateTenant(ctx(t), update); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTenant(ctx(t), "contoso")
	if err != nil {
		t.Fatal(err)
	}
	update.CreatedAt = base
	wantTenant(t, got, update)
}

func testListTenantsOrderedByID(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	if ts, err := s.ListTenants(ctx(t)); err != nil || len(ts) != 0 {
		t.Fatalf("ListTenants of an empty store = %v, %v; want none", ts, err)
	}
	ids := []string{"b", "a", "B", "a0", "A", "10", "9", "ä"}
	for _, id := range ids {
		mustCreateTenant(t, s, id)
	}
	ts, err := s.ListTenants(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tn := range ts {
		got = append(got, tn.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Fatalf("ListTenants order = %q, want %q", got, ids)
	}
}
