package usage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// Benchmarks (run one at a time on a quiet machine):
//
//	go test ./usage -run '^$' -bench 'ParseEvents|AggregateEvents' -benchtime 5x
//	go test ./usage -run '^$' -bench EventsEndToEnd -benchtime 10x
//	go test ./usage -run '^$' -bench 'Report1M$' -benchtime 3x -timeout 30m
//	go test ./usage -run '^$' -bench ReportNextDay1M -benchtime 3x -timeout 30m
//	go test ./usage -run '^$' -bench MemoryPerUser -benchtime 1x

var benchFeatures = []string{"exchangeMailbox", "teamsChat", "teamsMeeting", "oneDriveFiles", "sharePointSites",
	"officeDesktopApps", "conditionalAccess", "intuneDeviceManagement", "attackSimulation", "copilot",
	"powerBIPro", "eDiscoveryPremium", "THREAT_INTELLIGENCE", "safeLinks", "teamsPhone", "exchangeArchive"}

// genEvents writes n JSON-lines feature events over users users, spread
// over the 90 days before end; ids start at firstID.
func genEvents(n, users, firstID int, end time.Time, seed int64) []byte {
	rnd := rand.New(rand.NewSource(seed))
	var buf bytes.Buffer
	buf.Grow(n * 110)
	for i := 0; i < n; i++ {
		u := rnd.Intn(users) + 1
		t := end.Add(-time.Duration(rnd.Int63n(int64(90 * 24 * time.Hour))))
		buf.WriteString(`{"id":"ev-`)
		buf.WriteString(strconv.Itoa(firstID + i))
		buf.WriteString(`","user":"user`)
		buf.WriteString(strconv.Itoa(u))
		buf.WriteString(`@contoso.example","feature":"`)
		buf.WriteString(benchFeatures[rnd.Intn(len(benchFeatures))])
		buf.WriteString(`","at":"`)
		buf.Write(t.UTC().AppendFormat(nil, time.RFC3339))
		buf.WriteString("\"}\n")
	}
	return buf.Bytes()
}

var benchEnd = time.Date(2024, 6, 30, 12, 0, 0, 0, time.UTC)

