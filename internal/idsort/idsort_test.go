package idsort

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// By orders as a plain sort by id does, whatever the ids share: the
// first eight bytes, a prefix, zero bytes, or nothing at all.
func TestByOrdersAsAPlainSort(t *testing.T) {
	pieces := []string{"", "\x00", "a", "ab", "abcdefgh", "abcdefgh\x00", "\xff", "é"}
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 11))
		seen := map[string]bool{}
		var ids []string
		for len(ids) < 2000 {
			var b strings.Builder
			for range r.IntN(5) {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
			fmt.Fprint(&b, r.IntN(100))
			if s := b.String(); !seen[s] {
				seen[s] = true
				ids = append(ids, s)
			}
		}
		want := slices.Sorted(slices.Values(ids))
		got := By(ids, func(s string) string { return s })
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d: By disagrees with sort", seed)
		}
		if same := By(want, func(s string) string { return s }); &same[0] != &want[0] {
			t.Fatalf("seed %d: a sorted list was copied", seed)
		}
		inPlace := slices.Clone(ids)
		SortFunc(inPlace, func(s string) string { return s }, strings.Compare)
		if !slices.Equal(inPlace, want) {
			t.Fatalf("seed %d: SortFunc disagrees with sort", seed)
		}
		strs := slices.Clone(ids)
		Strings(strs)
		if !slices.Equal(strs, want) {
			t.Fatalf("seed %d: Strings disagrees with sort", seed)
		}
	}
}

func TestHead8NeverContradictsTheStringOrder(t *testing.T) {
	words := []string{"", "\x00", "\x00\x00", "a", "a\x00", "ab", "abcdefgh", "abcdefgh\x00", "abcdefgi", "abcdefg", "\xff\xff", "b"}
	for _, a := range words {
		for _, b := range words {
			if ha, hb := head8(a), head8(b); ha < hb && !(a < b) {
				t.Errorf("head8(%q) < head8(%q) but %q >= %q", a, b, a, b)
			}
		}
	}
}

func TestStringsSortsAsSortStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 63, 64, 1000} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("%08x-%d", r.Uint32()%1000, i)
		}
		want := slices.Sorted(slices.Values(ids))
		Strings(ids)
		if !slices.Equal(ids, want) {
			t.Fatalf("%d ids: Strings disagrees with a plain sort", n)
		}
	}
}

// SortFunc applies the order in place: small lists of every permutation
// (each a mix of cycles) come out sorted, with no allocation beyond the
// order itself.
func TestSortFuncFollowsEveryCycle(t *testing.T) {
	var perm func(p []int, k int)
	n := 0
	perm = func(p []int, k int) {
		if k == len(p) {
			list := make([]string, len(p))
			for i, v := range p {
				list[i] = fmt.Sprintf("id%02d", v)
			}
			SortFunc(list, func(s string) string { return s }, strings.Compare)
			if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(p) {
				t.Fatalf("permutation %v: %v", p, list)
			}
			n++
			return
		}
		for i := k; i < len(p); i++ {
			p[k], p[i] = p[i], p[k]
			perm(p, k+1)
			p[k], p[i] = p[i], p[k]
		}
	}
	perm([]int{0, 1, 2, 3, 4, 5, 6}, 0)
	if n != 5040 {
		t.Fatalf("%d permutations", n)
	}
	big := make([]string, 100000)
	for i := range big {
		big[i] = fmt.Sprintf("%08x-id", uint32(i)*2654435761)
	}
	if a := testing.AllocsPerRun(1, func() {
		c := slices.Clone(big) // one allocation
		SortFunc(c, func(s string) string { return s }, strings.Compare)
	}); a > 2 {
		t.Fatalf("SortFunc of 100,000 ids: %v allocations, want the order's one (and the clone's)", a)
	}
}

// prefixedKeys are n keys that share a prefix, as a tenant's UPNs or
// display names often do ("user123456@contoso.example"), shuffled.
func prefixedKeys(n int, prefix, suffix string) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = fmt.Sprintf("%s%d%s", prefix, i, suffix)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { ks[i], ks[j] = ks[j], ks[i] })
	return ks
}

// Keys sharing a prefix sort as a plain sort does, whether the prefix is
// all of some keys or not, and with keys that differ only after it.
func TestKeysSharingAPrefixSortAsAPlainSort(t *testing.T) {
	for _, c := range []struct{ prefix, suffix string }{
		{"user", "@contoso.example"}, {"user ", ""}, {"abcdefghijklmnop", "x"}, {"", ""},
	} {
		ks := prefixedKeys(5000, c.prefix, c.suffix)
		ks = append(ks, c.prefix) // the prefix itself: a key that ends where the others go on
		want := slices.Sorted(slices.Values(ks))
		Strings(ks)
		if !slices.Equal(ks, want) {
			t.Fatalf("prefix %q: Strings disagrees with sort", c.prefix)
		}
	}
}

func BenchmarkStringsSharingAPrefix(b *testing.B) {
	ks := prefixedKeys(1_000_000, "user", "@contoso.example")
	buf := make([]string, len(ks))
	b.ResetTimer()
	for b.Loop() {
		copy(buf, ks)
		Strings(buf)
	}
}
