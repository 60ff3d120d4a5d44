package positionapi_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	positionapi "allot/api/position"
	"allot/api/server"
	"allot/catalog"
	"allot/licensing"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/tenant"
	"allot/usage"
)

type world struct {
	e                  *apitest.Env
	tenant             string
	tn                 *tenant.Tenant
	admin, reader      string
	reports, userAdmin string
	owner              string
}

func mount(s *server.Server) { positionapi.Mount(s, positionapi.Options{}) }

// setup: E3 ×10 and E5 ×5; ann uses E3, bob holds E5 but uses E3 things,
// off is disabled with E3; carl (disabled) holds E3 through allotment A,
// whose owner has a token.
func setup(t *testing.T) *world {
	e := apitest.New(t, partner.Register, admin.Register, mount)
	w := &world{e: e, tenant: e.Customer("Contoso", "US")}
	e.Subscribe(w.tenant, "SPE_E3", 10)
	e.Subscribe(w.tenant, "SPE_E5", 5)
	w.tn, _ = e.RT.Get(w.tenant)
	e3, _ := catalog.Default().SKU("SPE_E3")
	e5, _ := catalog.Default().SKU("SPE_E5")
	now := time.Now().UTC()
	do := func(fn func(tx *tenant.Tx) error) {
		t.Helper()
		if err := w.tn.Do(context.Background(), licensing.Op{Actor: "test", Now: time.Now()}, fn); err != nil {
			t.Fatal(err)
		}
	}
	do(func(tx *tenant.Tx) error {
		for _, u := range []struct {
			id      string
			enabled bool
			sku     string
		}{{"ann", true, e3.ID}, {"bob", true, e5.ID}, {"off", false, e3.ID}, {"carl", false, ""}} {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: u.id, UserPrincipalName: u.id + "@contoso.example", AccountEnabled: u.enabled,
				UserType: "Member", UsageLocation: "US", Kind: licensing.KindPerson}); err != nil {
				return err
			}
			if u.sku != "" {
				if err := tx.Engine.AssignUserLicenses(tx.Op, u.id, []licensing.AssignedLicense{{SKUID: u.sku}}, nil); err != nil {
					return err
				}
			}
		}
		if err := tx.Engine.PutAllotment(tx.Op, licensing.Allotment{ID: "A", DisplayName: "Sales", SKUID: e3.ID, AllottedUnits: 2}); err != nil {
			return err
		}
		return tx.Engine.AssignThroughAllotment(tx.Op, "A", "carl", nil)
	})
	var b strings.Builder
	for i, u := range []string{"ann", "bob"} {
		for j, f := range []string{"exchangeMailbox", "officeDesktopApps", "intuneDeviceManagement"} {
			fmt.Fprintf(&b, `{"id":"%d-%d","user":"%s@contoso.example","feature":"%s","at":"%s"}`+"\n", i, j, u, f, now.Add(-24*time.Hour).Format(time.RFC3339))
		}
	}
	batch := usage.ParseEvents([]byte(b.String()))
	do(func(tx *tenant.Tx) error { _, err := batch.Apply(tx); return err })
	w.admin = e.Token(w.tenant, "LicenseAdministrator")
	w.reader = e.Token(w.tenant, "GlobalReader")
	w.reports = e.Token(w.tenant, "ReportsReader")
	w.userAdmin = e.Token(w.tenant, "UserAdministrator")
	w.owner = e.Must(201, "POST", "/allot/v1/tenants/"+w.tenant+"/tokens", apitest.PartnerToken,
		map[string]any{"displayName": "owner", "roles": []string{"AllotmentOwner"}, "allotmentIds": []string{"A"}}).JSON()["token"].(string)
	return w
}

func (w *world) putPrices(t *testing.T) {
	w.e.Must(200, "PUT", "/allot/v1/prices", w.admin, map[string]any{"currency": "usd", "prices": []map[string]any{
		{"skuPartNumber": "SPE_E3", "monthlyUnitPrice": 36.0},
		{"skuId": "06ebc4ee-1bb5-47dd-8120-11324bc54e06", "monthlyUnitPrice": 57, "term": "annual"}}})
}

