package position_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/tenanttest"
	"allot/licensing"
	"allot/position"
	"allot/prices"
	"allot/tenant"
	"allot/usage"
)

const tid = "44444444-4444-4444-8444-444444444444"

// Times of the scenarios: seats are granted on grant, usage is ingested
// on asOf, the position is taken as of asOf (window: June 2024).
var (
	grant = time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)
	asOf  = time.Date(2024, 6, 30, 12, 0, 0, 0, time.UTC)
)

// env is a runtime over SQLite with one tenant.
type env struct {
	t  *testing.T
	rt *tenant.Runtime
	tn *tenant.Tenant
}

func newEnv(t *testing.T) *env {
	t.Helper()
	rt := tenanttest.Runtime(t, tenanttest.Store(t), func() time.Time { return grant.Add(-24 * time.Hour) })
	return &env{t: t, rt: rt, tn: tenanttest.Tenant(t, rt, tid)}
}

func (e *env) do(now time.Time, fn func(tx *tenant.Tx) error) {
	e.t.Helper()
	if err := e.tn.Do(context.Background(), licensing.Op{Actor: "test", Now: now}, fn); err != nil {
		e.t.Fatal(err)
	}
}

func sku(t *testing.T, part string) string {
	t.Helper()
	s, ok := catalog.Default().SKU(part)
	if !ok {
		t.Fatalf("no product %s", part)
	}
	return s.ID
}

// units buys units of products: "SPE_E3=10".
func (e *env) units(now time.Time, specs ...string) {
	e.t.Helper()
	e.do(now, func(tx *tenant.Tx) error {
		for _, s := range specs {
			part, n, _ := strings.Cut(s, "=")
			var k int
			fmt.Sscan(n, &k)
			if err := tx.Engine.SetUnits(tx.Op, sku(e.t, part), licensing.Units{Enabled: k, Status: "Enabled"}); err != nil {
				return err
			}
		}
		return nil
	})
}

// user creates a user (an enabled member person unless changed by opt) and
// assigns it the products directly at now.
func (e *env) user(now time.Time, name string, opt func(*licensing.User), parts ...string) {
	e.t.Helper()
	e.do(now, func(tx *tenant.Tx) error {
		u := licensing.User{ID: name, UserPrincipalName: name + "@contoso.example", DisplayName: name, AccountEnabled: true,
			UserType: "Member", UsageLocation: "US", Kind: licensing.KindPerson}
		if opt != nil {
			opt(&u)
		}
		if err := tx.Engine.PutUser(tx.Op, u); err != nil {
			return err
		}
		var add []licensing.AssignedLicense
		for _, p := range parts {
			add = append(add, licensing.AssignedLicense{SKUID: sku(e.t, p)})
		}
		if len(add) == 0 {
			return nil
		}
		return tx.Engine.AssignUserLicenses(tx.Op, u.ID, add, nil)
	})
}

func disabled(u *licensing.User)       { u.AccountEnabled = false }
func guest(u *licensing.User)          { u.UserType = "Guest" }
func sharedKind(u *licensing.User)     { u.Kind = licensing.KindSharedMailbox; u.AccountEnabled = false }
func serviceAccount(u *licensing.User) { u.Kind = licensing.KindServiceAccount }

// uses ingests feature events "user feature date" (one per line).
func (e *env) uses(lines ...string) {
	e.t.Helper()
	var b strings.Builder
	for i, l := range lines {
		f := strings.Fields(l)
		fmt.Fprintf(&b, `{"id":"ev-%d-%s","user":"%s@contoso.example","feature":"%s","at":"%sT10:00:00Z"}`+"\n", i, l, f[0], f[1], f[2])
	}
	batch := usage.ParseEvents([]byte(b.String()))
	if len(batch.Rejected) > 0 {
		e.t.Fatalf("rejected %+v", batch.Rejected)
	}
	e.do(asOf, func(tx *tenant.Tx) error {
		r, err := batch.Apply(tx)
		if err == nil && (r.UnmatchedCount > 0 || r.RejectedCount > 0) {
			e.t.Errorf("events: %+v", r)
		}
		return err
	})
}

// signIn ingests a sign-in of user at RFC 3339 time at.
func (e *env) signIn(user, at string) {
	e.t.Helper()
	b := usage.ParseSignIns([]byte(fmt.Sprintf(`{"id":"si-%s-%s","user":"%s@contoso.example","at":"%s","interactive":true}`, user, at, user, at)))
	e.do(asOf, func(tx *tenant.Tx) error {
		_, err := b.Apply(tx)
		return err
	})
}

