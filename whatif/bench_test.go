package whatif_test

import (
	"context"
	"flag"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/benchusage"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/store"
	"allot/store/sqlite"
	"allot/synth"
	"allot/tenant"
	"allot/usage"
	"allot/whatif"
)

// Benchmarks (one at a time, on a quiet machine):
//
//	go test ./whatif -run '^$' -bench 'WhatIf1M' -benchtime 1x -timeout 60m
//	go test ./whatif -run '^$' -bench 'WhatIf1M' -benchtime 1x -users 100000

var benchUsers = flag.Int("users", 1_000_000, "users of BenchmarkWhatIf1M")

var benchNow = time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)

// benchState is a tenant's readers' copy holding a synthetic tenant
// (synth: Zipf groups, 50 products, some short of seats), usage ingested
// through the usage package (sign-ins for 82 % of users, 70 % in the
// window; feature events for half of those), and the list prices of
// position/testdata. The runtime's tenant is empty; its readers' copy is
// given the synthetic engine before anything reads it, and nothing is ever
// committed to it.
func benchState(b *testing.B) (*tenant.State, *tenant.Tenant, time.Time) {
	n := *benchUsers
	cat := catalog.Default()
	tn := synth.Generate(cat, synth.Config{Users: n, Seed: 1})
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := tn.LoadInto(e); err != nil {
		b.Fatal(err)
	}
	tn = nil
	e.Recompute(licensing.Op{Now: benchNow.AddDate(0, -6, 0), Actor: "bench"})
	e.TakeDelta()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	rt, err := tenant.Open(ctx, db, cat, tenantopts.With(tenant.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), IdleWriter: benchIdle}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close(context.Background()) })
	t, err := rt.Create(ctx, store.Tenant{ID: "bench", CompanyName: "Bench"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		b.Fatal(err)
	}
	created := time.Now()
	var s *tenant.State
	t.Read(func(st *tenant.State) { s = st })
	s.Engine = e

	tx := &tenant.Tx{State: s, Op: licensing.Op{Now: benchNow, Actor: "bench"}}
	rnd := rand.New(rand.NewSource(1))
	features := []string{"exchangeMailbox", "teamsChat", "teamsMeeting", "oneDriveFiles", "sharePointSites", "officeDesktopApps",
		"intuneDeviceManagement", "powerBIPro", "visioDesktopApp", "copilot"}
	if err := benchusage.Ingest(tx, rnd, benchNow, features, filepath.Join("..", "position", "testdata", "prices-usd.csv"), nil); err != nil {
		b.Fatal(err)
	}
	e.TakeDelta()
	return s, t, created
}

// benchIdle is the runtime's Options.IdleWriter in BenchmarkWhatIf1M: the
// writer's copy of the benchmark's tenant (made empty by Create) is
// dropped once the tenant was idle that long, and the first Try makes it
// anew from the readers' copy, which benchState filled.
const benchIdle = 60 * time.Second