func kinds(p position.Position) map[string][]string {
	out := map[string][]string{}
	for _, f := range p.Findings {
		out[f.Kind] = append(out[f.Kind], f.UserID)
	}
	return out
}

func TestPriceListIsReplacedValidatedAndReadBack(t *testing.T) {
	w := setup(t)
	got := w.e.Must(200, "GET", "/allot/v1/prices", w.reader, nil).JSON()
	if got["currency"] != nil || len(got["prices"].([]any)) != 0 {
		t.Fatalf("empty list: %v", got)
	}
	w.putPrices(t)
	got = w.e.Must(200, "GET", "/allot/v1/prices", w.reports, nil).JSON()
	ps := got["prices"].([]any)
	e5 := ps[1].(map[string]any)
	if got["currency"] != "USD" || len(ps) != 2 || e5["skuPartNumber"] != "SPE_E5" || e5["monthlyUnitPrice"] != 57.0 || e5["term"] != "P1Y" {
		t.Fatalf("list: %v", got)
	}
	r := w.e.Must(400, "PUT", "/allot/v1/prices", w.admin, map[string]any{"currency": "USD", "prices": []map[string]any{
		{"skuPartNumber": "SPE_E3", "monthlyUnitPrice": 36}, {"skuPartNumber": "NOPE", "monthlyUnitPrice": 1},
		{"skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965", "monthlyUnitPrice": -1}}})
	msg := r.ErrorMessage()
	for _, want := range []string{"prices[1].skuPartNumber", "prices[2]: SPE_E3 is already priced by prices[0]", "prices[2].monthlyUnitPrice"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("error %q lacks %q", msg, want)
		}
	}
	// Refused: the list is unchanged.
	if n := len(w.e.Must(200, "GET", "/allot/v1/prices", w.admin, nil).JSON()["prices"].([]any)); n != 2 {
		t.Fatalf("list changed by a refused PUT: %d prices", n)
	}
	// What the tenant may buy: its kind and a list of products, resolved;
	// a bad kind or product is refused and changes nothing.
	r = w.e.Must(400, "PUT", "/allot/v1/prices", w.admin, map[string]any{"currency": "USD", "prices": []map[string]any{},
		"tenantKind": "charity", "mayBuy": []string{"SPE_E3", "NOPE"}})
	if msg := r.ErrorMessage(); !strings.Contains(msg, "tenantKind") || !strings.Contains(msg, "mayBuy[1]") {
		t.Fatalf("error %q", msg)
	}
	if got := w.e.Must(200, "GET", "/allot/v1/prices", w.admin, nil).JSON(); got["tenantKind"] != "commercial" || len(got["mayBuy"].([]any)) != 0 {
		t.Fatalf("after a refused PUT: %v", got)
	}
	w.e.Must(200, "PUT", "/allot/v1/prices", w.admin, map[string]any{"currency": "USD", "prices": []map[string]any{
		{"skuPartNumber": "SPE_E3", "monthlyUnitPrice": 36}}, "tenantKind": "Education", "mayBuy": []string{"SPE_E3"}})
	if got := w.e.Must(200, "GET", "/allot/v1/prices", w.admin, nil).JSON(); got["tenantKind"] != "education" ||
		got["mayBuy"].([]any)[0] != "05e9a617-0261-4cee-bb44-138d3ef5d965" {
		t.Fatalf("purchase settings: %v", got)
	}
	w.e.Must(403, "PUT", "/allot/v1/prices", w.reader, `{"currency":"USD","prices":[]}`)
	w.e.Must(403, "GET", "/allot/v1/prices", w.userAdmin, nil)
	w.e.Must(404, "GET", "/allot/v1/prices", w.owner, nil)
	w.e.Must(404, "PUT", "/allot/v1/prices", w.owner, `{"currency":"USD","prices":[]}`)
}

