package bundle

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/tenant"
	"allot/userprop"
)

func TestImportFromGraphJSON(t *testing.T) {
	e3, ems := sku("SPE_E3"), sku("EMS")
	skus := `{"value":[{"skuId":"` + e3 + `","skuPartNumber":"SPE_E3","prepaidUnits":{"enabled":10}},
		{"skuId":"` + ems + `","skuPartNumber":"EMS","prepaidUnits":{"enabled":5}}]}`
	groups := `{"@odata.context":"x","value":[{"id":"g1","displayName":"Staff","securityEnabled":true,"groupTypes":[],
		"assignedLicenses":[{"skuId":"` + e3 + `","disabledPlans":[]}],
		"members":[{"@odata.type":"#microsoft.graph.user","id":"u1"},{"@odata.type":"#microsoft.graph.user","id":"u2"}]}]}`
	users1 := `{"value":[{"id":"u1","userPrincipalName":"ann@contoso.com","displayName":"Ann","accountEnabled":true,"usageLocation":"US",
		"assignedLicenses":[{"skuId":"` + e3 + `","disabledPlans":[]},{"skuId":"` + ems + `","disabledPlans":[]}],
		"licenseAssignmentStates":[{"skuId":"` + e3 + `","assignedByGroup":"g1","state":"Active"},{"skuId":"` + ems + `","assignedByGroup":null,"state":"Active"}],
		"onPremisesExtensionAttributes":{"extensionAttribute1":"blue","extensionAttribute2":null}}],
		"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=x"}`
	users2 := `{"value":[{"id":"u2","userPrincipalName":"bob@contoso.com","displayName":"Bob","accountEnabled":false,"usageLocation":"GB",
		"assignedLicenses":[{"skuId":"` + e3 + `","disabledPlans":[]},{"skuId":"` + ems + `","disabledPlans":[]}]}]}`
	b, err := FromGraph(map[string][]byte{"users-1.json": []byte(users1), "users-2.json": []byte(users2)},
		map[string][]byte{"groups.json": []byte(groups)}, map[string][]byte{"skus.json": []byte(skus)})
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := runtime(t)
	tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	if _, err := Apply(context.Background(), tn, b, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	tn.Read(func(s *tenant.State) {
		e := s.Engine
		for _, u := range []string{"u1", "u2"} {
			direct := e.DirectLicenses(u)
			if len(direct) != 1 || direct[0].SKUID != ems {
				t.Fatalf("%s direct licenses: %+v", u, direct)
			}
			l, _ := e.License(u, e3)
			if !l.Held || len(l.Sources) != 1 || l.Sources[0].AssignedByGroup != "g1" {
				t.Fatalf("%s inherited E3: %+v", u, l)
			}
		}
		u, _ := e.User("u1")
		if u.Attributes["extensionattribute1"] != "blue" {
			t.Fatalf("extension attributes: %v", u.Attributes)
		}
		if u2, _ := e.User("u2"); u2.AccountEnabled {
			t.Fatal("accountEnabled lost")
		}
	})
	if _, err := FromGraph(map[string][]byte{"bad.json": []byte(`{"value":`)}, nil, nil); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("bad page: %v", err)
	}
}

// Graph's dates survive the import: a product's grant is the latest
// assignedDateTime of its plans (else its states' lastUpdatedDateTime),
// each source keeps its lastUpdatedDateTime; the claim stays the import's.
func TestGraphJSONDatesTheSeats(t *testing.T) {
	e3, ems := sku("SPE_E3"), sku("EMS")
	var e3Plan string
	emsSKU, _ := catalog.Default().SKU("EMS")
	if s, ok := catalog.Default().SKU("SPE_E3"); ok {
		for _, p := range s.Plans {
			if !emsSKU.HasPlan(p.ID) {
				e3Plan = p.ID // a plan E3 alone gives the user
				break
			}
		}
	}
	skus := `{"value":[{"skuId":"` + e3 + `","prepaidUnits":{"enabled":10}},{"skuId":"` + ems + `","prepaidUnits":{"enabled":5}}]}`
	groups := `{"value":[{"id":"g1","displayName":"Staff","securityEnabled":true,"assignedLicenses":[{"skuId":"` + ems + `"}],"members":[{"id":"u1"}]}]}`
	users := `{"value":[{"id":"u1","userPrincipalName":"ann@contoso.com","accountEnabled":true,"usageLocation":"US",
		"assignedLicenses":[{"skuId":"` + e3 + `"},{"skuId":"` + ems + `"}],
		"assignedPlans":[{"assignedDateTime":"2023-01-05T10:00:00Z","capabilityStatus":"Enabled","servicePlanId":"` + e3Plan + `"}],
		"licenseAssignmentStates":[{"skuId":"` + e3 + `","assignedByGroup":null,"state":"Active","lastUpdatedDateTime":"2023-02-01T00:00:00Z"},
			{"skuId":"` + ems + `","assignedByGroup":"g1","state":"Active","lastUpdatedDateTime":"2023-03-01T00:00:00Z"}]}]}`
	b, err := FromGraph(map[string][]byte{"users.json": []byte(users)}, map[string][]byte{"groups.json": []byte(groups)}, map[string][]byte{"skus.json": []byte(skus)})
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := runtime(t)
	tn := newTenant(t, rt, "11111111-1111-4111-8111-111111111111")
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, err := Apply(context.Background(), tn, b, "test", now); err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time { d, _ := time.Parse(time.RFC3339, s); return d }
	tn.Read(func(s *tenant.State) {
		l, _ := s.Engine.License("u1", e3)
		if !l.GrantDate().Equal(day("2023-01-05T10:00:00Z")) || !l.Sources[0].LastUpdated.Time().Equal(day("2023-02-01T00:00:00Z")) {
			t.Fatalf("E3: grant %v lastUpdated %v", l.GrantDate(), l.Sources[0].LastUpdated)
		}
		l, _ = s.Engine.License("u1", ems)
		if !l.GrantDate().Equal(day("2023-03-01T00:00:00Z")) || !l.Sources[0].LastUpdated.Time().Equal(day("2023-03-01T00:00:00Z")) {
			t.Fatalf("EMS (dated by its state): grant %v lastUpdated %v", l.GrantDate(), l.Sources[0].LastUpdated)
		}
	})
}

