package web

import (
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"allot/auth"
	"allot/catalog"
	"allot/licensing"
	"allot/synth"
	"allot/tenant"
)

// benchUsers is the tenant size of the admin center benchmarks: 100,000 by
// default, ALLOT_BENCH_USERS=1000000 for the figure of a million users.
// Groups, SKUs and group licenses scale as in the engine benchmarks.
func benchState(b *testing.B) *tenant.State {
	n := 100_000
	if s := os.Getenv("ALLOT_BENCH_USERS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	start := time.Now()
	cfg := synth.Config{Users: n, Groups: max(10, n/100), SKUs: 50, GroupLicenses: max(5, n/200), Seed: 1}
	st := synth.Generate(catalog.Default(), cfg)
	e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
	if err := st.LoadInto(e); err != nil {
		b.Fatal(err)
	}
	e.Recompute(licensing.Op{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	e.TakeDelta()
	b.Logf("%d users loaded and recomputed in %s", n, time.Since(start).Round(time.Millisecond))
	s := &tenant.State{Engine: e}
	start = time.Now()
	directory(s) // the index is built once per tenant, at its first page
	b.Logf("read-side index built in %s", time.Since(start).Round(time.Millisecond))
	return s
}

// BenchmarkDashboard renders the dashboard of a large tenant: what the
// handler does inside Tenant.Read (buildDashboard) and the template, with
// the read-side index already built. Only the audit log query (a store
// read of 8 rows) and HTTP are left out.
//
//	go test ./web -run '^$' -bench Dashboard -benchtime 20x
//	ALLOT_BENCH_USERS=1000000 go test ./web -run '^$' -bench Dashboard -benchtime 20x
func BenchmarkDashboard(b *testing.B) {
	s := benchState(b)
	page := parseTemplates()["dashboard"]
	v := &viewer{P: &auth.Principal{DisplayName: "bench", Roles: []string{auth.RoleGlobalAdministrator}}, T: &tenant.Tenant{ID: "bench"}, TenantName: "Bench"}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d := buildDashboard(s)
		d.Recent = auditRows(s, nil)
		if err := page.ExecuteTemplate(io.Discard, "layout", pageData{Title: "Dashboard", V: v, Data: d}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
}

// BenchmarkUsersPage answers the users list's queries on a large tenant,
// each with its exact total: the first page, a department's users of a
// product sorted by display name, a name search, and the users in error.
func BenchmarkUsersPage(b *testing.B) {
	s := benchState(b)
	x := directory(s)
	var sku string
	for _, p := range s.Engine.Pools() {
		if sku == "" || x.bySKU[p.SKU.ID].Len() > x.bySKU[sku].Len() {
			sku = p.SKU.ID // the most common product
		}
	}
	for _, q := range []struct {
		name string
		q    userQuery
	}{
		{"first", userQuery{Limit: 50}},
		{"dept+sku-by-name", userQuery{Dept: "Sales", SKU: sku, Sort: "name", Limit: 50}},
		{"search", userQuery{Q: "user00012", Limit: 50}},
		{"errors", userQuery{State: "error", Limit: 50}},
	} {
		// A first view counts the matches; the pages after it reuse the
		// count until the next commit.
		b.Run(q.name+"/first-view", func(b *testing.B) {
			b.ReportAllocs()
			var total int
			for b.Loop() {
				clear(x.counts)
				total = x.queryUsers(q.q).Total
			}
			b.ReportMetric(float64(total), "matches")
		})
		b.Run(q.name+"/next-page", func(b *testing.B) {
			p := x.queryUsers(q.q)
			next := q.q
			next.After = decodeCursor(p.Next)
			for b.Loop() {
				x.queryUsers(next)
			}
		})
	}
}