func TestPositionJSONWithAndWithoutPrices(t *testing.T) {
	w := setup(t)
	var p position.Position
	w.e.Must(200, "GET", "/allot/v1/position", w.reader, nil).Decode(t, &p)
	if p.Currency != nil || len(p.Notes) == 0 {
		t.Fatalf("unpriced position: currency %v notes %v", p.Currency, p.Notes)
	}
	w.putPrices(t)
	r := w.e.Must(200, "GET", "/allot/v1/position?asOf="+time.Now().UTC().Format(time.DateOnly), w.reports, nil)
	r.Decode(t, &p)
	raw := r.JSON()
	for _, k := range []string{"asOf", "currency", "skus", "findings", "totals"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("position lacks %s: %v", k, raw)
		}
	}
	k := kinds(p)
	slices.Sort(k["disabledHoldingLicense"])
	if strings.Join(k["disabledHoldingLicense"], ",") != "carl,off" || strings.Join(k["overAssigned"], ",") != "bob" {
		t.Fatalf("findings %v", k)
	}
	for _, f := range p.Findings {
		if f.Kind == "overAssigned" && (f.SKUPartNumber != "SPE_E5" || *f.Fix.MonthlyDelta != -21) {
			t.Fatalf("bob's finding %+v", f)
		}
	}
	var e3 position.SKU
	for _, s := range p.SKUs {
		if s.SKUPartNumber == "SPE_E3" {
			e3 = s
		}
	}
	if e3.Owned != 10 || e3.Assigned != 3 || *e3.MonthlyCost != 360 {
		t.Fatalf("E3 %+v", e3)
	}
	w.e.Must(200, "GET", "/allot/v1/position", w.admin, nil)
	w.e.Must(200, "GET", "/allot/v1/position", apitest.PartnerToken, nil, "X-Allot-Tenant: "+w.tenant)
	w.e.Must(403, "GET", "/allot/v1/position", w.userAdmin, nil)
	w.e.Must(400, "GET", "/allot/v1/position?asOf=yesterday", w.admin, nil)
	w.e.Must(400, "GET", "/allot/v1/position?asOf=2999-01-01", w.admin, nil)
	w.e.Must(400, "GET", "/allot/v1/position?top=3", w.admin, nil)
}

func TestAllotmentOwnerSeesOnlyTheirAllotment(t *testing.T) {
	w := setup(t)
	w.putPrices(t)
	var p position.Position
	w.e.Must(200, "GET", "/allot/v1/position", w.owner, nil).Decode(t, &p)
	if !p.Scoped || len(p.SKUs) != 1 || p.SKUs[0].SKUPartNumber != "SPE_E3" || p.SKUs[0].Owned != 2 || p.SKUs[0].Assigned != 1 {
		t.Fatalf("owner's rows %+v", p.SKUs)
	}
	if k := kinds(p); len(p.Findings) != 1 || k["disabledHoldingLicense"][0] != "carl" {
		t.Fatalf("owner's findings %v", k)
	}
	w.e.Must(200, "GET", "/allot/v1/position.csv", w.owner, nil)
	w.e.Must(404, "GET", "/allot/v1/position/snapshots", w.owner, nil)
	w.e.Must(404, "POST", "/allot/v1/position/snapshots", w.owner, nil)
	w.e.Must(404, "GET", "/allot/v1/position/diff?from=2024-01-01", w.owner, nil)
}

func TestCSVAndPrintableHTML(t *testing.T) {
	w := setup(t)
	w.putPrices(t)
	r := w.e.Must(200, "GET", "/allot/v1/position.csv", w.reports, nil)
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || lines[0] != strings.Join(position.CSVHeader, ",") || len(lines) != 4 {
		t.Fatalf("csv %q", r.Body)
	}
	if !strings.Contains(string(r.Body), "overAssigned,bob,bob@contoso.example,SPE_E5") {
		t.Fatalf("csv lacks bob's row: %s", r.Body)
	}
	h := w.e.Must(200, "GET", "/allot/v1/position.html", w.reader, nil)
	body := string(h.Body)
	if !strings.HasPrefix(h.Header.Get("Content-Type"), "text/html") || strings.Count(body, "<svg") != 3 ||
		strings.Contains(body, "<script") || strings.Contains(body, "http://") && !strings.Contains(body, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Fatalf("html report: %d svg, %s", strings.Count(body, "<svg"), body[:200])
	}
	for _, want := range []string{"Contoso", "Seats per product", "Cost of waste", "Findings by kind", "bob@contoso.example", "@media print"} {
		if !strings.Contains(body, want) {
			t.Fatalf("html lacks %q", want)
		}
	}
}

