package position

import (
	"math/rand"
	"testing"
)

// bruteCover enumerates every family of sets.
func bruteCover(p CoverProblem) (int64, bool) {
	best, found := int64(0), false
	n := len(p.Sets)
	for f := 0; f < 1<<n; f++ {
		var w int64
		covered := make([]bool, p.Elements)
		for i := 0; i < n; i++ {
			if f&(1<<i) != 0 {
				w += p.Weights[i]
				for _, e := range p.Sets[i] {
					covered[e] = true
				}
			}
		}
		all := true
		for _, c := range covered {
			all = all && c
		}
		if all && (!found || w < best) {
			best, found = w, true
		}
	}
	return best, found
}

func randomCover(rnd *rand.Rand) CoverProblem {
	m := 1 + rnd.Intn(9)
	n := 1 + rnd.Intn(13)
	p := CoverProblem{Elements: m}
	for i := 0; i < n; i++ {
		var els []int
		for e := 0; e < m; e++ {
			if rnd.Intn(3) == 0 {
				els = append(els, e)
			}
		}
		p.Sets = append(p.Sets, els)
		// Few distinct weights: many ties, as with real price lists.
		p.Weights = append(p.Weights, int64(1+rnd.Intn(6))*int64(1+rnd.Intn(3)))
	}
	return p
}

func TestSolveCoverEqualsBruteForceOnRandomInstances(t *testing.T) {
	rnd := rand.New(rand.NewSource(42))
	for k := 0; k < 5000; k++ {
		p := randomCover(rnd)
		want, feasible := bruteCover(p)
		got := SolveCover(p)
		if got.Feasible != feasible {
			t.Fatalf("instance %d %+v: feasible %v, want %v", k, p, got.Feasible, feasible)
		}
		if !feasible {
			continue
		}
		if !got.Exact || got.Weight != want {
			t.Fatalf("instance %d %+v: weight %d (exact %v), want %d", k, p, got.Weight, got.Exact, want)
		}
		// The sets returned cover everything and weigh what is said.
		covered := make([]bool, p.Elements)
		var w int64
		for _, i := range got.Sets {
			w += p.Weights[i]
			for _, e := range p.Sets[i] {
				covered[e] = true
			}
		}
		for e, c := range covered {
			if !c {
				t.Fatalf("instance %d: element %d uncovered by %v", k, e, got.Sets)
			}
		}
		if w != got.Weight {
			t.Fatalf("instance %d: sets weigh %d, result says %d", k, w, got.Weight)
		}
	}
}

func TestSolveCoverIsDeterministic(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	for k := 0; k < 500; k++ {
		p := randomCover(rnd)
		a, b := SolveCover(p), SolveCover(p)
		if a.Weight != b.Weight || len(a.Sets) != len(b.Sets) {
			t.Fatalf("instance %d: %v then %v", k, a, b)
		}
		for i := range a.Sets {
			if a.Sets[i] != b.Sets[i] {
				t.Fatalf("instance %d: %v then %v", k, a.Sets, b.Sets)
			}
		}
	}
}

func TestSolveCoverWithoutElementsChoosesNothing(t *testing.T) {
	r := SolveCover(CoverProblem{Elements: 0, Sets: [][]int{{0}}, Weights: []int64{3}})
	if !r.Feasible || len(r.Sets) != 0 || r.Weight != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestSolveCoverReportsAnUncoverableElement(t *testing.T) {
	r := SolveCover(CoverProblem{Elements: 2, Sets: [][]int{{0}}, Weights: []int64{3}})
	if r.Feasible {
		t.Fatalf("%+v", r)
	}
}

// The set covering everything costs more than two overlapping ones.
func TestSolveCoverPrefersTwoCheapSetsToOneDearOne(t *testing.T) {
	p := CoverProblem{Elements: 6,
		Sets:    [][]int{{0, 1, 2, 3}, {0, 1, 2, 4}, {3, 5}, {4, 5}, {0, 1, 2, 3, 4, 5}},
		Weights: []int64{4, 4, 3, 3, 9}}
	r := SolveCover(p)
	if r.Weight != 7 {
		t.Fatalf("weight %d sets %v, want 7", r.Weight, r.Sets)
	}
}

// The dynamic programme for small problems returns what the branch and
// bound returns whenever it answers (a unique cheapest cover), and leaves
// ties to the branch and bound.
func TestSmallCoverAgreesWithTheBranchAndBound(t *testing.T) {
	rnd := rand.New(rand.NewSource(11))
	var d smallCover
	var s coverSolver
	answered, tied := 0, 0
	for k := 0; k < 20000; k++ {
		elements := 1 + rnd.Intn(smallMaxElements)
		n := 1 + rnd.Intn(24)
		masks := make([]uint64, n)
		weights := make([]int64, n)
		for i := range masks {
			for e := 0; e < elements; e++ {
				if rnd.Intn(3) == 0 {
					masks[i] |= 1 << uint(e)
				}
			}
			// Few distinct prices, as list prices, with the held
			// preference: ties are common.
			weights[i] = int64(1+rnd.Intn(6))*coverScale + 2 - int64(rnd.Intn(2))
		}
		sel, ok := d.solve(elements, masks, weights)
		res := solveMasks(elements, append([]uint64(nil), masks...), weights, &s)
		if !ok {
			if res.Feasible {
				tied++
			}
			continue
		}
		answered++
		if !res.Feasible {
			t.Fatalf("instance %d: small cover %b of an infeasible problem", k, sel)
		}
		var got []int
		var w int64
		var covered uint64
		for i := 0; i < n; i++ {
			if sel&(1<<uint(i)) != 0 {
				got = append(got, i)
				w += weights[i]
				covered |= masks[i]
			}
		}
		if covered != 1<<uint(elements)-1 || w != res.Weight || len(got) != len(res.Sets) {
			t.Fatalf("instance %d: small cover %v (weight %d), branch and bound %v (weight %d)", k, got, w, res.Sets, res.Weight)
		}
		for i := range got {
			if got[i] != res.Sets[i] {
				t.Fatalf("instance %d: small cover %v, branch and bound %v", k, got, res.Sets)
			}
		}
	}
	if answered < 5000 || tied < 500 {
		t.Fatalf("answered %d, ties %d: the instances do not exercise both", answered, tied)
	}
}