// BenchmarkWhatIf1M times what POST /allot/v1/whatif does on a large
// tenant, in its parts: the copy of the tenant the API takes
// (State.Snapshot, "snapshot-s"), and the what-if on it (whatif.TryIn,
// "tryin-s"): a subscription's units (changeUnits) and every fix of the
// position (applyFixes) computed by the what-if itself, or given the
// position of the state (as the admin center gives its cached one). The
// position is computed once per run for the latter, apart.
//
// The tryOn/… cases do the same on the tenant's own writer's copy
// (Tenant.Try and TryOn, set back afterwards: no copy of the tenant):
// "try-s" is the whole Try, "tryon-s" the what-if inside it, the rest is
// the set-back (and the hand-over to the tenant's writer goroutine); "catchup-s" is the first Try of the run, which makes the
// writer's copy (dropped while the tenant was idle) from the readers' —
// what the first what-if on an idle tenant costs.
func BenchmarkWhatIf1M(b *testing.B) {
	s, tn, created := benchState(b)
	o := whatif.Options{AsOf: usage.DayOf(benchNow), Now: benchNow, Actor: "bench"}
	var pos *position.Position
	cases := []struct {
		name string
		cmds []whatif.Command
		pos  bool
	}{
		{"changeUnits", []whatif.Command{{Op: whatif.OpChangeUnits, SKU: "SPE_E3", By: 500, SubscriptionID: "bench-sub"}}, false},
		{"applyFixes", []whatif.Command{{Op: whatif.OpApplyFixes}}, false},
		{"applyFixesGivenPosition", []whatif.Command{{Op: whatif.OpApplyFixes}}, true},
	}
	positionOf := func(b *testing.B) *position.Position {
		if pos == nil {
			var err error
			if pos, err = snapshotstore.Position(s, position.Options{AsOf: o.AsOf, Now: o.Now}); err != nil {
				b.Fatal(err)
			}
		}
		return pos
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			opt := o
			if c.pos {
				opt.Position = positionOf(b)
			}
			var snapWall, snapCPU, tryWall, tryCPU time.Duration
			var res *whatif.Result
			for b.Loop() {
				res = nil
				runtime.GC()
				w0, c0 := time.Now(), cpuTime()
				snap := s.Snapshot()
				w1, c1 := time.Now(), cpuTime()
				var err error
				if res, err = whatif.TryIn(snap, c.cmds, opt); err != nil {
					b.Fatal(err)
				}
				snapWall += w1.Sub(w0)
				snapCPU += c1 - c0
				tryWall += time.Since(w1)
				tryCPU += cpuTime() - c1
			}
			n := float64(b.N)
			b.ReportMetric(snapWall.Seconds()/n, "snapshot-s")
			b.ReportMetric(snapCPU.Seconds()/n, "snapshot-cpu-s")
			b.ReportMetric(tryWall.Seconds()/n, "tryin-s")
			b.ReportMetric(tryCPU.Seconds()/n, "tryin-cpu-s")
			b.ReportMetric(float64(len(res.Expanded)), "commands")
			b.ReportMetric(float64(res.GainsCount+res.LossesCount+res.StartsCount), "changes")
		})
	}
	caughtUp, catchUp := false, time.Duration(0) // the first Try's
	for _, c := range cases {
		b.Run("tryOn/"+c.name, func(b *testing.B) {
			ctx := context.Background()
			opt := o
			if c.pos {
				opt.Position = positionOf(b)
			}
			if !caughtUp {
				time.Sleep(time.Until(created.Add(benchIdle + time.Second))) // the writer's copy is dropped
				w0 := time.Now()
				if err := tn.Try(ctx, func(_, _ *tenant.State) error { return nil }); err != nil {
					b.Fatal(err)
				}
				catchUp = time.Since(w0)
				caughtUp = true
			}
			var tryWall, tryCPU, inWall, inCPU time.Duration
			var res *whatif.Result
			for b.Loop() {
				res = nil
				runtime.GC()
				w0, c0 := time.Now(), cpuTime()
				err := tn.Try(ctx, func(before, after *tenant.State) error {
					w1, c1 := time.Now(), cpuTime()
					var err error
					res, err = whatif.TryOn(before, after, c.cmds, opt)
					inWall += time.Since(w1)
					inCPU += cpuTime() - c1
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				tryWall += time.Since(w0)
				tryCPU += cpuTime() - c0
			}
			n := float64(b.N)
			b.ReportMetric(tryWall.Seconds()/n, "try-s")
			b.ReportMetric(tryCPU.Seconds()/n, "try-cpu-s")
			b.ReportMetric(inWall.Seconds()/n, "tryon-s")
			b.ReportMetric(inCPU.Seconds()/n, "tryon-cpu-s")
			if catchUp > 0 {
				b.ReportMetric(catchUp.Seconds(), "catchup-s")
				catchUp = 0
			}
			b.ReportMetric(float64(len(res.Expanded)), "commands")
			b.ReportMetric(float64(res.GainsCount+res.LossesCount+res.StartsCount), "changes")
		})
	}
}

// cpuTime is the CPU time of the process so far (all threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
