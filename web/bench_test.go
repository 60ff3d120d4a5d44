package web

import (
	"context"
	"io"
	"log/slog"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"allot/api/server"
	"allot/audit"
	"allot/auth"
	"allot/catalog"
	"allot/directory"
	"allot/internal/benchusage"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/synth"
	"allot/tenant"
)

// The admin center benchmarks run the page handlers themselves — what a
// request does inside Tenant.Read, the audit log query, the template —
// on a synthetic tenant read through Tenant.Read, with the read-side
// indexes built. Only sign-in, the CSRF check and HTTP
// are left out. 100,000 users by default; ALLOT_BENCH_USERS=1000000 for
// the figures of a million:
//
//	ALLOT_BENCH_USERS=1000000 go test ./web -run '^$' -bench 'Pages' -benchtime 10x -timeout 60m
//	ALLOT_BENCH_USERS=1000000 go test ./web -run '^$' -bench 'FindingsCompute' -benchtime 2x -timeout 60m
//
// The tenant (synth) has 1 group per 100 users, 50 products, 1 group
// license per 200 users, an allotment of 2,000 E5 seats assigned to the
// largest group (so it has a waiting room), a price list, usage (sign-ins
// and feature events: 70% of users active in the last 30 days, 12% last
// seen 35–90 days ago, the rest never) and one audit entry per user.

var benchNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

type benchEnv struct {
	n         int
	s         *tenant.State
	h         *handler
	v         *viewer
	bigGroup  string // the group with the most members
	errGroup  string // the group with the most members in error
	topSKU    string // the product most users hold
	roomSKU   string // the product with the longest waiting room
	roomLen   int
	allotment string
	sampleUPN string
	setup     time.Duration
	// snapshot snapshots the readers' copy, which holds the synthetic
	// engine (the tenant's writer's copy stays empty: see newBenchEnv).
	snapshot     snapshotFunc
	indexBuild   time.Duration
	usageIngest  time.Duration
	auditEntries int
}

var (
	benchOnce sync.Once
	bench     *benchEnv
)

func benchUsers() int {
	if s := os.Getenv("ALLOT_BENCH_USERS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			return v
		}
	}
	return 100_000
}

// benchTenant builds the benchmark tenant once per process.
func benchTenant(b *testing.B) *benchEnv {
	b.Helper()
	benchOnce.Do(func() { bench = newBenchEnv(b) })
	if bench == nil {
		b.Fatal("the benchmark tenant could not be built")
	}
	return bench
}

