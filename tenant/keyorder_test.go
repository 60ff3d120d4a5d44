package tenant

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// cmpJoined orders pairs as their joined keys a/b order, and keyOrder
// with joinKeys gives that order also when the pairs' own order differs (an id with a
// byte below '/').
func TestPairsEmitInJoinedKeyOrder(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "-", ".", "/", "0", ""}
	word := func() string {
		var b strings.Builder
		for range rnd.IntN(4) {
			b.WriteString(alphabet[rnd.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 2000 {
		a1, b1, a2, b2 := word(), word(), word(), word()
		want := strings.Compare(a1+"/"+b1, a2+"/"+b2)
		if got := cmpJoined(a1, b1, a2, b2); got != want {
			t.Fatalf("cmpJoined(%q, %q, %q, %q) = %d, want %d", a1, b1, a2, b2, got, want)
		}
	}
	pairs := []idPair{{"a", "x"}, {"a-b", "x"}, {"b", "y"}, {"b", "z"}}
	_, got := joinKeys(nil, nil, pairs, keyOrder(pairs), 0, len(pairs))
	if !slices.IsSorted(got) || len(got) != 4 {
		t.Fatalf("emitted %q, want the four keys in byte order", got)
	}
}

// keyOrder with joinKeys gives every index once, with its own key, in
// parts of the order (the batches of a stream, each written over the
// previous one's memory), in order or not.
func TestJoinedKeysGiveEachIndexWithItsKey(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, sorted := range []bool{true, false} {
		pairs := make([]idPair, 3000)
		for i := range pairs {
			pairs[i] = idPair{string(rune('a' + rnd.IntN(20))), strings.Repeat("x", rnd.IntN(5)) + string(rune('0'+rnd.IntN(10)))}
		}
		if sorted {
			slices.SortFunc(pairs, func(x, y idPair) int { return strings.Compare(x.a+"/"+x.b, y.a+"/"+y.b) })
			pairs = slices.Compact(pairs)
		}
		order := keyOrder(pairs)
		if sorted != (order == nil) {
			t.Fatalf("sorted input %v: keyOrder %v, want nil exactly for sorted input", sorted, order != nil)
		}
		seen := make([]bool, len(pairs))
		var keys, batch []string
		var buf []byte
		for from := 0; from < len(pairs); from += 1000 {
			to := min(from+1000, len(pairs))
			buf, batch = joinKeys(buf, batch[:0], pairs, order, from, to)
			for k, key := range batch {
				i := from + k
				if order != nil {
					i = order[i]
				}
				if want := pairs[i].a + "/" + pairs[i].b; key != want || seen[i] {
					t.Fatalf("index %d given with key %q (seen before: %v), want %q once", i, key, seen[i], want)
				}
				seen[i] = true
				keys = append(keys, strings.Clone(key)) // buf serves the next batch
			}
		}
		if !slices.IsSorted(keys) || slices.Contains(seen, false) {
			t.Fatalf("sorted input %v: keys not in order or an index not given", sorted)
		}
	}
}
