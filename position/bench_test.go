package position_test

import (
	"flag"
	"math/rand"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/position"
	"allot/prices"
	"allot/synth"
	"allot/usage"
)

// Benchmarks (one at a time, on a quiet machine):
//
//	go test ./position -run '^$' -bench 'Position1M' -benchtime 1x -timeout 30m
//	go test ./position -run '^$' -bench 'Position1M' -benchtime 1x -users 100000
//	go test ./position -run '^$' -bench CoverFullCatalog -benchtime 3x

var benchUsers = flag.Int("users", 1_000_000, "users of BenchmarkPosition1M")

// synthUsage is synthetic usage aggregates: per user what the usage
// package would hold, handed out as fresh copies (as Aggregates.User does,
// which builds a view per call).
type synthUsage struct {
	users map[string]usage.UserUsage
}

func (s *synthUsage) User(id string) (usage.UserUsage, bool) {
	u, ok := s.users[id]
	if ok {
		u.Features = slices.Clone(u.Features)
	}
	return u, ok
}

// UserInto is the non-allocating read (position's usageInto): it copies
// the user's aggregates into dst, reusing dst's slices, as a usage source
// building its view into the caller's value would.
func (s *synthUsage) UserInto(id string, dst *usage.UserUsage) bool {
	u, ok := s.users[id]
	if !ok {
		return false
	}
	feats, acts := append(dst.Features[:0], u.Features...), append(dst.Activations[:0], u.Activations...)
	*dst = u
	dst.Features, dst.Activations = feats, acts
	return true
}

func (s *synthUsage) Users() int { return len(s.users) }
func (s *synthUsage) Reports() []usage.ImportedReport {
	return []usage.ImportedReport{{Report: "getOffice365ActiveUserDetail"}}
}

// genUsage makes usage as of asOf for every user of the engine, shaped by
// what the user holds: 8% of users show no activity at all and 4% only a
// sign-in two months ago; the others use each feature their licenses grant
// with a chance that depends on the feature (see common: mail 92%, Teams
// 90%, Office 70%, …, the rest of the suite 2%), and 3% also use one
// feature their licenses do not grant. Shared mailboxes get mailbox facts.
func genUsage(e *licensing.Engine, asOf usage.Day, seed int64) *synthUsage {
	rnd := rand.New(rand.NewSource(seed))
	cat := e.Catalog()
	feats := usage.Features()
	plans := make([][]string, len(feats))
	for i, f := range feats {
		for _, p := range f.Plans {
			plans[i] = append(plans[i], p.ID)
		}
	}
	// Chances of using a feature the user's licenses grant: the everyday
	// workloads often, the products bought for a purpose (Visio, Project,
	// Teams Phone, Copilot, Power BI) often by their holders, the rest of
	// the suite (security, compliance, archiving…) by few.
	common := map[string]float64{"exchangeMailbox": .92, "teams": .9, "teamsChat": .85, "teamsMeeting": .75, "teamsCalls": .4,
		"oneDriveFiles": .7, "sharePointSites": .6, "officeDesktopApps": .7, "officeWebApps": .4, "officeMobileApps": .35,
		"microsoftForms": .15, "planner": .15, "conditionalAccess": .6, "azureMfa": .6, "intuneDeviceManagement": .5,
		"powerBIPro": .4, "visioDesktopApp": .6, "projectDesktopApp": .6, "copilot": .6, "teamsPhone": .6, "sensitivityLabels": .2,
		"safeLinks": .3, "safeAttachments": .3, "defenderForEndpoint": .3}
	chance := func(f usage.Feature) float64 {
		if c, ok := common[f.ID]; ok {
			return c
		}
		return .02
	}
	granted := map[string][]int{} // held products (key) → features their plans grant
	days := func(n int) (usage.DaySet, time.Time) {
		var d usage.DaySet
		last := asOf - 40
		for k := 0; k < n; k++ {
			x := asOf - usage.Day(rnd.Intn(30))
			d.Add(x)
			last = max(last, x)
		}
		return d, last.Time().Add(10 * time.Hour)
	}
	s := &synthUsage{users: make(map[string]usage.UserUsage, e.UserCount())}
	e.ForEachUser(func(u *licensing.User) bool {
		r := rnd.Float64()
		if r < .08 {
			return true
		}
		uu := usage.UserUsage{UserID: u.ID}
		if r < .12 {
			old := asOf - 60
			uu.SignIns.Days.Add(old)
			uu.SignIns.First, uu.SignIns.Last = old.Time(), old.Time()
			s.users[u.ID] = uu
			return true
		}
		key := ""
		for _, l := range e.Licenses(u.ID) {
			if l.Held {
				key += l.SKUID
			}
		}
		fs, ok := granted[key]
		if !ok {
			have := map[string]bool{}
			for _, l := range e.Licenses(u.ID) {
				if sku, ok := cat.SKU(l.SKUID); ok && l.Held {
					for _, p := range sku.Plans {
						have[p.ID] = true
					}
				}
			}
			for i := range feats {
				if slices.ContainsFunc(plans[i], func(p string) bool { return have[p] }) {
					fs = append(fs, i)
				}
			}
			granted[key] = fs
		}
		uu.SignIns.Days, uu.SignIns.Last = days(5 + rnd.Intn(15))
		uu.SignIns.First = (asOf - 100).Time()
		use := func(i int) {
			d, last := days(1 + rnd.Intn(12))
			uu.Features = append(uu.Features, usage.FeatureUse{Feature: feats[i].ID, Workload: feats[i].Workload, Plans: plans[i],
				First: (asOf - 100).Time(), Last: last, Days: d})
		}
		for _, i := range fs {
			if rnd.Float64() < chance(feats[i]) {
				use(i)
			}
		}
		if rnd.Float64() < .03 {
			if i := rnd.Intn(len(feats)); !slices.Contains(fs, i) {
				use(i)
			}
		}
		if u.Kind == licensing.KindSharedMailbox {
			uu.Mailbox = usage.MailboxFacts{Known: true, RecipientType: "SharedMailbox", StorageUsedBytes: rnd.Int63n(80 << 30),
				HasArchive: rnd.Intn(5) == 0, ReportDate: asOf - 1}
		}
		s.users[u.ID] = uu
		return true
	})
	return s
}