// mailboxes ingests a getMailboxUsageDetail report of 2024-06-30; rows are
// "user,storageBytes,hasArchive,recipientType,litigationHold".
func (e *env) mailboxes(rows ...string) {
	e.t.Helper()
	var b strings.Builder
	b.WriteString("Report Refresh Date,User Principal Name,Last Activity Date,Storage Used (Byte),Has Archive,Recipient Type,Litigation Hold\n")
	for _, r := range rows {
		f := strings.Split(r, ",")
		fmt.Fprintf(&b, "2024-06-30,%s@contoso.example,2024-06-28,%s,%s,%s,%s\n", f[0], f[1], f[2], f[3], f[4])
	}
	rep, err := usage.ParseReport(strings.NewReader(b.String()), "")
	if err != nil {
		e.t.Fatal(err)
	}
	e.do(asOf, func(tx *tenant.Tx) error {
		r, err := rep.Apply(tx, false)
		if err == nil && (r.UnmatchedCount > 0 || r.RejectedCount > 0) {
			e.t.Errorf("report: %+v", r)
		}
		return err
	})
}

// price sets the price list: "SPE_E3=36".
func (e *env) price(specs ...string) {
	e.t.Helper()
	l := prices.List{Currency: "USD", UpdatedAt: asOf}
	for _, s := range specs {
		part, v, _ := strings.Cut(s, "=")
		var x float64
		fmt.Sscan(v, &x)
		l.Prices = append(l.Prices, prices.Price{SKUPartNumber: part, MonthlyUnitPrice: x})
	}
	if err := l.Check(catalog.Default()); err != nil {
		e.t.Fatal(err)
	}
	e.do(asOf, func(tx *tenant.Tx) error { return prices.Put(tx, l) })
}

// position computes the position as of asOf.
func (e *env) position() *position.Position {
	e.t.Helper()
	var p *position.Position
	e.tn.Read(func(s *tenant.State) {
		pl, _, err := prices.Of(s)
		if err != nil {
			e.t.Fatal(err)
		}
		p = position.Compute(position.Input{Engine: s.Engine, Usage: usage.Of(s), Prices: pl, AsOf: usage.DayOf(asOf), Now: asOf})
	})
	return p
}

// standardPrices are the list prices (USD/month) the scenarios use.
var standardPrices = []string{"SPE_E3=36", "SPE_E5=57", "THREAT_INTELLIGENCE=5", "EXCHANGESTANDARD=4", "EXCHANGEENTERPRISE=8",
	"EXCHANGEARCHIVE_ADDON=3", "VISIOCLIENT=15", "STANDARDPACK=10"}

// findings returns the findings of a kind, by user.
func findings(p *position.Position, kind string) map[string]position.Finding {
	out := map[string]position.Finding{}
	for _, f := range p.AllFindings() {
		if f.Kind == kind {
			key := f.UserID
			if key == "" {
				key = f.SKUPartNumber
			}
			out[key] = f
		}
	}
	return out
}

func row(t *testing.T, p *position.Position, part string) position.SKU {
	t.Helper()
	for _, s := range p.SKUs {
		if s.SKUPartNumber == part {
			return s
		}
	}
	t.Fatalf("no row for %s in %+v", part, p.SKUs)
	return position.SKU{}
}

func delta(f position.Finding) float64 {
	if f.Fix.MonthlyDelta == nil {
		return -9999
	}
	return *f.Fix.MonthlyDelta
}

// expect checks a finding's product, delta and fix products.
func expect(t *testing.T, fs map[string]position.Finding, user, part string, d float64, add, remove string) {
	t.Helper()
	f, ok := fs[user]
	if !ok {
		t.Fatalf("no finding for %s among %v", user, keys(fs))
	}
	if f.SKUPartNumber != part || delta(f) != d || strings.Join(f.Fix.Add, "+") != add || strings.Join(f.Fix.Remove, "+") != remove {
		t.Fatalf("%s: got sku %s delta %v add %v remove %v (%s), want sku %s delta %v add %s remove %s",
			user, f.SKUPartNumber, delta(f), f.Fix.Add, f.Fix.Remove, f.Fix.Description, part, d, add, remove)
	}
	if len(f.Evidence) == 0 || f.Fix.Description == "" {
		t.Fatalf("%s: a finding needs evidence and a fix: %+v", user, f)
	}
}

func keys(m map[string]position.Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

type pricesList = prices.List

// priceList changes the stored price list with fn and checks it.
func (e *env) priceList(fn func(*prices.List)) {
	e.t.Helper()
	var l *prices.List
	e.tn.Read(func(s *tenant.State) { l, _, _ = prices.Of(s) })
	fn(l)
	if err := l.Check(catalog.Default()); err != nil {
		e.t.Fatal(err)
	}
	e.do(asOf, func(tx *tenant.Tx) error { return prices.Put(tx, *l) })
}