func newBenchEnv(b *testing.B) *benchEnv {
	n := benchUsers()
	start := time.Now()
	cat := catalog.Default()
	cfg := synth.Config{Users: n, Groups: max(10, n/100), SKUs: 50, GroupLicenses: max(5, n/200), Seed: 1}
	st := synth.Generate(cat, cfg)
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := st.LoadInto(e); err != nil {
		b.Fatal(err)
	}
	st = nil
	op := licensing.Op{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Actor: "bench"}
	e.Recompute(op)
	// A runtime with one empty tenant, whose readers' copy then holds the
	// synthetic engine: the benchmarks read it through Tenant.Read like the
	// handlers do. Nothing is ever written to the tenant (its writer's copy
	// stays empty), so the copy is changed here, outside a command, before
	// any reader runs.
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	rt, err := tenant.Open(ctx, db, cat, tenantopts.With(tenant.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	if err != nil {
		b.Fatal(err)
	}
	t, err := rt.Create(ctx, store.Tenant{ID: "bench", CompanyName: "Bench"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		b.Fatal(err)
	}
	env := &benchEnv{n: n}
	t.Read(func(s *tenant.State) { env.s = s })
	s := env.s
	env.snapshot = func() (*tenant.State, error) { return s.Snapshot(), nil }
	s.Engine = e
	env.allotBigGroup(b, e, op)
	env.setup = time.Since(start)

	start = time.Now()
	env.ingestUsage(b, s)
	env.usageIngest = time.Since(start)

	// The read-side indexes, as at start-up.
	start = time.Now()
	x := directoryOf(s)
	env.indexBuild = time.Since(start)
	env.pickTargets(e, x)
	env.auditEntries = writeAudit(b, db, e, op)

	env.h = &handler{s: &server.Server{Store: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, pages: parseTemplates(),
		now: func() time.Time { return benchNow }}
	env.v = &viewer{P: &auth.Principal{DisplayName: "bench", Roles: []string{auth.RoleGlobalAdministrator}}, T: t,
		TenantName: "Bench", CSRF: "x"}
	b.Logf("%d users: engine %s, usage and prices %s, index %s, %d audit entries", n, env.setup.Round(time.Millisecond),
		env.usageIngest.Round(time.Millisecond), env.indexBuild.Round(time.Millisecond), env.auditEntries)
	runtime.GC()
	return env
}

// allotBigGroup finds the largest group and gives it an allotment of E5.
func (env *benchEnv) allotBigGroup(b *testing.B, e *licensing.Engine, op licensing.Op) {
	cat := e.Catalog()
	for _, id := range e.GroupIDs() {
		if env.bigGroup == "" || e.MemberCount(id) > e.MemberCount(env.bigGroup) {
			env.bigGroup = id
		}
	}
	e5, _ := cat.SKU("SPE_E5")
	units := licensing.Units{Status: "Enabled"}
	if p, ok := e.Pool(e5.ID); ok {
		units = p.Units
	}
	units.Enabled = max(units.Enabled, e.UserCount()) + 2000 // room for the allotment
	if err := e.SetUnits(op, e5.ID, units); err != nil {
		b.Fatal(err)
	}
	env.allotment = "a0000000-0000-4000-8000-000000000001"
	if err := e.PutAllotment(op, licensing.Allotment{ID: env.allotment, DisplayName: "Bench allotment", SKUID: e5.ID, AllottedUnits: 2000,
		AssignableTo: "user,group", CreatedAt: op.Now}); err != nil {
		b.Fatal(err)
	}
	if err := e.AssignThroughAllotment(op, env.allotment, env.bigGroup, nil); err != nil {
		b.Fatal(err)
	}
	e.TakeDelta()
}

// ingestUsage gives most users sign-ins and feature events, through the
// usage package's own ingestion, and the tenant a price list.
func (env *benchEnv) ingestUsage(b *testing.B, s *tenant.State) {
	tx := &tenant.Tx{State: s, Op: licensing.Op{Now: benchNow, Actor: "bench"}}
	rnd := rand.New(rand.NewSource(1))
	features := []string{"exchangeMailbox", "teamsChat", "teamsMeeting", "oneDriveFiles", "sharePointSites", "officeDesktopApps"}
	sample := func(u *licensing.User) {
		if env.sampleUPN == "" && u.UserPrincipalName > "user00012" {
			env.sampleUPN = u.UserPrincipalName
		}
	}
	if err := benchusage.Ingest(tx, rnd, benchNow, features, filepath.Join("..", "position", "testdata", "prices-usd.csv"), sample); err != nil {
		b.Fatal(err)
	}
}

// pickTargets picks what the benchmarks ask for: the product most users
// hold, the longest waiting room, the group with most members in error.
func (env *benchEnv) pickTargets(e *licensing.Engine, x *directory.Index) {
	for _, p := range e.Pools() {
		if env.topSKU == "" || x.UsersWithSKU(p.SKU.ID).Len() > x.UsersWithSKU(env.topSKU).Len() {
			env.topSKU = p.SKU.ID
		}
		if p.Waiting > env.roomLen {
			env.roomSKU, env.roomLen = p.SKU.ID, p.Waiting
		}
	}
	errs := 0
	for _, id := range e.GroupIDs() {
		if k := len(e.MembersWithLicenseErrors(id)); k > errs {
			env.errGroup, errs = id, k
		}
	}
}

// writeAudit writes an audit log of one entry per user and returns the
// number of entries.
func writeAudit(b *testing.B, db *sqlite.Store, e *licensing.Engine, op licensing.Op) int {
	ctx := context.Background()
	var batch []audit.Entry
	seq, err := db.MaxAuditSeq(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	flush := func() {
		if err := db.Commit(ctx, []store.Change{{TenantID: "bench", Audit: batch}}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	e.ForEachUserLicenses(func(u *licensing.User, ls licensing.UserLicenses) bool {
		seq++
		en := audit.Entry{TenantID: "bench", Seq: seq, At: op.Now.Add(time.Duration(seq) * time.Millisecond), Actor: "bench",
			Action: "Change user license", UserID: u.ID}
		if ls.Len() > 0 {
			en.SKUID = ls.At(0).SKUID
		}
		batch = append(batch, en)
		if len(batch) == 10_000 {
			flush()
		}
		return true
	})
	if len(batch) > 0 {
		flush()
	}
	return int(seq)
}

// cpuTime is the process's CPU time so far (user and system, all
// threads): on a shared machine it says what wall time cannot.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// get runs one page handler for a GET of url and fails unless it answers
// 200 with a body containing want.
func (env *benchEnv) get(b *testing.B, handle func(http.ResponseWriter, *http.Request, *viewer), url string, pathValues map[string]string, want string) {
	r := httptest.NewRequest(http.MethodGet, url, nil)
	for k, v := range pathValues {
		r.SetPathValue(k, v)
	}
	w := httptest.NewRecorder()
	handle(w, r, env.v)
	if w.Code != http.StatusOK {
		b.Fatalf("GET %s = %d: %.300s", url, w.Code, w.Body.String())
	}
	if want != "" && !strings.Contains(w.Body.String(), want) {
		b.Fatalf("GET %s: no %q in the page", url, want)
	}
}

// runPage benchmarks one request and reports its wall and CPU time (CPU
// includes the garbage collector's share).
func runPage(b *testing.B, before func(), do func()) {
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		if before != nil {
			b.StopTimer()
			before()
			b.StartTimer()
		}
		c0 := cpuTime()
		do()
		cpu += cpuTime() - c0
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/1000, "cpu-ms/page")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPages requests every list page of the admin center, with its
// filters, on the benchmark tenant. "first-view" variants drop the counts
// the index keeps between commits (a page after a commit); the others are
// pages after the first.
func BenchmarkPages(b *testing.B) {
	env := benchTenant(b)
	h, x := env.h, directoryOf(env.s)
	clearCounts := func() { x.Update(env.s, licensing.Delta{}) } // as a commit does
	next := func(url string) string {                            // the URL of the page after url's
		r := httptest.NewRequest(http.MethodGet, url, nil)
		w := httptest.NewRecorder()
		h.users(w, r, env.v)
		m := strings.Index(w.Body.String(), "after=")
		if m < 0 {
			b.Fatalf("%s has no next page", url)
		}
		c := w.Body.String()[m+len("after="):]
		return url + "&after=" + c[:strings.IndexAny(c, `"&`)]
	}
	type pg struct {
		name   string
		handle func(http.ResponseWriter, *http.Request, *viewer)
		url    string
		path   map[string]string
		want   string
		before func()
	}
	// The last page of the waiting room and of the allotment's.
	deep := (env.roomLen - 1) / pageSize * pageSize
	pages := []pg{
		{"dashboard", h.dashboard, "/admin/", nil, "Dashboard", nil},
		{"products", h.products, "/admin/products", nil, "Products", nil},
		{"products/by-waiting", h.products, "/admin/products?sort=waiting", nil, "Products", nil},
		{"users/first", h.users, "/admin/users", nil, "users", nil},
		{"users/by-name-desc", h.users, "/admin/users?sort=name&dir=desc", nil, "users", nil},
		{"users/dept+sku-by-name/first-view", h.users, "/admin/users?dept=Sales&sku=" + env.topSKU + "&sort=name", nil, "users", clearCounts},
		{"users/search/first-view", h.users, "/admin/users?q=user00012", nil, "users", clearCounts},
		{"users/errors/first-view", h.users, "/admin/users?state=error", nil, "users", clearCounts},
		{"users/waiting/first-view", h.users, "/admin/users?state=waiting", nil, "users", clearCounts},
		{"users/idle/first-view", h.users, "/admin/users?state=idle", nil, "users", clearCounts},
		{"users/idle/next-page", h.users, next("/admin/users?state=idle"), nil, "users", nil},
		{"users/idle+sku/first-view", h.users, "/admin/users?state=idle&sku=" + env.topSKU, nil, "users", clearCounts},
		{"user", h.user, "/admin/users/x", map[string]string{"id": firstKey(x.UsersByUPN()).ID}, "Licenses", nil},
		{"groups", h.groups, "/admin/groups", nil, "groups", nil},
		{"groups/with-errors", h.groups, "/admin/groups?kind=errors", nil, "groups", nil},
		{"groups/licensed", h.groups, "/admin/groups?kind=licensed", nil, "groups", nil},
		{"groups/dynamic", h.groups, "/admin/groups?kind=dynamic", nil, "groups", nil},
		{"group/largest/first-view", h.group, "/admin/groups/x", map[string]string{"id": env.bigGroup}, "Members", clearCounts},
		{"group/largest", h.group, "/admin/groups/x", map[string]string{"id": env.bigGroup}, "Members", nil},
		{"allotments", h.allotments, "/admin/allotments", nil, "Bench allotment", nil},
		{"allotment", h.allotment, "/admin/allotments/x", map[string]string{"id": env.allotment}, "Bench allotment", nil},
		{"errors", h.errorsPage, "/admin/errors", nil, "in error", nil},
		{"errors/by-sku", h.errorsPage, "/admin/errors?sku=" + env.roomSKU, nil, "in error", nil},
		{"errors/by-group", h.errorsPage, "/admin/errors?group=" + env.errGroup, nil, "in error", nil},
		{"waiting", h.waitingPage, "/admin/waiting", nil, "Waiting", nil},
		{"waiting/longest-room", h.waitingPage, "/admin/waiting?sku=" + env.roomSKU, nil, "wait", nil},
		{"waiting/longest-room-last-page", h.waitingPage, "/admin/waiting?sku=" + env.roomSKU + "&offset=" + strconv.Itoa(deep), nil, "wait", nil},
		{"audit", h.auditPage, "/admin/audit", nil, "Audit", nil},
		{"audit/by-user", h.auditPage, "/admin/audit?user=" + env.sampleUPN, nil, "Audit", nil},
		{"audit/by-sku", h.auditPage, "/admin/audit?sku=" + env.topSKU, nil, "Audit", nil},
	}
	b.Logf("largest group %d members, longest waiting room %d, errors group %s", env.s.Engine.MemberCount(env.bigGroup), env.roomLen, env.errGroup)
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			runPage(b, p.before, func() { env.get(b, p.handle, p.url, p.path, p.want) })
		})
	}
}

// BenchmarkFindings is the findings page once a position was computed:
// the first page, a kind's first page, and the last page of the largest
// kind (the deepest walk). "cold" is the first request of a tenant with
// no position: it starts the computation and answers "computing…" after
// waiting findingsWait for it. The computation itself is
// BenchmarkFindingsCompute.
func BenchmarkFindings(b *testing.B) {
	env := benchTenant(b)
	h := env.h
	b.Run("cold", func(b *testing.B) {
		runPage(b, func() { waitPositions(b, "bench"); dropPosition("bench") }, func() {
			env.get(b, h.findingsPage, "/admin/findings", nil, "Computing the license position")
		})
	})
	waitPositions(b, "bench")
	positions.state("bench", env.snapshot, env.s.Commit(), benchNow, false, time.Hour) // computed, if it was dropped
	st := positions.state("bench", env.snapshot, env.s.Commit(), benchNow, false, 0)
	if st.cur == nil {
		b.Fatalf("no position: %v", st.err)
	}
	big := slices.MaxFunc(st.cur.kinds, func(a, b kindCount) int { return a.Count - b.Count })
	last := (big.Count - 1) / findingsPageSize * findingsPageSize
	b.Logf("%d findings; by kind %v; computed in %s", st.cur.total, st.cur.kinds, st.cur.took)
	for _, p := range []struct{ name, url string }{
		{"first", "/admin/findings"},
		{"kind", "/admin/findings?kind=" + st.cur.kinds[len(st.cur.kinds)-1].Kind},
		{"largest-kind-last-page", "/admin/findings?kind=" + big.Kind + "&offset=" + strconv.Itoa(last)},
	} {
		b.Run(p.name, func(b *testing.B) {
			runPage(b, nil, func() { env.get(b, h.findingsPage, p.url, nil, "Computed") })
		})
	}
}

// BenchmarkFindingsCompute computes the tenant's license position as the
// findings page does in the background: a snapshot (ms-snapshot: the time
// the tenant's writer would wait), then snapshotstore.Position and the counting on the
// snapshot.
func BenchmarkFindingsCompute(b *testing.B) {
	env := benchTenant(b)
	var cp *computedPosition
	runPage(b, nil, func() {
		var err error
		if cp, err = computePosition(env.snapshot, benchNow); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(cp.locked.Seconds()*1000, "ms-snapshot")
	b.ReportMetric(cp.took.Seconds()*1000, "ms-total")
	b.ReportMetric(float64(cp.total), "findings")
}

// BenchmarkSnapshot takes a snapshot of the benchmark tenant's state
// (tenant.State.Snapshot: engine, usage, objects), what Tenant.Snapshot does
// for the findings computation while the tenant's writer waits.
func BenchmarkSnapshot(b *testing.B) {
	env := benchTenant(b)
	var snap *tenant.State
	runPage(b, func() { snap = nil; runtime.GC() }, func() { snap = env.s.Snapshot() })
	runtime.KeepAlive(snap)
}

// waitPositions waits for a tenant's running computation, if any.
func waitPositions(b *testing.B, id string) {
	positions.mu.Lock()
	sl := positions.m[id]
	var running chan struct{}
	if sl != nil {
		running = sl.running
	}
	positions.mu.Unlock()
	if running != nil {
		select {
		case <-running:
		case <-time.After(10 * time.Minute):
			b.Fatal("the position computation did not end")
		}
	}
}

// dropPosition forgets a tenant's position.
func dropPosition(id string) {
	positions.mu.Lock()
	delete(positions.m, id)
	positions.mu.Unlock()
}

func firstKey(s *directory.Set) key {
	var k key
	s.Scan(nil, false, func(f key) bool { k = f; return false })
	return k
}
