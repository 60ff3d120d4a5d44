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
