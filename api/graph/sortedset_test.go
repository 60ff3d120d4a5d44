package graph

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
)

func TestSortedSetMatchesASortedSliceUnderRandomChanges(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	ref := map[key]bool{}
	var init []key
	for i := 0; i < 3000; i++ {
		k := key{fmt.Sprint(rng.Intn(500)), fmt.Sprint(rng.Intn(50))}
		init = append(init, k)
		ref[k] = true
	}
	s := newSortedSet(init)
	for step := 0; step < 20000; step++ {
		k := key{fmt.Sprint(rng.Intn(500)), fmt.Sprint(rng.Intn(50))}
		if rng.Intn(2) == 0 {
			s.Insert(k)
			ref[k] = true
		} else {
			s.Delete(k)
			delete(ref, k)
		}
	}
	want := make([]key, 0, len(ref))
	for k := range ref {
		want = append(want, k)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].less(want[j]) })
	if s.Len() != len(want) {
		t.Fatalf("len %d, want %d", s.Len(), len(want))
	}
	var got []key
	s.Ascend(nil, func(k key) bool { got = append(got, k); return true })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatal("ascending order differs")
	}
	for trial := 0; trial < 200; trial++ {
		pivot := key{fmt.Sprint(rng.Intn(520)), fmt.Sprint(rng.Intn(50))}
		i := sort.Search(len(want), func(i int) bool { return pivot.less(want[i]) })
		var after []key
		s.Ascend(&pivot, func(k key) bool { after = append(after, k); return len(after) < 7 })
		exp := want[i:min(i+7, len(want))]
		if fmt.Sprint(after) != fmt.Sprint(exp) {
			t.Fatalf("after %v: %v, want %v", pivot, after, exp)
		}
		j := sort.Search(len(want), func(i int) bool { return !want[i].less(pivot) })
		var before []key
		s.Descend(&pivot, func(k key) bool { before = append(before, k); return len(before) < 7 })
		var expB []key
		for x := j - 1; x >= 0 && len(expB) < 7; x-- {
			expB = append(expB, want[x])
		}
		if fmt.Sprint(before) != fmt.Sprint(expB) {
			t.Fatalf("before %v: %v, want %v", pivot, before, expB)
		}
	}
}

// BenchmarkSortedSetAtOneMillion: the index operations behind listing a
// directory of 1,000,000 users — a change (delete + insert) and a page
// (seek + walk 100 keys).
func BenchmarkSortedSetAtOneMillion(b *testing.B) {
	const n = 1000000
	keys := make([]key, n)
	for i := range keys {
		keys[i] = key{fmt.Sprintf("user %07d", (i*7919)%n), fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)}
	}
	s := newSortedSet(keys)
	b.Run("change", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			k := keys[(i*31)%n]
			s.Delete(k)
			k.K = k.K + "x"
			s.Insert(k)
		}
	})
	b.Run("page", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			after := key{K: fmt.Sprintf("user %07d", (i*104729)%n)}
			c := 0
			s.Ascend(&after, func(key) bool { c++; return c < 100 })
		}
	})
}
