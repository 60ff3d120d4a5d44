package licensing

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
	"time"
)

// Adopting the records of a consistent engine leaves what a full
// recompute of them leaves — pools, waiting rooms, error counts, claim
// flags, every record (Diff) — and changes nothing, serially and in
// parallel, after random command sequences of several lengths (which
// reach waiting rooms, allotments, kept sources and all-or-none groups:
// TestPropertyExercisesEveryState).
func TestPropertyAdoptEqualsFullRecompute(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 4
	}
	bundled := 0
	for seed := int64(1); seed <= int64(seeds); seed++ {
		for _, steps := range []int{40, 150, 400} {
			e := randomEngine(t, seed, steps)
			e.TakeDelta()
			now := e.clock.Add(time.Hour)
			for _, workers := range []int{1, 3} {
				want := reloadWith(t, e, now, true, workers)
				if d := want.TakeDelta(); len(d.Licenses) != 0 {
					t.Fatalf("seed %d steps %d: the recompute of a consistent state changed %d records", seed, steps, len(d.Licenses))
				}
				got := adoptCopy(t, e, now, workers)
				if d := got.TakeDelta(); len(d.Licenses) != 0 || len(d.Audit) != 0 {
					t.Fatalf("seed %d steps %d: Adopt changed records: %+v", seed, steps, d)
				}
				if diff := Diff(want, got); diff != "" {
					t.Fatalf("seed %d steps %d workers %d: adopted differs from recomputed: %s", seed, steps, workers, diff)
				}
				for _, u := range got.all {
					for _, l := range u.licenses {
						if l.bundled {
							bundled++
						}
					}
				}
			}
		}
	}
	if bundled == 0 {
		t.Fatal("no adopted record was bundled: the all-or-none path went untested")
	}
}

// adoptCopy loads e's records into a new engine and adopts them at now.
func adoptCopy(t testing.TB, e *Engine, now time.Time, workers int) *Engine {
	t.Helper()
	n := loadCopy(t, e, true)
	defer func(w int) { recomputeWorkers = w }(recomputeWorkers)
	recomputeWorkers = workers
	n.Adopt(Op{Now: now})
	return n
}

// Adopt trusts the records: on records a recompute would change (here, a
// seat taken away behind the engine's back), the two differ — which is
// why the runtime adopts only records stamped with this Semantics.
func TestAdoptTakesRecordsAsTheyAre(t *testing.T) {
	f := newFixture(t)
	f.units(skuE3, 2)
	g := f.group(1)
	f.groupLicense(g, lic(skuE3))
	u1, u2 := f.user(1), f.user(2)
	f.add(g, u1, u2)
	f.e.TakeDelta()
	l := f.e.users[u2].licenseOf(f.e.pools[skuE3])
	l.Held, l.HeldSince = false, 0 // claims, holds nothing: a recompute would seat it
	now := f.now.Add(time.Hour)
	adopted := adoptCopy(t, f.e, now, 1)
	if got := adopted.pools[skuE3].consumed; got != 1 {
		t.Fatalf("adopted consumption = %d, want the records' 1", got)
	}
	if len(adopted.pools[skuE3].waiting) != 1 {
		t.Fatal("the claim without a seat must wait in the adopted engine")
	}
	recomputed := reloadWith(t, f.e, now, true, 1)
	if Diff(recomputed, adopted) == "" {
		t.Fatal("a recompute must repair what Adopt takes as it is")
	}
}

// semanticsDigests records, for each value of Semantics, a digest of what
// full recomputes derive from fixed records (TestSemanticsIsRaised...).
var semanticsDigests = map[int]string{
	// The dump stopped printing a source state's allotment (its
	// record's, which the dump prints) in session 22: the digest of the
	// engine before that change with the new dump was this one too.
	1: "89fc79921ac10827c229eacaf57f3c759bcd16a6536f2478c5425962d7c15801",
}

// Stored license records are adopted at load when they were committed
// under the same Semantics, so a change to what a recompute derives from
// the same records must raise it. This test notices such a change: it
// digests the full recomputes of fixed random tenants (from their sources
// alone, and from their license records) and compares the digest with the
// one recorded for the current Semantics. If it fails after a change to
// the engine, raise Semantics and record the new digest under it (raising
// it without need costs each tenant one recompute at its next load; not
// raising it when the rules changed leaves stored states underived).
func TestSemanticsIsRaisedWhenTheRecomputeChanges(t *testing.T) {
	h := sha256.New()
	for seed := int64(1); seed <= 6; seed++ {
		e := randomEngine(t, seed, 300)
		now := e.clock.Add(time.Hour)
		for _, withLicenses := range []bool{false, true} {
			io.WriteString(h, dump(reloadWith(t, e, now, withLicenses, 1)))
		}
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want, ok := semanticsDigests[Semantics]; !ok || got != want {
		t.Fatalf("the full recompute of fixed records derives something else than Semantics %d recorded (digest %s, recorded %q): raise licensing.Semantics and record this digest under it (if only this test's inputs changed — propRun's steps, the test catalog — record it under the current value)", Semantics, got, want)
	}
}
