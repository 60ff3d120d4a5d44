package sortedset

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

// BenchmarkNew builds a set of a million keys shaped like a directory's
// userPrincipalName keys (a shared stem, then a number) in random order.
func BenchmarkNew(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	r := rand.New(rand.NewSource(1))
	keys := make([]Key, n)
	for i, j := range r.Perm(n) {
		keys[i] = Key{K: fmt.Sprintf("user%d@contoso.example", j), ID: fmt.Sprintf("%08x-0000-4000-8000-%012d", r.Uint32(), j)}
	}
	for _, v := range []struct {
		name string
		new  func([]Key) *Set
	}{{"prefix", New}, {"plain", func(ks []Key) *Set { slices.SortFunc(ks, Compare); return FromSorted(slices.Compact(ks)) }}} {
		b.Run(v.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				ks := slices.Clone(keys)
				b.StartTimer()
				v.new(ks)
			}
		})
	}
}