func TestSnapshotsAndDiffFlagDrift(t *testing.T) {
	w := setup(t)
	w.putPrices(t)
	r := w.e.Must(201, "POST", "/allot/v1/position/snapshots", w.admin, nil).JSON()
	id := r["id"].(string)
	if r["asOf"] != time.Now().UTC().Format(time.DateOnly) || id == "" {
		t.Fatalf("snapshot %v", r)
	}
	w.e.Must(403, "POST", "/allot/v1/position/snapshots", w.reports, nil)
	list := w.e.Must(200, "GET", "/allot/v1/position/snapshots", w.reports, nil).JSON()["value"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("list %v", list)
	}
	w.e.Must(200, "GET", "/allot/v1/position/snapshots/"+id, w.reader, nil)
	w.e.Must(404, "GET", "/allot/v1/position/snapshots/nope", w.reader, nil)

	// A new disabled account holding E3, and bob moved from E5 to E3.
	e3, _ := catalog.Default().SKU("SPE_E3")
	e5, _ := catalog.Default().SKU("SPE_E5")
	err := w.tn.Do(context.Background(), licensing.Op{Actor: "t", Now: time.Now()}, func(tx *tenant.Tx) error {
		if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: "gone", UserPrincipalName: "gone@contoso.example", UsageLocation: "US", Kind: "person"}); err != nil {
			return err
		}
		if err := tx.Engine.AssignUserLicenses(tx.Op, "gone", []licensing.AssignedLicense{{SKUID: e3.ID}}, nil); err != nil {
			return err
		}
		return tx.Engine.AssignUserLicenses(tx.Op, "bob", []licensing.AssignedLicense{{SKUID: e3.ID}}, []string{e5.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	var d position.Diff
	w.e.Must(200, "GET", "/allot/v1/position/diff?from="+id, w.reader, nil).Decode(t, &d)
	if d.NewCount != 1 || d.NewFindings[0].UserID != "gone" || d.ResolvedCount != 1 || d.ResolvedFindings[0].UserID != "bob" {
		t.Fatalf("findings moved: new %+v resolved %+v", d.NewFindings, d.ResolvedFindings)
	}
	var e3c, e5c position.SKUChange
	for _, s := range d.SKUs {
		switch s.SKUPartNumber {
		case "SPE_E3":
			e3c = s
		case "SPE_E5":
			e5c = s
		}
	}
	if e3c.Assigned != (position.Count{From: 3, To: 5, Delta: 2}) || e5c.Assigned.Delta != -1 {
		t.Fatalf("seat movement E3 %+v E5 %+v", e3c.Assigned, e5c.Assigned)
	}
	// Savings 36+36+21 → 3×36, a new disabled account: both flagged.
	if !d.Drifted || len(d.Drift) != 2 || d.Drift[0].Kind != "waste" || d.Drift[1].Kind != "findings" {
		t.Fatalf("drift %+v", d.Drift)
	}
	// By date, and snapshot to itself: nothing moved.
	today := time.Now().UTC().Format(time.DateOnly)
	w.e.Must(200, "GET", "/allot/v1/position/diff?from="+today+"&to="+id, w.reader, nil).Decode(t, &d)
	if d.NewCount != 0 || d.ResolvedCount != 0 || d.Drifted {
		t.Fatalf("self diff %+v", d)
	}
	w.e.Must(404, "GET", "/allot/v1/position/diff?from=2000-01-01", w.reader, nil)
	w.e.Must(400, "GET", "/allot/v1/position/diff", w.reader, nil)
}

func TestDailySnapshotIsTakenOncePerTenantAndDay(t *testing.T) {
	w := setup(t)
	now := time.Now().UTC()
	for i := 0; i < 2; i++ {
		n, err := snapshotstore.TakeDaily(context.Background(), w.e.RT, now)
		if err != nil || n != i^1 {
			t.Fatalf("run %d: took %d, %v", i, n, err)
		}
	}
	list := w.e.Must(200, "GET", "/allot/v1/position/snapshots", w.admin, nil).JSON()["value"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["origin"] != "daily" {
		t.Fatalf("list %v", list)
	}
}
