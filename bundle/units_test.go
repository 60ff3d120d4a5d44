package bundle

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/subscription"
	"allot/tenant"
)

// subscribedSkus renders a tenant's subscribedSkus (prepaidUnits of every
// state, capabilityStatus, consumed and waiting units) and its partner
// subscriptions without lastModifiedDate.
func subscribedSkus(tn *tenant.Tenant) string {
	var b strings.Builder
	tn.Read(func(s *tenant.State) {
		for _, p := range s.Engine.Pools() {
			fmt.Fprintf(&b, "sku %s %+v consumed %d waiting %d\n", p.SKU.PartNumber, p.Units, p.Consumed, p.Waiting)
		}
		var subs []string
		for _, id := range s.IDs(store.KindSubscription) {
			var sub subscription.Subscription
			s.Decode(store.KindSubscription, id, &sub)
			sub.LastModifiedDate = time.Time{}
			subs = append(subs, fmt.Sprintf("sub %s %s %d %s created %s end %v renew %v reasons %v grace %v deletion %v",
				sub.ID, sub.SKUPartNumber, sub.Quantity, sub.Status, sub.CreationDate.UTC().Format(time.RFC3339Nano),
				fmtTime(sub.CommitmentEndDate), sub.AutoRenewEnabled, sub.SuspensionReasons, fmtTime(sub.GraceEndDate), fmtTime(sub.DeletionDate)))
		}
		sort.Strings(subs)
		b.WriteString(strings.Join(subs, "\n"))
	})
	return b.String()
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// seedLifecycle builds a tenant whose E3 has an active and an expired
// subscription and whose EMS subscription is suspended after four users
// took seats, with a user waiting for E3.
func seedLifecycle(t *testing.T, tn *tenant.Tenant) {
	e3, ems := sku("SPE_E3"), sku("EMS")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 0
	do := func(fn func(tx *tenant.Tx) error) {
		t.Helper()
		step++
		if err := tn.Do(context.Background(), licensing.Op{Actor: "seed", Now: at.Add(time.Duration(step) * time.Hour)}, fn); err != nil {
			t.Fatal(err)
		}
	}
	end := at.AddDate(1, 0, 0)
	do(func(tx *tenant.Tx) error {
		for _, s := range []subscription.Subscription{
			{ID: "sub-e3", SKUID: e3, SKUPartNumber: "SPE_E3", OfferID: "SPE_E3", Quantity: 2, Status: subscription.StatusActive, CreationDate: at, CommitmentEndDate: &end, AutoRenewEnabled: true},
			{ID: "sub-e3-old", SKUID: e3, SKUPartNumber: "SPE_E3", OfferID: "SPE_E3", Quantity: 1, Status: subscription.StatusActive, CreationDate: at.Add(time.Minute)},
			{ID: "sub-ems", SKUID: ems, SKUPartNumber: "EMS", OfferID: "EMS", Quantity: 4, Status: subscription.StatusActive, CreationDate: at.Add(2 * time.Minute)},
		} {
			if err := subscription.Put(tx, s); err != nil {
				return err
			}
		}
		for i := 0; i < 5; i++ {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(i), UserPrincipalName: fmt.Sprintf("u%d@contoso.example", i), UsageLocation: "US", AccountEnabled: true}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, i := range []int{3, 0, 4, 1} {
		do(func(tx *tenant.Tx) error {
			lic := []licensing.AssignedLicense{{SKUID: ems}}
			if i != 1 {
				lic = append(lic, licensing.AssignedLicense{SKUID: e3})
			}
			return tx.Engine.AssignUserLicenses(tx.Op, uid(i), lic, nil)
		})
	}
	// The older E3 subscription expires (grace period), EMS is suspended.
	do(func(tx *tenant.Tx) error {
		grace := tx.Op.Now.Add(subscription.GracePeriod)
		if err := subscription.Put(tx, subscription.Subscription{ID: "sub-e3-old", SKUID: e3, SKUPartNumber: "SPE_E3", OfferID: "SPE_E3",
			Quantity: 1, Status: subscription.StatusExpired, CreationDate: at.Add(time.Minute), GraceEndDate: &grace}); err != nil {
			return err
		}
		return subscription.Put(tx, subscription.Subscription{ID: "sub-ems", SKUID: ems, SKUPartNumber: "EMS", OfferID: "EMS",
			Quantity: 4, Status: subscription.StatusSuspended, CreationDate: at.Add(2 * time.Minute), SuspensionReasons: []string{"Nonpayment"}})
	})
}

func TestRoundTripKeepsExpiredAndSuspendedSubscriptions(t *testing.T) {
	for _, target := range []string{"dir", "bundle.zip"} {
		t.Run(target, func(t *testing.T) {
			rt, _ := runtime(t)
			src := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
			seedLifecycle(t, src)
			want := subscribedSkus(src)
			src.Read(func(s *tenant.State) {
				e3, _ := s.Engine.Pool(sku("SPE_E3"))
				ems, _ := s.Engine.Pool(sku("EMS"))
				if e3.Units != (licensing.Units{Enabled: 2, Warning: 1, Status: "Enabled"}) || e3.Consumed != 3 || e3.Waiting != 0 ||
					ems.Units != (licensing.Units{Suspended: 4, Status: "Suspended"}) || ems.Consumed != 4 {
					t.Fatalf("seed: E3 %+v, EMS %+v", e3, ems)
				}
			})
			path := filepath.Join(t.TempDir(), target)
			var err error
			src.Read(func(s *tenant.State) { err = WriteTenant(path, s) })
			if err != nil {
				t.Fatal(err)
			}
			b, err := Open(path, catalog.Default())
			if err != nil {
				t.Fatal(err)
			}
			dst := newTenant(t, rt, "22222222-2222-4222-8222-222222222222")
			if _, err := Apply(context.Background(), dst, b, "test", time.Now()); err != nil {
				t.Fatal(err)
			}
			if got := subscribedSkus(dst); got != want {
				t.Fatalf("subscribedSkus differ:\n--- source\n%s\n--- imported\n%s", want, got)
			}
			if a, c := states(src), states(dst); a != c {
				t.Fatalf("seats differ:\n--- source\n%s--- imported\n%s", a, c)
			}
			// Importing the same bundle again changes nothing.
			before := subscribedSkus(dst)
			if _, err := Apply(context.Background(), dst, b, "test", time.Now()); err != nil {
				t.Fatal(err)
			}
			if got := subscribedSkus(dst); got != before {
				t.Fatalf("re-import changed the subscriptions:\n%s\n---\n%s", before, got)
			}
		})
	}
}

func TestWriteGivesUnitsOfEveryStateWithoutSubscriptions(t *testing.T) {
	rt, _ := runtime(t)
	src := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	e3 := sku("SPE_E3")
	if err := src.Do(context.Background(), licensing.Op{Actor: "seed", Now: time.Now()}, func(tx *tenant.Tx) error {
		return tx.Engine.SetUnits(tx.Op, e3, licensing.Units{Enabled: 1, Warning: 2, Suspended: 3, LockedOut: 4})
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src.Read(func(s *tenant.State) {
		if err := Write(dir, s.Engine); err != nil {
			t.Fatal(err)
		}
	})
	b, err := Open(dir, catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	dst := newTenant(t, rt, "22222222-2222-4222-8222-222222222222")
	if _, err := Apply(context.Background(), dst, b, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	dst.Read(func(s *tenant.State) {
		p, _ := s.Engine.Pool(e3)
		if p.Units != (licensing.Units{Enabled: 1, Warning: 2, Suspended: 3, LockedOut: 4, Status: "Enabled"}) {
			t.Fatalf("units %+v", p.Units)
		}
	})
}

func TestGraphImportKeepsWarningSuspendedAndLockedOutUnits(t *testing.T) {
	e3, ems, e5 := sku("SPE_E3"), sku("EMS"), sku("SPE_E5")
	skus := `{"value":[
		{"skuId":"` + e3 + `","skuPartNumber":"SPE_E3","capabilityStatus":"Enabled","prepaidUnits":{"enabled":2,"warning":3,"suspended":0,"lockedOut":0}},
		{"skuId":"` + ems + `","skuPartNumber":"EMS","capabilityStatus":"Suspended","prepaidUnits":{"enabled":0,"warning":0,"suspended":5,"lockedOut":1}},
		{"skuId":"` + e5 + `","skuPartNumber":"SPE_E5","capabilityStatus":"LockedOut","prepaidUnits":{"enabled":0,"warning":0,"suspended":0,"lockedOut":7}}]}`
	b, err := FromGraph(nil, nil, map[string][]byte{"skus.json": []byte(skus)})
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := runtime(t)
	tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	want := map[string]licensing.Units{
		e3:  {Enabled: 2, Warning: 3, Status: "Enabled"},
		ems: {Suspended: 5, LockedOut: 1, Status: "Suspended"},
		e5:  {LockedOut: 7, Status: "LockedOut"},
	}
	tn.Read(func(s *tenant.State) {
		for id, u := range want {
			p, ok := s.Engine.Pool(id)
			if !ok || p.Units != u {
				t.Errorf("%s: units %+v, want %+v", id, p.Units, u)
			}
		}
		var sub subscription.Subscription
		if ok, _ := s.Decode(store.KindSubscription, importSubscriptionID(ems)+"-suspended", &sub); !ok || sub.Quantity != 5 || sub.Status != subscription.StatusSuspended {
			t.Errorf("EMS suspended import subscription: %v %+v", ok, sub)
		}
	})
	// The same units again change nothing; fewer units of one state
	// bring its import subscription down.
	before := subscribedSkus(tn)
	if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := subscribedSkus(tn); got != before {
		t.Fatalf("re-import changed the units:\n%s\n---\n%s", before, got)
	}
	less := `{"value":[{"skuId":"` + e3 + `","prepaidUnits":{"enabled":2,"warning":1}}]}`
	if b, err = FromGraph(nil, nil, map[string][]byte{"skus.json": []byte(less)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	tn.Read(func(s *tenant.State) {
		if p, _ := s.Engine.Pool(e3); p.Units != (licensing.Units{Enabled: 2, Warning: 1, Status: "Enabled"}) {
			t.Fatalf("E3 units %+v", p.Units)
		}
	})
}

func TestOldBundleWithoutStatusImportsAsBefore(t *testing.T) {
	rt, _ := runtime(t)
	tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	e3 := sku("SPE_E3")
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	// The tenant already has an active partner subscription of 1 unit and
	// an expired one, which the old format's quantity does not count.
	if err := tn.Do(context.Background(), licensing.Op{Actor: "seed", Now: now}, func(tx *tenant.Tx) error {
		if err := subscription.Put(tx, subscription.Subscription{ID: "p1", SKUID: e3, SKUPartNumber: "SPE_E3", Quantity: 1, Status: subscription.StatusActive, CreationDate: now}); err != nil {
			return err
		}
		return subscription.Put(tx, subscription.Subscription{ID: "p2", SKUID: e3, SKUPartNumber: "SPE_E3", Quantity: 2, Status: subscription.StatusExpired, CreationDate: now})
	}); err != nil {
		t.Fatal(err)
	}
	b, err := Open(writeFiles(t, map[string]string{
		"subscriptions.csv":   "skuPartNumber,quantity\nSPE_E3,3\nSPE_E3,1\n",
		"users.csv":           "id,userPrincipalName,usageLocation\nu1,a@c,US\n",
		"direct_licenses.csv": "userId,skuPartNumber\nu1,SPE_E3\n",
	}), catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), tn, b, "test", now); err != nil {
		t.Fatal(err)
	}
	tn.Read(func(s *tenant.State) {
		p, _ := s.Engine.Pool(e3)
		if p.Units != (licensing.Units{Enabled: 4, Warning: 2, Status: "Enabled"}) || p.Consumed != 1 {
			t.Fatalf("units %+v consumed %d", p.Units, p.Consumed)
		}
		var sub subscription.Subscription
		if ok, _ := s.Decode(store.KindSubscription, importSubscriptionID(e3), &sub); !ok || sub.Quantity != 3 || sub.Status != subscription.StatusActive {
			t.Fatalf("import subscription %v %+v", ok, sub)
		}
		if n := len(s.IDs(store.KindSubscription)); n != 3 {
			t.Fatalf("%d subscriptions, want the two of the partner and the import's", n)
		}
	})
}

func TestBadSubscriptionRowsAreRefusedWithTheirLine(t *testing.T) {
	cases := []struct{ name, csv, want string }{
		{"bad status", "skuPartNumber,quantity,status\nSPE_E3,1,active\nSPE_E3,1,paused\n", "subscriptions.csv:3: status \"paused\""},
		{"dates without id", "skuPartNumber,quantity,status,graceEndDate\nSPE_E3,1,expired,2026-01-01T00:00:00Z\n", "subscriptions.csv:2: a row without an id"},
		{"deleted units", "skuPartNumber,quantity,status\nSPE_E3,1,deleted\n", "subscriptions.csv:2: a deleted subscription has no units"},
		{"subscription beyond the partner API's quantity", "skuPartNumber,quantity,status,id\nSPE_E3,1000001,active,s1\n", "subscriptions.csv:2: subscription s1: quantity must be a whole number from 0 to 1000000"},
		{"units beyond any count", "skuPartNumber,quantity\nSPE_E3,9000000000000000000\nSPE_E3,9000000000000000000\n", "subscriptions.csv:2: quantity 9000000000000000000 is more than"},
		{"bad date", "skuPartNumber,quantity,status,id,commitmentEndDate\nSPE_E3,1,active,s1,soon\n", "subscriptions.csv:2: commitmentEndDate"},
		{"id twice", "skuPartNumber,quantity,status,id\nSPE_E3,1,active,s1\nEMS,1,active,s1\n", "subscriptions.csv:3: subscription s1 is also listed"},
		{"allotments beyond the units of every state", "skuPartNumber,quantity,status\nSPE_E3,1,active\nSPE_E3,1,suspended\n", "allotments.csv:2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, st := runtime(t)
			tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
			n0 := objects(t, st, tn.ID)
			files := map[string]string{"subscriptions.csv": c.csv}
			if strings.HasPrefix(c.want, "allotments") {
				files["allotments.csv"] = "id,displayName,skuPartNumber,allottedUnits\na1,Pilot,SPE_E3,3\n"
			}
			b, err := Open(writeFiles(t, files), catalog.Default())
			if err == nil {
				_, err = Apply(context.Background(), tn, b, "test", time.Now())
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
			if code := allot.ErrorCode(err); code != allot.EINVALID && code != allot.ECONFLICT {
				t.Fatalf("code %v", code)
			}
			if objects(t, st, tn.ID) != n0 {
				t.Fatal("a refused import changed the tenant")
			}
		})
	}
}
