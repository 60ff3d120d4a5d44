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

// BenchmarkUpdateEveryUser applies a delta that touches a license record
// of every user of a 200,000-user tenant (what a recompute or a product
// change for everyone commits), with the change tracking of delta queries
// (Update), and the change tracking alone (record): the cost that tracking
// adds to the replay of such a batch.
func BenchmarkUpdateEveryUser(b *testing.B) {
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
	e.TakeDelta()
	s := &tenant.State{Engine: e}
	x := Build(s)
	var d licensing.Delta
	e.ForEachUser(func(u *licensing.User) bool {
		if ls := e.Licenses(u.ID); len(ls) > 0 {
			d.Licenses = append(d.Licenses, licensing.Key2{u.ID, ls[0].SKUID})
		}
		return true
	})
	b.Run("Update", func(b *testing.B) {
		for b.Loop() {
			x.Update(s, d)
		}
	})
	b.Run("record", func(b *testing.B) {
		for b.Loop() {
			x.ch.record(e, d)
		}
	})
	b.ReportMetric(float64(len(d.Licenses)), "users")
}