// TestGraphSeatDates: a page of Graph users gives each held product's
// grant date as FromGraph takes it (the latest assignedDateTime of the
// product's own plans); a page that is not a users response is refused.
func TestGraphSeatDates(t *testing.T) {
	cat := catalog.Default()
	e3 := sku("SPE_E3")
	s, _ := cat.SKU(e3)
	page := `{"value":[{"id":"u1","assignedLicenses":[{"skuId":"` + e3 + `"}],
		"assignedPlans":[{"assignedDateTime":"2024-03-01T10:00:00Z","capabilityStatus":"Enabled","servicePlanId":"` + s.Plans[0].ID + `"}]},
		{"id":"u2","assignedLicenses":[]}]}`
	dates, err := GraphSeatDates(cat, []byte(page))
	if err != nil || len(dates) != 1 || dates[0].UserID != "u1" || dates[0].SKUID != s.ID || !dates[0].GrantedAt.Equal(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("GraphSeatDates = %+v, %v", dates, err)
	}
	if _, err := GraphSeatDates(cat, []byte(`{"value":{}}`)); err == nil {
		t.Fatal("a page that is not a users response was taken")
	}
}

// FuzzGraphSeatDates: any bytes give dates or an error, never a panic.
func FuzzGraphSeatDates(f *testing.F) {
	cat := catalog.Default()
	f.Add([]byte(`{"value":[{"id":"u1","assignedLicenses":[{"skuId":"x"}],"licenseAssignmentStates":[{"skuId":"x","lastUpdatedDateTime":"2024-01-01T00:00:00Z"}]}]}`))
	f.Add([]byte(`{"value":[{"id":"","assignedPlans":[{"assignedDateTime":"bad"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = GraphSeatDates(cat, b)
	})
}

// The Graph JSON import (and so a Microsoft 365 sync, which applies what
// it reads through it) reads every property the user-property registry
// says Entra owns, whatever its type, as it stands; a property added to the
// registry as Entra's is read without a change here.
func TestFromGraphReadsEveryEntraProperty(t *testing.T) {
	user := map[string]any{"id": "u1", "accountEnabled": false}
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if !p.Entra {
			continue
		}
		switch p.Type {
		case userprop.String:
			user[p.Name] = "v-" + p.Name
		case userprop.Date:
			user[p.Name] = "2024-05-06T07:08:09Z"
		case userprop.Strings:
			user[p.Name] = []string{"a-" + p.Name, "b-" + p.Name}
		}
	}
	body, _ := json.Marshal(map[string]any{"value": []any{user}})
	b, err := FromGraph(map[string][]byte{"users.json": body}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Data.Users) != 1 {
		t.Fatalf("users %+v", b.Data.Users)
	}
	u := &b.Data.Users[0]
	n := 0
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if !p.Entra {
			continue
		}
		n++
		var got, want any
		switch p.Type {
		case userprop.Bool:
			got, want = p.GetBool(u), false
		case userprop.Strings:
			got, want = strings.Join(p.GetStrings(u), ","), "a-"+p.Name+",b-"+p.Name
		case userprop.Date:
			got, want = p.Get(u), "2024-05-06T07:08:09Z"
		default:
			got, want = p.Get(u), "v-"+p.Name
		}
		if got != want {
			t.Errorf("%s: read %v, want %v", p.Name, got, want)
		}
	}
	if n < 15 {
		t.Fatalf("only %d Entra properties", n)
	}
}
