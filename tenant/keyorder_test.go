package tenant

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// cmpJoined orders pairs as their joined keys a/b order, and inKeyOrder
// emits in that order also when the pairs' own order differs (an id with a
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
	pairs := [][2]string{{"a", "x"}, {"a-b", "x"}, {"b", "y"}, {"b", "z"}}
	var got []string
	if err := inKeyOrder(len(pairs), func(i int) (string, string) { return pairs[i][0], pairs[i][1] }, func(_ int, key string) error {
		got = append(got, key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(got) || len(got) != 4 {
		t.Fatalf("emitted %q, want the four keys in byte order", got)
	}
}

// inKeyOrder emits every index once, with its own key, over several of its
// key chunks, in order or not.
func TestInKeyOrderEmitsEachIndexWithItsKey(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, sorted := range []bool{true, false} {
		pairs := make([][2]string, 3000)
		for i := range pairs {
			pairs[i] = [2]string{string(rune('a' + rnd.IntN(20))), strings.Repeat("x", rnd.IntN(5)) + string(rune('0'+rnd.IntN(10)))}
		}
		if sorted {
			slices.SortFunc(pairs, func(x, y [2]string) int { return strings.Compare(x[0]+"/"+x[1], y[0]+"/"+y[1]) })
			pairs = slices.CompactFunc(pairs, func(x, y [2]string) bool { return x == y })
		}
		seen := make([]bool, len(pairs))
		var keys []string
		if err := inKeyOrder(len(pairs), func(i int) (string, string) { return pairs[i][0], pairs[i][1] }, func(i int, key string) error {
			if want := pairs[i][0] + "/" + pairs[i][1]; key != want || seen[i] {
				t.Fatalf("index %d emitted with key %q (seen before: %v), want %q once", i, key, seen[i], want)
			}
			seen[i] = true
			keys = append(keys, key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(keys) || slices.Contains(seen, false) {
			t.Fatalf("sorted input %v: keys not in order or an index not emitted", sorted)
		}
	}
}