func loadPrices(tb testing.TB) *prices.List {
	f, err := os.Open("testdata/prices-usd.csv")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	l, _, err := prices.ParseCSV(f)
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.Check(catalog.Default()); err != nil {
		tb.Fatal(err)
	}
	return &l
}

// setup1M builds the synthetic tenant, usage and prices of the 1M
// benchmarks.
func setup1M(b *testing.B) position.Input {
	users := *benchUsers
	cat := catalog.Default()
	tn := synth.Generate(cat, synth.Config{Users: users, Seed: 1})
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := tn.LoadInto(e); err != nil {
		b.Fatal(err)
	}
	tn = nil
	e.Recompute(licensing.Op{Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	e.TakeDelta()
	asOf := usage.DayOf(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC))
	return position.Input{Engine: e, Usage: genUsage(e, asOf, 2), Prices: loadPrices(b), AsOf: asOf, Now: time.Now()}
}

// BenchmarkReadFloor1M reads what any position must read, and nothing
// else: every user's licenses (Engine.Licenses) and usage (Usage.User),
// on one goroutine. It calibrates the machine: the position's own cost is
// its time less this floor.
func BenchmarkReadFloor1M(b *testing.B) {
	in := setup1M(b)
	runtime.GC()
	var cpu time.Duration
	n := 0
	for b.Loop() {
		c0 := cpuTime()
		in.Engine.ForEachUser(func(u *licensing.User) bool {
			n += len(in.Engine.Licenses(u.ID))
			if uu, ok := in.Usage.User(u.ID); ok {
				n += len(uu.Features)
			}
			return true
		})
		cpu += cpuTime() - c0
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/read")
	runtime.KeepAlive(n)
}

// BenchmarkWalkFloor1M is BenchmarkReadFloor1M through the reads the
// position uses: the engine's in-place walk (ForEachUserLicenses) and the
// usage read into a reused value (UserInto, as usage.Aggregates.View).
func BenchmarkWalkFloor1M(b *testing.B) {
	in := setup1M(b)
	u := in.Usage.(*synthUsage)
	runtime.GC()
	var cpu time.Duration
	n := 0
	var uu usage.UserUsage
	for b.Loop() {
		c0 := cpuTime()
		in.Engine.ForEachUserLicenses(func(usr *licensing.User, ls licensing.UserLicenses) bool {
			for i := 0; i < ls.Len(); i++ {
				if ls.At(i).Held {
					n++
				}
			}
			if u.UserInto(usr.ID, &uu) {
				n += len(uu.Features)
			}
			return true
		})
		cpu += cpuTime() - c0
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/read")
	runtime.KeepAlive(n)
}

// BenchmarkPosition1M computes the position of a synthetic tenant
// (synth: Zipf groups, 50 products, some short of seats) with synthetic
// usage for every user and the list prices of testdata/prices-usd.csv.
// It reports the time of one position, the heap it allocates, the heap it
// keeps (the Position) and the findings.
func BenchmarkPosition1M(b *testing.B) {
	in := setup1M(b)
	runtime.GC()
	var p *position.Position
	var allocated, kept uint64
	var gcs uint32
	var cpu, wall time.Duration
	var spread, others time.Duration
	defer position.ObserveWorkers(func(busy []time.Duration, chunks []int) {
		b.Logf("workers: wall %v, chunks %v", busy, chunks)
		spread += slices.Max(busy) - slices.Min(busy)
	})()
	for b.Loop() {
		p = nil // the previous result is not part of this one's heap
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c0, w0, m0 := cpuTime(), time.Now(), machineBusy()
		if f := os.Getenv("POSITION_CPUPROFILE"); f != "" {
			out, _ := os.Create(f)
			pprof.StartCPUProfile(out)
			p = position.Compute(in)
			pprof.StopCPUProfile()
			out.Close()
		} else if f := os.Getenv("POSITION_TRACE"); f != "" {
			out, _ := os.Create(f)
			trace.Start(out)
			p = position.Compute(in)
			trace.Stop()
			out.Close()
		} else {
			p = position.Compute(in)
		}
		c := cpuTime() - c0
		cpu += c
		wall += time.Since(w0)
		others += machineBusy() - m0 - c
		runtime.ReadMemStats(&after)
		allocated = after.TotalAlloc - before.TotalAlloc
		gcs = after.NumGC - before.NumGC
		runtime.GC()
		var held runtime.MemStats
		runtime.ReadMemStats(&held)
		kept = held.HeapAlloc - before.HeapAlloc
	}
	// Wall time of Compute alone (b.Elapsed would add the full collection
	// that measures the kept heap).
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/position")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/position")
	b.ReportMetric(float64(allocated)/(1<<20), "MB-allocated")
	b.ReportMetric(float64(kept)/(1<<20), "MB-result")
	b.ReportMetric(spread.Seconds()/float64(b.N), "worker-spread-s")
	b.ReportMetric(others.Seconds()/float64(b.N), "others-cpu-s")
	b.ReportMetric(float64(p.FindingCount()), "findings")
	b.ReportMetric(float64(gcs), "gc-cycles")
	b.ReportMetric(float64(p.Totals.CoverProblems), "cover-problems")
	b.Logf("findings by kind %v", p.Totals.FindingsByKind)
	if f := os.Getenv("POSITION_JSON"); f != "" {
		// The whole position, to compare with another version's.
		p.GeneratedAt = time.Time{}
		out, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.WriteJSON(out); err != nil {
			b.Fatal(err)
		}
		out.Close()
	}
	runtime.KeepAlive(p)
}

// machineBusy is the CPU time of every process on the machine so far
// (/proc/stat: all but idle and iowait), in clock ticks of 10 ms; 0 where
// there is no /proc. Less cpuTime, it tells how busy the others kept the
// CPUs while the benchmark ran.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, x := range f[1:] {
		n, _ := strconv.ParseInt(x, 10, 64)
		if i != 3 && i != 4 && i < 8 { // idle, iowait; guest time is in user
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond
}

// cpuTime is the CPU time of the process so far (all threads: the
// computation and the garbage collector). On a shared machine it measures
// what wall time cannot.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
