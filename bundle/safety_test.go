package bundle

import (
	"context"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// objects counts a tenant's stored objects.
func objects(t *testing.T, st store.Store, id string) int {
	n := 0
	if err := st.LoadObjects(context.Background(), id, func(store.Object) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// An allotment carving more units than the subscription has is refused by
// every import path, as the API refuses it (409), and changes nothing:
// into an empty tenant, into a tenant that already has users, with its
// file and line.
func TestImportRefusesAllotmentsBeyondTheSubscription(t *testing.T) {
	over := map[string]string{
		"subscriptions.csv":   "skuPartNumber,quantity\nSPE_E3,3\n",
		"allotments.csv":      "id,displayName,skuPartNumber,allottedUnits\nal-1,Pilot,SPE_E3,50\n",
		"users.csv":           "id,userPrincipalName,usageLocation\nu1,a@c,US\nu2,b@c,US\nu3,c@c,US\nu4,d@c,US\nu5,e@c,US\n",
		"direct_licenses.csv": "userId,skuPartNumber,allotmentId\nu1,SPE_E3,al-1\nu2,SPE_E3,al-1\nu3,SPE_E3,al-1\nu4,SPE_E3,al-1\nu5,SPE_E3,al-1\n",
	}
	for _, existing := range []bool{false, true} {
		name := "empty tenant"
		if existing {
			name = "tenant with users"
		}
		t.Run(name, func(t *testing.T) {
			rt, st := runtime(t)
			tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
			if existing {
				b, err := Open(writeFiles(t, map[string]string{"users.csv": "id,userPrincipalName,usageLocation\nx1,x@c,US\n"}), catalog.Default())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			before, n0 := states(tn), objects(t, st, tn.ID)
			b, err := Open(writeFiles(t, over), catalog.Default())
			if err != nil {
				t.Fatal(err)
			}
			_, err = Apply(context.Background(), tn, b, "test", time.Now())
			if allot.ErrorCode(err) != allot.ECONFLICT || !strings.Contains(err.Error(), "allotments.csv:2") || !strings.Contains(err.Error(), "the subscription has 3") {
				t.Fatalf("want a 409 naming allotments.csv:2, got %v", err)
			}
			if states(tn) != before || objects(t, st, tn.ID) != n0 {
				t.Fatal("a refused import changed the tenant")
			}
		})
	}
}

// The units rule seen from the units: a Graph JSON import (subscribedSkus)
// that lowers a product's units below what its allotments hold is refused
// like the partner API's quantity change.
func TestGraphImportRefusesUnitsBelowTheAllotments(t *testing.T) {
	rt, st := runtime(t)
	tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	b, err := Open(writeFiles(t, map[string]string{
		"subscriptions.csv": "skuPartNumber,quantity\nSPE_E3,10\n",
		"allotments.csv":    "id,displayName,skuPartNumber,allottedUnits\nal-1,Pilot,SPE_E3,8\n",
	}), catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	before, n0 := states(tn), objects(t, st, tn.ID)
	g, err := FromGraph(map[string][]byte{"users.json": []byte(`{"value":[{"id":"u1","userPrincipalName":"a@c","usageLocation":"US"}]}`)}, nil,
		map[string][]byte{"skus.json": []byte(`{"value":[{"skuPartNumber":"SPE_E3","prepaidUnits":{"enabled":3}}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply(context.Background(), tn, g, "test", time.Now())
	if allot.ErrorCode(err) != allot.ECONFLICT || !strings.Contains(err.Error(), "skus.json: value[0]") {
		t.Fatalf("want a 409 naming skus.json, got %v", err)
	}
	if states(tn) != before || objects(t, st, tn.ID) != n0 {
		t.Fatal("a refused import changed the tenant")
	}
}

// seatsBundle has three users claiming 2 seats of SPE_E3 in the order
// u3, u1, u2 (not the order of their ids, nor of their assignments).
var seatsBundle = map[string]string{
	"subscriptions.csv":   "skuPartNumber,quantity\nSPE_E3,2\n",
	"users.csv":           "id,userPrincipalName,usageLocation\nu1,a@c,US\nu2,b@c,US\nu3,c@c,US\n",
	"groups.csv":          "id,displayName\ng1,Staff\n",
	"members.csv":         "groupId,userId\ng1,u1\ng1,u2\ng1,u3\n",
	"group_licenses.csv":  "groupId,skuPartNumber,disabledPlans,assignedAt\ng1,SPE_E3,,2025-01-01T00:00:00Z\n",
	"direct_licenses.csv": "userId,skuPartNumber,assignedAt\n",
	"seats.csv": "userId,skuPartNumber,allotmentId,claimedAt,held,heldSince\n" +
		"u1,SPE_E3,,2025-02-01T00:00:00Z,true,2025-02-01T00:00:00Z\n" +
		// u2 says held, but it is the youngest claim: it waits.
		"u2,SPE_E3,,2025-03-01T00:00:00Z,true,2025-03-01T00:00:00Z\n" +
		"u3,SPE_E3,,2025-01-15T00:00:00Z,true,2025-01-15T00:00:00Z\n",
}

// Claims from seats.csv are kept exactly, into an empty tenant and into
// one that already has users; the oldest claims hold the seats.
func TestImportKeepsClaimsFromSeats(t *testing.T) {
	want := map[string]time.Time{
		"u1": time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC),
		"u2": time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		"u3": time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC),
	}
	for _, existing := range []bool{false, true} {
		name := "empty tenant"
		if existing {
			name = "tenant with users"
		}
		t.Run(name, func(t *testing.T) {
			rt, _ := runtime(t)
			tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
			if existing {
				b, err := Open(writeFiles(t, map[string]string{"users.csv": "id,userPrincipalName,usageLocation\nx1,x@c,US\n"}), catalog.Default())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			b, err := Open(writeFiles(t, seatsBundle), catalog.Default())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
				t.Fatal(err)
			}
			tn.Read(func(s *tenant.State) {
				for u, since := range want {
					l, ok := s.Engine.License(u, sku("SPE_E3"))
					if !ok || !l.Claimed || !l.Since.Equal(licensing.InstantOf(since)) {
						t.Fatalf("%s: claim %v since %s, want %s", u, l.Claimed, l.Since, since)
					}
				}
				held := func(u string) licensing.License { l, _ := s.Engine.License(u, sku("SPE_E3")); return l }
				if !held("u3").Held || !held("u1").Held || held("u2").Held {
					t.Fatalf("the two oldest claims (u3, u1) should hold the seats: u1 %v u2 %v u3 %v", held("u1").Held, held("u2").Held, held("u3").Held)
				}
				if !held("u1").HeldSince.Equal(licensing.InstantOf(want["u1"])) {
					t.Fatalf("heldSince of u1 %s", held("u1").HeldSince)
				}
				if w := s.Engine.WaitingRoom(sku("SPE_E3")); len(w) != 1 || w[0].UserID != "u2" {
					t.Fatalf("waiting room %+v", w)
				}
			})
			// Importing the same bundle again changes nothing.
			before := states(tn)
			if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
				t.Fatal(err)
			}
			if states(tn) != before {
				t.Fatal("re-import changed the claims")
			}
		})
	}
}

// A seat that names an allotment the product does not have is refused with
// its line.
func TestImportRefusesSeatsOfUnknownAllotments(t *testing.T) {
	rt, _ := runtime(t)
	tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	files := map[string]string{}
	for k, v := range seatsBundle {
		files[k] = v
	}
	files["seats.csv"] = "userId,skuPartNumber,allotmentId,claimedAt,held,heldSince\nu1,SPE_E3,nope,2025-02-01T00:00:00Z,false,\n"
	b, err := Open(writeFiles(t, files), catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply(context.Background(), tn, b, "test", time.Now())
	if allot.ErrorCode(err) != allot.EINVALID || !strings.Contains(err.Error(), "seats.csv:2") {
		t.Fatalf("want 400 naming seats.csv:2, got %v", err)
	}
}

// An import refused half-way by a command's rule (here: a user with a
// direct license cannot lose its usage location) commits nothing, though
// its subscription and a first user were already applied in memory.
func TestImportRefusedHalfWayCommitsNothing(t *testing.T) {
	rt, st := runtime(t)
	tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	b, err := Open(writeFiles(t, map[string]string{
		"subscriptions.csv":   "skuPartNumber,quantity\nSPE_E3,2\n",
		"users.csv":           "id,userPrincipalName,usageLocation\nu1,a@c,US\n",
		"direct_licenses.csv": "userId,skuPartNumber\nu1,SPE_E3\n",
	}), catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	before, n0 := states(tn), objects(t, st, tn.ID)
	b, err = Open(writeFiles(t, map[string]string{
		"subscriptions.csv": "skuPartNumber,quantity\nSPE_E3,5\n",
		"users.csv":         "id,userPrincipalName,usageLocation\nu0,z@c,US\nu1,a@c,\n",
	}), catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), tn, b, "test", time.Now()); allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("want the usage location refusal, got %v", err)
	}
	if states(tn) != before || objects(t, st, tn.ID) != n0 {
		t.Fatal("a refused import committed part of its change")
	}
	// And the tenant goes on: the writer's copy was rebuilt.
	if err := tn.Do(context.Background(), licensing.Op{Actor: "test"}, func(tx *tenant.Tx) error { return tx.Engine.ReprocessUser(tx.Op, "u1") }); err != nil {
		t.Fatal(err)
	}
	tn.Read(func(s *tenant.State) {
		if _, ok := s.Engine.User("u0"); ok {
			t.Fatal("the refused import's user appeared")
		}
	})
}
