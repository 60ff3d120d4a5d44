package licensing_test

import (
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/memtune"
	"allot/licensing"
	"allot/synth"
)

// ALLOT_BENCH_MEMTUNE=gc runs the benchmarks under the process memory
// policy allot serve sets (internal/memtune); without it they run as a
// library user does, with none.
func init() {
	memtune.Enable(memtune.Policy{PauseGC: strings.Contains(os.Getenv("ALLOT_BENCH_MEMTUNE"), "gc")})
}

// benchUsers is the tenant size of the engine benchmarks: 100,000 by default
// (quick), ALLOT_BENCH_USERS=1000000 for the million-user figures of
// docs/BENCHMARKS.md. Groups, SKUs and group licenses scale with it: 10,000
// groups, 50 SKUs and 5,000 group licenses per 1,000,000 users.
func benchConfig() synth.Config {
	n := 100_000
	if s := os.Getenv("ALLOT_BENCH_USERS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	return synth.Config{Users: n, Groups: max(10, n/100), SKUs: 50, GroupLicenses: max(5, n/200), Seed: 1}
}

func loaded(b *testing.B, t *synth.Tenant) *licensing.Engine {
	e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
	if err := t.LoadInto(e); err != nil {
		b.Fatal(err)
	}
	return e
}

// peakRSS reads the process's peak resident set size (VmHWM) in bytes.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkFullRecompute: derive every license of a loaded tenant from
// scratch (what start-up and a bulk import do).
func BenchmarkFullRecompute(b *testing.B) {
	cfg := benchConfig()
	t := synth.Generate(catalog.Default(), cfg)
	b.ReportAllocs()
	b.ResetTimer()
	var heapBytes float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		e := loaded(b, t)
		runtime.GC()
		b.StartTimer()
		e.Recompute(licensing.Op{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		b.StopTimer()
		if i == 0 {
			var held, waiting int
			for _, p := range e.Pools() {
				held += p.Consumed
				waiting += p.Waiting
			}
			b.ReportMetric(float64(held), "seats-held")
			b.ReportMetric(float64(waiting), "waiting")
		}
		e.TakeDelta()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heapBytes = float64(after.HeapAlloc) - float64(before.HeapAlloc)
		runtime.KeepAlive(e)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(heapBytes/(1<<20), "engine-heap-MiB")
	b.ReportMetric(heapBytes/float64(cfg.Users), "engine-B/user")
	b.ReportMetric(peakRSS()/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(cfg.Users), "users")
}

// BenchmarkMembershipChange: one user joins or leaves a licensed group of a
// large tenant; the time until the new license states are in memory.
func BenchmarkMembershipChange(b *testing.B) { benchMembershipChange(b, false) }

// BenchmarkMembershipChangeDuringGC is BenchmarkMembershipChange with the
// collector marking all the time: a goroutine runs collection after
// collection over the tenant's heap while the changes are timed, the worst
// case for their latency (write barriers, mark assists, the mark workers'
// use of the memory bandwidth), where the plain benchmark may see no cycle
// at all.
func BenchmarkMembershipChangeDuringGC(b *testing.B) { benchMembershipChange(b, true) }

func benchMembershipChange(b *testing.B, duringGC bool) {
	cfg := benchConfig()
	t := synth.Generate(catalog.Default(), cfg)
	e := loaded(b, t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.Recompute(licensing.Op{Now: now})
	e.TakeDelta()
	// A licensed group of median size and users outside it.
	var target string
	for _, g := range t.Groups {
		if len(e.GroupLicenses(g.ID)) > 0 && e.MemberCount(g.ID) < cfg.Users/50 {
			target = g.ID
			break
		}
	}
	members := map[string]bool{}
	us, _ := e.Members(target)
	for _, u := range us {
		members[u] = true
	}
	var outsiders []string
	for _, u := range t.Users {
		if !members[u.ID] {
			outsiders = append(outsiders, u.ID)
			if len(outsiders) == 1000 {
				break
			}
		}
	}
	lat := make([]time.Duration, 0, b.N)
	var cycles atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if duringGC {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				runtime.GC()
				cycles.Add(1)
			}
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := outsiders[(i/2)%len(outsiders)]
		now = now.Add(time.Millisecond)
		start := time.Now()
		var err error
		if i%2 == 0 {
			err = e.AddMembers(licensing.Op{Now: now, Actor: "bench"}, target, []string{u})
		} else {
			err = e.RemoveMembers(licensing.Op{Now: now, Actor: "bench"}, target, []string{u})
		}
		d := e.TakeDelta()
		e.Recycle(&d) // as the tenant runtime does once the delta is committed
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
	b.ReportMetric(float64(lat[len(lat)*999/1000].Nanoseconds())/1000, "p99.9-µs")
	if duringGC {
		b.ReportMetric(float64(cycles.Load()), "gc-cycles")
	}
}

// BenchmarkClone: copy a loaded tenant's engine (what a consistent
// snapshot for a long read, and the second copy at start-up, cost).
func BenchmarkClone(b *testing.B) {
	cfg := benchConfig()
	t := synth.Generate(catalog.Default(), cfg)
	e := loaded(b, t)
	e.Recompute(licensing.Op{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	e.TakeDelta()
	t = nil
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	var c *licensing.Engine
	for i := 0; i < b.N; i++ {
		c = e.Clone()
	}
	b.StopTimer()
	runtime.KeepAlive(c)
	b.ReportMetric(float64(cfg.Users), "users")
}
