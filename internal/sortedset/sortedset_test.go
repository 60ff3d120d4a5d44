package sortedset

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// TestSetMatchesASortedSliceUnderRandomChanges checks every operation
// against a sorted slice after random inserts and deletes: the answers of
// Insert and Delete, Len, scans both ways from keys in and out of the set,
// Ascend and Descend, Rank and CountPrefix.
func TestSetMatchesASortedSliceUnderRandomChanges(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	randKey := func() Key { return Key{fmt.Sprintf("k%04d", r.Intn(3000)), fmt.Sprint(r.Intn(3))} }
	var initial, model []Key
	for range 2000 {
		initial = append(initial, randKey())
	}
	model = slices.Clone(initial)
	slices.SortFunc(model, Compare)
	model = slices.Compact(model)
	s := New(initial) // unsorted, with duplicates
	for step := 0; step < 30000; step++ {
		k := randKey()
		i, found := slices.BinarySearchFunc(model, k, Compare)
		if r.Intn(3) == 0 {
			if got := s.Delete(k); got != found {
				t.Fatalf("Delete(%v) = %v, want %v", k, got, found)
			}
			if found {
				model = slices.Delete(model, i, i+1)
			}
		} else {
			if got := s.Insert(k); got == found {
				t.Fatalf("Insert(%v) = %v with found %v", k, got, found)
			}
			if !found {
				model = slices.Insert(model, i, k)
			}
		}
		if step%997 != 0 {
			continue
		}
		if s.Len() != len(model) {
			t.Fatalf("Len = %d, want %d", s.Len(), len(model))
		}
		for _, from := range []*Key{nil, &k, {K: randKey().K}} {
			for _, backward := range []bool{false, true} {
				var got, want []Key
				s.Scan(from, backward, func(k Key) bool { got = append(got, k); return len(got) < 700 })
				ScanSlice(model, from, backward, func(k Key) bool { want = append(want, k); return len(want) < 700 })
				if !slices.Equal(got, want) {
					t.Fatalf("Scan(%v, backward=%v) differs from the model", from, backward)
				}
				var walk []Key
				each := func(k Key) bool { walk = append(walk, k); return len(walk) < 700 }
				if backward {
					s.Descend(from, each)
				} else {
					s.Ascend(from, each)
				}
				if !slices.Equal(walk, want) {
					t.Fatalf("Ascend/Descend(%v, backward=%v) differs from the model", from, backward)
				}
			}
		}
		if got, want := s.Rank(k), sortIndex(model, k); got != want {
			t.Fatalf("Rank(%v) = %d, want %d", k, got, want)
		}
		p := k.K[:3]
		n := 0
		for _, m := range model {
			if strings.HasPrefix(m.K, p) {
				n++
			}
		}
		if got := s.CountPrefix(p); got != n {
			t.Fatalf("CountPrefix(%q) = %d, want %d", p, got, n)
		}
	}
}

func sortIndex(model []Key, k Key) int {
	i, _ := slices.BinarySearchFunc(model, k, Compare)
	return i
}

func TestNilAndEmptySetsAreEmpty(t *testing.T) {
	var nilSet *Set
	for _, s := range []*Set{nilSet, {}, New(nil)} {
		if s.Len() != 0 || s.Rank(Key{K: "x"}) != 0 || s.Delete(Key{K: "x"}) {
			t.Fatalf("%v is not empty", s)
		}
		s.Scan(nil, false, func(Key) bool { t.Fatal("scan of an empty set called fn"); return false })
		s.Scan(nil, true, func(Key) bool { t.Fatal("scan of an empty set called fn"); return false })
	}
	s := &Set{}
	if !s.Insert(Key{K: "a"}) || s.Len() != 1 {
		t.Fatal("the zero Set does not take an insert")
	}
}

// BenchmarkSetAtOneMillion: the index operations behind listing a
// directory of 1,000,000 users — a change (delete + insert) and a page
// (seek + walk 100 keys).
func BenchmarkSetAtOneMillion(b *testing.B) {
	const n = 1000000
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = Key{fmt.Sprintf("user %07d", (i*7919)%n), fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)}
	}
	s := New(slices.Clone(keys))
	b.Run("change", func(b *testing.B) {
		i := 0
		for b.Loop() {
			k := keys[(i*31)%n]
			s.Delete(k)
			k.K += "x"
			s.Insert(k)
			i++
		}
	})
	b.Run("page", func(b *testing.B) {
		i := 0
		for b.Loop() {
			after := Key{K: fmt.Sprintf("user %07d", (i*104729)%n)}
			c := 0
			s.Ascend(&after, func(Key) bool { c++; return c < 100 })
			i++
		}
	})
}

// New orders a list long enough for the prefix sort exactly as a plain
// sort does, duplicates removed, whatever the keys share: K's first eight
// bytes, all of K (ties broken by ID), a stem of every K, or nothing.
func TestNewSortsALargeListAsAPlainSortDoes(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	pieces := []string{"", "a", "abcdefgh", "abcdefgh\x00", "ab", "\xff", "é", "z"}
	word := func() string {
		var b strings.Builder
		for range r.Intn(4) {
			b.WriteString(pieces[r.Intn(len(pieces))])
		}
		return b.String()
	}
	for round := range 3 {
		var keys []Key
		stem := []string{"", "user", "abcdefghij"}[round] // a prefix every K shares
		for len(keys) < prefixSortMin*2 {
			k := Key{K: stem + word(), ID: word()}
			keys = append(keys, k)
			if r.Intn(10) == 0 {
				keys = append(keys, k) // a duplicate
			}
		}
		want := slices.Clone(keys)
		slices.SortFunc(want, Compare)
		want = slices.Compact(want)
		s := New(keys)
		var got []Key
		s.Ascend(nil, func(k Key) bool { got = append(got, k); return true })
		if !slices.Equal(got, want) || s.Len() != len(want) {
			t.Fatalf("round %d: New gave %d keys, a plain sort %d; first difference at %d", round, len(got), len(want), firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []Key) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
