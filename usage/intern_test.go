package usage

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// mustIntern interns a SKU id in a test's table.
func mustIntern(t *skuTable, id string) skuIdx {
	i, err := t.intern(id)
	if err != nil {
		panic(err)
	}
	return i
}

// Each tenant copy's aggregates have their own SKU table: what one tenant
// interns does not grow another's, a clone (the other copy of a tenant)
// keeps every index and then grows on its own, and an activation stays 12
// bytes.
func TestSKUTablesBelongToOneTenantCopy(t *testing.T) {
	a, b := newAggregates(), newAggregates()
	first := mustIntern(a.skus, "sku-0")
	for i := 1; i < 100; i++ {
		id := "sku-" + strconv.Itoa(i)
		if got := a.skus.id(mustIntern(a.skus, id)); got != id {
			t.Fatalf("interned %q reads back %q", id, got)
		}
	}
	if mustIntern(a.skus, "sku-0") != first {
		t.Fatal("an id interned twice has two indexes")
	}
	if a.skus.len() != 100 || b.skus.len() != 0 {
		t.Fatalf("tenant a has %d SKUs (want 100), tenant b %d (want 0)", a.skus.len(), b.skus.len())
	}
	c := a.clone()
	if c.skus == a.skus || c.skus.id(first) != "sku-0" {
		t.Fatal("a clone shares its SKU table or renumbers it")
	}
	mustIntern(c.skus, "only-in-the-clone")
	if a.skus.len() != 100 {
		t.Fatal("interning in a clone grew the original's table")
	}
	if n := unsafe.Sizeof(activation{}); n != 12 {
		t.Fatalf("activation is %d bytes, want 12", n)
	}
}

// A table at MaxSKUs refuses a new product with an error naming the limit
// (no panic), and still answers for the products it has.
func TestSKUTableLimitIsAnError(t *testing.T) {
	defer func(n int) { MaxSKUs = n }(MaxSKUs)
	MaxSKUs = 3
	tab := newSKUTable()
	for i := range 3 {
		mustIntern(tab, "sku-"+strconv.Itoa(i))
	}
	if _, err := tab.intern("sku-3"); err == nil || !strings.Contains(err.Error(), "more than 3 distinct products") {
		t.Fatalf("the fourth product: %v", err)
	}
	if i, err := tab.intern("sku-1"); err != nil || tab.id(i) != "sku-1" {
		t.Fatalf("a product the table has: %v", err)
	}
}

// Through the runtime: two tenants ingesting sign-ins of users holding
// different products each intern only their own; an ingest that would
// pass the limit is refused as a whole and changes nothing.
func TestTenantsDoNotShareSKUTables(t *testing.T) {
	e := newEnv(t)
	now := at("2024-03-10T12:00:00Z")
	e.addUsers(now, 1, "SPE_E3", "ENTERPRISEPACK")
	other, err := e.rt.Create(context.Background(), store.Tenant{ID: "33333333-3333-3333-3333-333333333333", CompanyName: "Fabrikam"},
		licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	signIn := `{"value":[{"id":"s1","user":"user1@contoso.example","at":"2024-03-10T13:00:00Z","interactive":true}]}`
	if r := e.signIns(now.Add(2*time.Hour), signIn); r.Accepted != 1 {
		t.Fatalf("result %+v", r)
	}
	count := func(tn *tenant.Tenant) (n int) {
		tn.Read(func(s *tenant.State) { n = Of(s).skus.len() })
		return n
	}
	if n := count(e.tn); n != 2 {
		t.Fatalf("the tenant interned %d products, want its user's 2", n)
	}
	if n := count(other); n != 0 {
		t.Fatalf("the other tenant's table has %d products; it ingested nothing", n)
	}

	defer func(n int) { MaxSKUs = n }(MaxSKUs)
	MaxSKUs = 1
	b := ParseSignIns([]byte(strings.ReplaceAll(signIn, `"s1"`, `"s2"`)))
	err = other.Do(context.Background(), licensing.Op{Actor: "test", Now: now.Add(3 * time.Hour)}, func(tx *tenant.Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, skuID(t, "SPE_E3"), licensing.Units{Enabled: 5, Status: "Enabled"}); err != nil {
			return err
		}
		if err := tx.Engine.SetUnits(tx.Op, skuID(t, "ENTERPRISEPACK"), licensing.Units{Enabled: 5, Status: "Enabled"}); err != nil {
			return err
		}
		if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(1), UserPrincipalName: upn(1), DisplayName: "User 1",
			AccountEnabled: true, UserType: "Member", UsageLocation: "US", Kind: licensing.KindPerson}); err != nil {
			return err
		}
		return tx.Engine.AssignUserLicenses(tx.Op, uid(1), []licensing.AssignedLicense{{SKUID: skuID(t, "SPE_E3")}, {SKUID: skuID(t, "ENTERPRISEPACK")}}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	err = other.Do(context.Background(), licensing.Op{Actor: "test", Now: now.Add(4 * time.Hour)}, func(tx *tenant.Tx) error {
		var err error
		r, err = b.Apply(tx)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "more than 1 distinct products") {
		t.Fatalf("an ingest beyond the limit: %v (%+v)", err, r)
	}
	other.Read(func(s *tenant.State) {
		if n := Of(s).Users(); n != 0 {
			t.Errorf("the refused ingest recorded %d users", n)
		}
	})
}

// The plan pseudo-features are fixed: one per plan of Microsoft's catalog,
// built once within the 16-bit indexes, found by servicePlanName or
// servicePlanId in any case, and nothing an event names adds to them.
func TestPlanFeaturesFit(t *testing.T) {
	pf := planFeatures()
	plans := catalog.Default().Plans()
	if len(pf.tab) == 0 || len(pf.tab) > len(plans) || len(ft.tab)+len(pf.tab) > 1<<16 {
		t.Fatalf("%d plan features for %d plans", len(pf.tab), len(plans))
	}
	p := plans[len(plans)/2]
	for _, name := range []string{p.ID, strings.ToUpper(p.ID), p.Name, strings.ToLower(p.Name)} {
		i, ok := lookupFeature([]byte(name))
		if !ok || !i.isPlanFeature() && ft.fold[strings.ToLower(name)] == 0 {
			t.Fatalf("%q resolves to %d, %v", name, i, ok)
		}
	}
	n := len(pf.tab)
	for i := range 1000 {
		lookupFeature([]byte("no-such-plan-" + strconv.Itoa(i)))
	}
	if len(planFeatures().tab) != n {
		t.Fatal("looking up unknown names grew the plan features")
	}
	if _, err := buildPlanFeatures(catalog.Default()); err != nil {
		t.Fatal(err)
	}
}
