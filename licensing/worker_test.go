package licensing

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"
)

// A full recompute split across workers gives exactly the state, the delta
// (in the same order) and the audit of a serial one — from stored records
// and from sources alone.
func TestParallelRecomputeEqualsSerial(t *testing.T) {
	for seed := int64(1); seed <= 12; seed++ {
		f := newFixture(t)
		r := &propRun{f: f, rnd: rand.New(rand.NewSource(seed))}
		for range 250 {
			r.step()
		}
		f.e.TakeDelta()
		for _, withLicenses := range []bool{true, false} {
			serial := reloadWith(t, f.e, f.now, withLicenses, 1)
			want, wantDelta := dump(serial), deltaString(serial.TakeDelta())
			for _, workers := range []int{2, 3, 7, 64} {
				par := reloadWith(t, f.e, f.now, withLicenses, workers)
				if got := dump(par); got != want {
					t.Fatalf("seed %d, records %v, %d workers: state differs\n--- serial\n%s--- parallel\n%s", seed, withLicenses, workers, want, got)
				}
				if got := deltaString(par.TakeDelta()); got != wantDelta {
					t.Fatalf("seed %d, records %v, %d workers: delta differs\n--- serial\n%s\n--- parallel\n%s", seed, withLicenses, workers, wantDelta, got)
				}
				if err := checkInvariants(par); err != nil {
					t.Fatalf("seed %d, %d workers: %v", seed, workers, err)
				}
			}
		}
	}
}

func deltaString(d Delta) string {
	s := fmt.Sprint(d.Licenses)
	for _, a := range d.Audit {
		s += "\n" + a.Action + "|" + a.Detail
	}
	return s
}

// selectOldest puts exactly the k oldest claims first, for every k.
func TestSelectOldest(t *testing.T) {
	rnd := rand.New(rand.NewSource(3))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{0, 1, 2, 5, 13, 40, 200, 1000} {
		for trial := range 20 {
			h := make(waitHeap, n)
			for i := range h {
				// Few distinct times: ties broken by user id.
				h[i] = &license{user: &user{User: &User{ID: fmt.Sprintf("u%05d", rnd.Intn(100000)*n+i)}}, LicenseState: LicenseState{Since: InstantOf(base.Add(time.Duration(rnd.Intn(1+trial%7)) * time.Second))}}
			}
			if trial%5 == 0 { // already sorted and reversed inputs
				slices.SortFunc(h, waitCmp)
				if trial%10 == 0 {
					slices.Reverse(h)
				}
			}
			sorted := slices.Clone(h)
			slices.SortFunc(sorted, waitCmp)
			for _, k := range []int{0, n / 3, n / 2, n - 1, n} {
				if k < 0 {
					continue
				}
				c := slices.Clone(h)
				c.selectOldest(k)
				first := slices.Clone(c[:k])
				slices.SortFunc(first, waitCmp)
				if !slices.Equal(first, sorted[:k]) {
					t.Fatalf("n=%d k=%d trial %d: the first k are not the k oldest", n, k, trial)
				}
			}
		}
	}
}
