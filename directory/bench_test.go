package directory

import (
	"runtime"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/synth"
	"allot/tenant"
)

// BenchmarkBuild builds the index of a 200,000-user synthetic tenant (the
// shape of web's and the runtime's benchmarks) and reports the heap it
// keeps (heap-MiB) besides the time: the figures of docs/BENCHMARKS.md,
// "Session 5 — read model".
func BenchmarkBuild(b *testing.B) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	cat := catalog.Default()
	st := synth.Generate(cat, synth.Config{Users: n, Groups: max(10, n/100), SKUs: 50, GroupLicenses: max(5, n/200), Seed: 1})
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := st.LoadInto(e); err != nil {
		b.Fatal(err)
	}
	st = nil
	e.Recompute(licensing.Op{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Actor: "bench"})
	s := &tenant.State{Engine: e}
	var heap float64
	b.ResetTimer()
	for range b.N {
		var m0, m1 runtime.MemStats
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m0)
		b.StartTimer()
		x := Build(s)
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		heap = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / (1 << 20)
		runtime.KeepAlive(x)
		b.StartTimer()
	}
	b.ReportMetric(heap, "heap-MiB")
}
