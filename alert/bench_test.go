package alert_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"allot/alert"
	"allot/bundle"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/synth"
	"allot/tenant"
)

// The cost of alert rules per command (docs/BENCHMARKS.md): a synthetic
// tenant (synth; ALLOT_BENCH_USERS users, 100,000 by default) imported
// into a runtime over SQLite, 100 rules of every condition evaluated
// after each commit by a running service, against the same runtime with
// the service's hook switched off:
//
//	ALLOT_BENCH_USERS=1000000 go test ./alert -run '^$' -bench . -benchtime 4000x -timeout 60m

func benchUsers() int {
	if v, err := strconv.Atoi(os.Getenv("ALLOT_BENCH_USERS")); err == nil && v > 0 {
		return v
	}
	return 100_000
}

type benchWorld struct {
	rt    *tenant.Runtime
	tn    *tenant.Tenant
	svc   *alert.Service
	on    *atomic.Bool
	group string   // a licensed group
	users []string // users not in it
}

var benchW *benchWorld

func newBenchWorld(b *testing.B) *benchWorld {
	if benchW != nil {
		return benchW
	}
	n := benchUsers()
	cat := catalog.Default()
	dir, err := os.MkdirTemp("", "alert-bench-")
	if err != nil {
		b.Fatal(err)
	}
	// The world is shared by the benchmarks of the run; its files go
	// when the process ends.
	defer func() { _ = os.RemoveAll(filepath.Join(dir, "bundle")) }()
	start := time.Now()
	st := synth.Generate(cat, synth.Config{Users: n, Groups: max(10, n/100), SKUs: 50, GroupLicenses: max(5, n/200), Seed: 1})
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := st.LoadInto(e); err != nil {
		b.Fatal(err)
	}
	st = nil
	e.Recompute(licensing.Op{Now: time.Now()})
	if err := bundle.Write(filepath.Join(dir, "bundle"), e); err != nil {
		b.Fatal(err)
	}
	e = nil
	db, err := sqlite.Open(filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	svc := alert.New(alert.Config{Store: db, Logger: quiet(), Poll: 100 * time.Millisecond})
	on := &atomic.Bool{}
	hook := func(id string, d *licensing.Delta, objects []store.Mutation) {
		if on.Load() {
			svc.AfterCommit(id, d, objects)
		}
	}
	ctx := context.Background()
	rt, err := tenant.Open(ctx, db, cat, tenantopts.With(tenant.Options{Logger: quiet(), AfterCommit: hook}))
	if err != nil {
		b.Fatal(err)
	}
	tn, err := rt.Create(ctx, store.Tenant{ID: "bench", CompanyName: "Bench", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		b.Fatal(err)
	}
	bd, err := bundle.Open(filepath.Join(dir, "bundle"), cat)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bundle.Apply(ctx, tn, bd, "bench", time.Now()); err != nil {
		b.Fatal(err)
	}
	w := &benchWorld{rt: rt, tn: tn, svc: svc, on: on}
	// The licensed group with the most members, users outside it, and 100
	// rules of every condition that runs after commits.
	var skus []string
	var allotments []string
	tn.Read(func(s *tenant.State) {
		best := -1
		for _, g := range s.Engine.GroupIDs() {
			if len(s.Engine.GroupLicenses(g)) > 0 && s.Engine.MemberCount(g) > best {
				w.group, best = g, s.Engine.MemberCount(g)
			}
		}
		s.Engine.ForEachUser(func(u *licensing.User) bool {
			if !s.Engine.IsMember(w.group, u.ID) {
				w.users = append(w.users, u.ID)
			}
			return len(w.users) < 5000
		})
		for _, p := range s.Engine.Pools() {
			skus = append(skus, p.SKU.ID)
		}
		for _, a := range s.Engine.Allotments() {
			allotments = append(allotments, a.ID)
		}
	})
	sort.Strings(skus)
	err = tn.Do(ctx, licensing.Op{Now: time.Now()}, func(tx *tenant.Tx) error {
		if err := alert.PutEndpoint(tx, alert.Endpoint{ID: "ops", Type: alert.Webhook, URL: "http://127.0.0.1:1/unreachable", Secret: "s"}); err != nil {
			return err
		}
		put := func(i int, r alert.Rule) error {
			r.ID, r.Endpoints = fmt.Sprintf("r%03d", i), []string{"ops"}
			return alert.PutRule(tx, r)
		}
		codes := [][]string{nil, {"CountViolation"}, {"DependencyViolation"}, {"MutuallyExclusiveViolation"}, {"DependencyViolation", "MutuallyExclusiveViolation"}}
		for i := range 100 {
			var r alert.Rule
			switch i % 5 {
			case 0:
				r = alert.Rule{Condition: alert.LicenseErrors, Errors: codes[i/5%len(codes)], Threshold: float64(1 + i)}
			case 1:
				r = alert.Rule{Condition: alert.LicenseErrors, GroupID: w.group}
			case 2:
				r = alert.Rule{Condition: alert.FreeSeatsLow, SKUID: skus[i%len(skus)], ThresholdPercent: 5}
			case 3:
				r = alert.Rule{Condition: alert.WaitingTooLong, SKUID: skus[i%len(skus)], Hours: 24}
			case 4:
				r = alert.Rule{Condition: alert.SubscriptionRenewing, Days: 30}
				if i%10 == 9 {
					r = alert.Rule{Condition: alert.AllotmentFull}
				}
			}
			if err := put(i, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	svc.Start(context.Background(), rt)
	on.Store(true)
	svc.RunPending(ctx) // the first, full evaluation
	on.Store(false)
	b.Logf("world: %d users, group %s, %d rules, built in %s", n, w.group, 100, time.Since(start).Round(time.Second))
	benchW = w
	return w
}

// BenchmarkMembershipChangeRules: durable membership changes (add or
// remove a user of a licensed group), in blocks of 100 alternating
// between the alert hook off and on (so load changes hit both alike);
// p50/p99 of each.
func BenchmarkMembershipChangeRules(b *testing.B) {
	w := newBenchWorld(b)
	ctx := context.Background()
	var off, on []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hook := i/100%2 == 1
		w.on.Store(hook)
		u := w.users[i/2%len(w.users)]
		var add bool
		w.tn.Read(func(s *tenant.State) { add = !s.Engine.IsMember(w.group, u) })
		start := time.Now()
		err := w.tn.Do(ctx, licensing.Op{Actor: "bench", Now: time.Now()}, func(tx *tenant.Tx) error {
			if add {
				return tx.Engine.AddMembers(tx.Op, w.group, []string{u})
			}
			return tx.Engine.RemoveMembers(tx.Op, w.group, []string{u})
		})
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if hook {
			on = append(on, d)
		} else {
			off = append(off, d)
		}
	}
	b.StopTimer()
	w.on.Store(false)
	pct := func(l []time.Duration, p int) float64 {
		if len(l) == 0 {
			return 0
		}
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		return float64(l[len(l)*p/100].Microseconds())
	}
	b.ReportMetric(pct(off, 50), "off-p50-µs")
	b.ReportMetric(pct(off, 99), "off-p99-µs")
	b.ReportMetric(pct(on, 50), "rules-p50-µs")
	b.ReportMetric(pct(on, 99), "rules-p99-µs")
}

// BenchmarkEvaluateMembershipChange: one evaluation of the 100 rules after
// a membership change (what the service does per coalesced commit), on
// the readers' copy; its time is also how long it holds the read lock at
// most.
func BenchmarkEvaluateMembershipChange(b *testing.B) {
	w := newBenchWorld(b)
	ctx := context.Background()
	// A membership change touches license records of the group's
	// products: their pools, and the licenses.
	var pools []string
	w.tn.Read(func(s *tenant.State) {
		for _, src := range s.Engine.GroupLicenses(w.group) {
			pools = append(pools, src.SKUID)
		}
	})
	d := licensing.Delta{}
	for _, p := range pools {
		d.Licenses = append(d.Licenses, licensing.Key2{w.users[0], p})
	}
	touched := alert.TouchedBy(&d, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.svc.Evaluate(ctx, w.tn, touched); err != nil {
			b.Fatal(err)
		}
	}
}