func BenchmarkParseEvents(b *testing.B) {
	const n = 1_000_000
	data := genEvents(n, 10_000, 0, benchEnd, 1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if bt := ParseEvents(data); bt.Len() != n {
			b.Fatalf("parsed %d", bt.Len())
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAggregateEvents measures the aggregation alone: users already
// resolved, no store.
func BenchmarkAggregateEvents(b *testing.B) {
	const n, users = 1_000_000, 10_000
	data := genEvents(n, users, 0, benchEnd, 1)
	bt := ParseEvents(data)
	limit, _ := stampOf(benchEnd.Add(24 * time.Hour))
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		a := newAggregates()
		a.begin()
		whos := make([]who, len(bt.users))
		for i := range bt.users {
			whos[i] = who{agg: a.user(uid(i))}
		}
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		var r Result
		a.aggregate(bt, whos, nil, limit, &r)
		elapsed += time.Since(start)
		if r.Accepted != n {
			b.Fatalf("accepted %d", r.Accepted)
		}
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkEventsEndToEnd parses batches of 100,000 events and aggregates
// each in one command through the runtime on SQLite (writer, commit,
// readers' replay), 10,000 users holding Microsoft 365 E3.
func BenchmarkEventsEndToEnd(b *testing.B) {
	const batch, users = 100_000, 10_000
	e := newEnv(b)
	e.addUsers(benchEnd.Add(-200*24*time.Hour), users, "SPE_E3")
	events := 0
	var elapsed, cpu time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		data := genEvents(batch, users, i*batch, benchEnd, int64(i))
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		bt := ParseEvents(data)
		var r Result
		err := e.tn.Do(context.Background(), licensing.Op{Actor: "bench", Now: benchEnd}, func(tx *tenant.Tx) error {
			var err error
			r, err = bt.Apply(tx)
			return err
		})
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
		if err != nil || r.Accepted != batch {
			b.Fatalf("%v %+v", err, r)
		}
		events += batch
	}
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
}

// genActiveUserReport writes a getOffice365ActiveUserDetail CSV with one
// row per user.
func genActiveUserReport(users int, refresh time.Time) []byte {
	var buf bytes.Buffer
	buf.Grow(users * 330)
	buf.WriteString("\ufeffReport Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Has Exchange License,Has OneDrive License," +
		"Has SharePoint License,Has Skype For Business License,Has Yammer License,Has Teams License,Exchange Last Activity Date," +
		"OneDrive Last Activity Date,SharePoint Last Activity Date,Skype For Business Last Activity Date,Yammer Last Activity Date," +
		"Teams Last Activity Date,Exchange License Assign Date,OneDrive License Assign Date,SharePoint License Assign Date," +
		"Skype For Business License Assign Date,Yammer License Assign Date,Teams License Assign Date,Assigned Products\n")
	rd := refresh.Format(time.DateOnly)
	rnd := rand.New(rand.NewSource(7))
	date := func() string {
		if rnd.Intn(5) == 0 {
			return ""
		}
		return refresh.AddDate(0, 0, -rnd.Intn(30)).Format(time.DateOnly)
	}
	for i := 1; i <= users; i++ {
		fmt.Fprintf(&buf, "%s,user%d@contoso.example,User %d,False,,True,True,True,False,True,True,%s,%s,%s,,%s,%s,2023-01-15,2023-01-15,2023-01-15,,2023-01-15,2023-01-15,MICROSOFT 365 E3+MICROSOFT POWER BI PRO\n",
			rd, i, i, date(), date(), date(), date(), date())
	}
	return buf.Bytes()
}

// loadUsers writes users straight to the store (faster than commands).
func loadUsers(b *testing.B, st store.Store, users int) {
	const chunk = 100_000
	for from := 1; from <= users; from += chunk {
		var muts []store.Mutation
		for i := from; i < from+chunk && i <= users; i++ {
			body, _ := json.Marshal(licensing.User{ID: uid(i), UserPrincipalName: upn(i), AccountEnabled: true, UserType: "Member",
				UsageLocation: "US", Kind: licensing.KindPerson})
			muts = append(muts, store.Mutation{Kind: store.KindUser, ID: uid(i), Body: body})
		}
		if err := st.Commit(context.Background(), []store.Change{{TenantID: testTenant, Mutations: muts}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReport1M measures the FIRST import of a 1,000,000-row
// getOffice365ActiveUserDetail report: every iteration starts from a fresh
// copy of a store holding the tenant and its users and no usage at all,
// loads it into a new runtime (not timed), then parses the report and
// ingests it in one command through the runtime on SQLite (timed: parse,
// writer, durable commit, readers' replay).
//
// Reported: wall seconds per import (parse-s, ingest-s, import-s), CPU
// seconds of the whole process during the import (cpu-s: the writer, the
// commit, the replay and the collector), the collections it caused (gcs),
// and B/op and allocs/op of the timed part.
//
// USAGE_BENCH_CPUPROFILE=FILE writes a CPU profile of the timed parts only
// (do not combine with -cpuprofile); USAGE_BENCH_MEMPROFILE=FILE writes
// the allocations of the timed parts of the first iteration.
func BenchmarkReport1M(b *testing.B) { benchReport(b, 1_000_000) }

// BenchmarkReport100k is the same with 100,000 users (quicker to set up).
func BenchmarkReport100k(b *testing.B) { benchReport(b, 100_000) }

// BenchmarkReportNextDay1M imports the next day's report into usage that
// already holds the previous day's (later imports).
func BenchmarkReportNextDay1M(b *testing.B) { benchReportNextDay(b, 1_000_000) }

func benchReport(b *testing.B, users int) {
	// A store with the tenant and its users, copied for every iteration.
	dir := b.TempDir()
	master := filepath.Join(dir, "master.db")
	{
		st, err := sqlite.Open(master)
		if err != nil {
			b.Fatal(err)
		}
		rt := openRuntime(b, st)
		if _, err := rt.Create(context.Background(), store.Tenant{ID: testTenant, CompanyName: "Contoso"},
			licensing.Settings{DefaultUsageLocation: "US"}); err != nil {
			b.Fatal(err)
		}
		loadUsers(b, st, users)
		rt.Close(context.Background())
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}
	orig := genActiveUserReport(users, benchEnd)
	var prof benchProfile
	defer prof.stop()
	var parse, ingest, cpu time.Duration
	var gcs uint32
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		path := filepath.Join(dir, "run.db")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		if err := copyFile(master, path); err != nil {
			b.Fatal(err)
		}
		st, err := sqlite.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		rt := openRuntime(b, st)
		tn, ok := rt.Get(testTenant)
		if !ok {
			b.Fatal("tenant lost")
		}
		tn.Read(func(s *tenant.State) {
			if n := Of(s).Users(); n != 0 {
				b.Fatalf("usage not empty: %d users", n)
			}
		})
		data := bytes.Clone(orig)
		runtime.GC()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		prof.start(b, i == 0)
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		rep, err := ParseReport(bytes.NewReader(data), "")
		if err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		var r Result
		var runs []time.Duration
		err = tn.Do(context.Background(), licensing.Op{Actor: "bench", Now: benchEnd.Add(time.Hour)}, func(tx *tenant.Tx) error {
			s := time.Now()
			var err error
			r, err = rep.Apply(tx, false)
			runs = append(runs, time.Since(s))
			return err
		})
		end, cpu1 := time.Now(), cpuTime()
		b.StopTimer()
		prof.pause(b)
		runtime.ReadMemStats(&ms1)
		b.Logf("first import: parse %v, apply runs (writer, replay) %v, do %v, process CPU %v; heap %d MB live before, %d GCs, %d MB allocated",
			mid.Sub(start).Round(time.Millisecond), runs, end.Sub(mid).Round(time.Millisecond), (cpu1 - cpu0).Round(time.Millisecond),
			ms0.HeapAlloc>>20, ms1.NumGC-ms0.NumGC, (ms1.TotalAlloc-ms0.TotalAlloc)>>20)
		if err != nil || r.Accepted != users {
			b.Fatalf("%v accepted %d rejected %d", err, r.Accepted, r.RejectedCount)
		}
		parse += mid.Sub(start)
		ingest += end.Sub(mid)
		cpu += cpu1 - cpu0
		gcs += ms1.NumGC - ms0.NumGC
		rt.Close(context.Background())
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(parse.Seconds()/float64(b.N), "parse-s")
	b.ReportMetric(ingest.Seconds()/float64(b.N), "ingest-s")
	b.ReportMetric((parse+ingest).Seconds()/float64(b.N), "import-s")
	b.ReportMetric(float64(users*b.N)/(parse+ingest).Seconds(), "rows/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
	b.ReportMetric(float64(gcs)/float64(b.N), "gcs")
}

// benchReportNextDay imports, each iteration, the next day's report into
// usage holding the earlier days' (not the first import).
func benchReportNextDay(b *testing.B, users int) {
	e := newEnv(b)
	loadUsers(b, e.st, users)
	e.reopen()
	orig := genActiveUserReport(users, benchEnd)
	imp := func(day int) Result {
		data := bytes.Replace(orig, []byte(benchEnd.Format(time.DateOnly)), []byte(benchEnd.AddDate(0, 0, day).Format(time.DateOnly)), -1)
		rep, err := ParseReport(bytes.NewReader(data), "")
		if err != nil {
			b.Fatal(err)
		}
		var r Result
		err = e.tn.Do(context.Background(), licensing.Op{Actor: "bench", Now: benchEnd.AddDate(0, 0, day+1)}, func(tx *tenant.Tx) error {
			var err error
			r, err = rep.Apply(tx, false)
			return err
		})
		if err != nil || r.Accepted != users {
			b.Fatalf("%v accepted %d", err, r.Accepted)
		}
		return r
	}
	imp(0) // the first import, not measured here
	var cpu time.Duration
	for i := 1; b.Loop(); i++ {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		cpu0 := cpuTime()
		imp(i)
		cpu += cpuTime() - cpu0
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// benchProfile profiles only the timed parts of a benchmark (see
// BenchmarkReport1M).
type benchProfile struct {
	cpu *os.File
	on  bool
}

func (p *benchProfile) start(b *testing.B, first bool) {
	if path := os.Getenv("USAGE_BENCH_CPUPROFILE"); path != "" {
		if p.cpu == nil {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			p.cpu = f
		}
		// Profiles cannot be paused: one profile per run of timed parts is
		// appended to the file only for the first; later iterations are
		// not profiled.
		if first {
			if err := pprof.StartCPUProfile(p.cpu); err != nil {
				b.Fatal(err)
			}
			p.on = true
		}
	}
	if path := os.Getenv("USAGE_BENCH_MEMPROFILE"); path != "" && first {
		runtime.MemProfileRate = 64 << 10
		writeHeapProfile(b, path+".before")
	}
}

func (p *benchProfile) pause(b *testing.B) {
	if p.on {
		pprof.StopCPUProfile()
		p.on = false
	}
	if path := os.Getenv("USAGE_BENCH_MEMPROFILE"); path != "" {
		if _, err := os.Stat(path); err != nil {
			writeHeapProfile(b, path) // compare with go tool pprof -base FILE.before FILE
		}
	}
}

func (p *benchProfile) stop() {
	if p.on {
		pprof.StopCPUProfile()
	}
	if p.cpu != nil {
		p.cpu.Close()
	}
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the CPU time the process used (user and system): on a shared
// machine it says more about the work than the wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMemoryPerUser measures the heap the aggregates of one copy take
// per user: 100,000 users, each seen in a sign-in and 6 features (an
// active-user report plus events), holding one activated license.
func BenchmarkMemoryPerUser(b *testing.B) {
	const users = 100_000
	for b.Loop() {
		var a *Aggregates
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		a = newAggregates()
		a.begin()
		feats := []featureIdx{featureNamed("exchangeMailbox"), featureNamed("teams"), featureNamed("oneDriveFiles"),
			featureNamed("sharePointSites"), featureNamed("teamsChat"), featureNamed("officeDesktopApps")}
		held := []heldLic{{sku: mustIntern(a.skus, "05e9a617-0261-4cee-bb44-138d3ef5d965"), held: 1000}}
		base, _ := stampOf(benchEnd)
		for i := 0; i < users; i++ {
			idx := a.user(uid(i))
			u := a.users.at(idx)
			for k, f := range feats {
				t := base - stamp(k*86400)
				u.observe(f, t, t.day(), EvidenceReport(ReportActiveUser))
			}
			u.recordSignIn(base, true)
			u.activity(held, base, false)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/users, "bytes/user")
		runtime.KeepAlive(a)
	}
}
