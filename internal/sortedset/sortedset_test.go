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
// Ascend and Descend, Rank and CountPrefix. It does so for a set of whole
// keys, for a set of ids (FromIDs, NewIDs, a zero Set) probed with keys
// with and without an ID, and for a set of ids that a key with an ID
// turns into a set of whole keys midway.
func TestSetMatchesASortedSliceUnderRandomChanges(t *testing.T) {
	for _, c := range []struct {
		name    string
		withIDs bool             // the keys inserted have IDs
		promote int              // from this step on, keys have IDs (0: never)
		make    func([]Key) *Set // the set of the initial keys (unsorted, with duplicates)
	}{
		{"keys", true, 0, New},
		{"ids by NewIDs", false, 0, func(ks []Key) *Set { return NewIDs(idsOf(ks)) }},
		{"ids by FromIDs", false, 0, func(ks []Key) *Set { return FromIDs(slices.Compact(slices.Sorted(slices.Values(idsOf(ks))))) }},
		{"ids in a zero Set", false, 0, func(ks []Key) *Set {
			s := &Set{}
			for _, k := range ks {
				s.Insert(k)
			}
			return s
		}},
		{"ids, then keys", false, 12000, func(ks []Key) *Set { return NewIDs(idsOf(ks)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkAgainstModel(t, c.withIDs, c.promote, c.make)
		})
	}
}

func idsOf(ks []Key) []string {
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.K
	}
	return ids
}

func checkAgainstModel(t *testing.T, withIDs bool, promote int, make func([]Key) *Set) {
	r := rand.New(rand.NewSource(1))
	keyed := withIDs
	randKey := func() Key {
		k := Key{K: fmt.Sprintf("k%04d", r.Intn(3000))}
		if keyed {
			k.ID = fmt.Sprint(r.Intn(3))
		}
		return k
	}
	probe := func() Key { // with or without an ID, whatever the set holds
		return Key{K: fmt.Sprintf("k%04d", r.Intn(3000)), ID: []string{"", "", "0", "1"}[r.Intn(4)]}
	}
	var initial, model []Key
	for range 2000 {
		initial = append(initial, randKey())
	}
	model = slices.Clone(initial)
	slices.SortFunc(model, Compare)
	model = slices.Compact(model)
	s := make(initial)
	for step := 0; step < 30000; step++ {
		if step == promote && promote > 0 {
			keyed = true
		}
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
		if p := probe(); s.Has(p) != slices.ContainsFunc(model, func(m Key) bool { return m == p }) {
			t.Fatalf("Has(%v) = %v, the model says otherwise", p, s.Has(p))
		}
		if step%997 != 0 {
			continue
		}
		if s.Len() != len(model) {
			t.Fatalf("Len = %d, want %d", s.Len(), len(model))
		}
		p := probe()
		for _, from := range []*Key{nil, &k, &p, {K: randKey().K}} {
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
		for _, q := range []Key{k, p} {
			if got, want := s.Rank(q), sortIndex(model, q); got != want {
				t.Fatalf("Rank(%v) = %d, want %d", q, got, want)
			}
		}
		pre := k.K[:3]
		n := 0
		for _, m := range model {
			if strings.HasPrefix(m.K, pre) {
				n++
			}
		}
		if got := s.CountPrefix(pre); got != n {
			t.Fatalf("CountPrefix(%q) = %d, want %d", pre, got, n)
		}
	}
	if promote > 0 && !s.keyed {
		t.Fatal("a key with an ID did not turn the set of ids into one of keys")
	}
	if promote == 0 && !withIDs && s.keyed {
		t.Fatal("a set of ids holds whole keys")
	}
}

func sortIndex(model []Key, k Key) int {
	i, _ := slices.BinarySearchFunc(model, k, Compare)
	return i
}

func TestNilAndEmptySetsAreEmpty(t *testing.T) {
	var nilSet *Set
	for _, s := range []*Set{nilSet, {}, New(nil), NewIDs(nil), FromIDs(nil)} {
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
