package connections_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"allot/bundle"
	"allot/catalog"
	"allot/licensing"
	"allot/m365"
	"allot/synth"
	"allot/tenant"
)

// TestBenchSync measures a first sync of a synthetic remote tenant and a
// delta sync after 1,000 changed users (docs/BENCHMARKS.md), through the
// throttling proxy (every 50th request answered 429, Retry-After: 2, waited
// for real). It runs only with ALLOT_M365_BENCH_USERS set (e.g. 100000):
// timings are reported, never checked.
func TestBenchSync(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ALLOT_M365_BENCH_USERS"))
	if n <= 0 {
		t.Skip("set ALLOT_M365_BENCH_USERS to run the sync benchmark")
	}
	w := newWorld(t, 50)
	w.mgr.Env.Sleep = nil // real waits
	ctx := context.Background()
	w.remote.Must(201, "POST", "/v1.0/domains", w.radmin, map[string]any{"id": "contoso.example"})
	cat := catalog.Default()
	syn := synth.Generate(cat, synth.Config{Users: n, Seed: 1})
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := syn.LoadInto(e); err != nil {
		t.Fatal(err)
	}
	e.Recompute(licensing.Op{Now: time.Now()})
	dir := t.TempDir()
	if err := bundle.Write(dir, e); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(dir, cat)
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := w.remote.RT.Get(w.rid)
	if _, err := bundle.Apply(ctx, rt, b, "bench", time.Now()); err != nil {
		t.Fatal(err)
	}
	lt, _ := w.local.RT.Get(w.lid)
	conn := w.connect(false)
	run := func(label string) m365.Result {
		p := &m365.Progress{}
		before := w.proxy.n.Load()
		start := time.Now()
		res, err := m365.Sync(ctx, lt, w.mgr.Env, conn, p, "bench")
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		var st m365.SyncState
		lt.Read(func(s *tenant.State) { st = m365.State(s, conn) })
		la, _ := os.ReadFile("/proc/loadavg")
		t.Logf("%s (%s): %d users, %d groups read; %d requests (%d through the proxy), %d throttled, %.1f s waiting; wall %.1f s; load %s",
			label, res.Kind, res.Users, res.Groups, st.Requests, w.proxy.n.Load()-before, st.Throttled, st.ThrottleWaitSeconds,
			time.Since(start).Seconds(), string(la[:14]))
		return res
	}
	run("first sync")
	for i := 1; i <= 1000; i++ {
		id := synth.GUID('u', i*(n/1000))
		w.remote.Must(204, "PATCH", "/v1.0/users/"+id, w.radmin, map[string]any{"jobTitle": fmt.Sprintf("Changed %d", i)})
	}
	if res := run("delta sync after 1,000 changes"); res.Kind != "delta" {
		t.Fatalf("the second sync was %s", res.Kind)
	}
}
