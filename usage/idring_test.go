package usage

import (
	"math/rand"
	"testing"
)

// TestIDSetMatchesAMap runs random adds and deletes against a map.
func TestIDSetMatchesAMap(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	var s idSet
	m := map[uint64]bool{}
	for i := 0; i < 200_000; i++ {
		h := uint64(rnd.Intn(5000)) + 1 // small range: many collisions and deletes
		if rnd.Intn(3) == 0 {
			s.del(h)
			delete(m, h)
		} else {
			s.add(h)
			m[h] = true
		}
		if i%997 == 0 {
			for k := uint64(1); k <= 5000; k++ {
				if s.has(k) != m[k] {
					t.Fatalf("step %d: has(%d) = %v, want %v", i, k, s.has(k), m[k])
				}
			}
			if s.n != len(m) {
				t.Fatalf("step %d: %d entries, want %d", i, s.n, len(m))
			}
		}
	}
}

func TestIDRingForgetsTheOldestIDsPastItsBound(t *testing.T) {
	var r idRing
	r.head = MaxEventIDs - 2
	for h := uint64(1); h <= 4; h++ {
		if r.seen(h) {
			t.Fatalf("%d seen before", h)
		}
	}
	if r.head != 2 || !r.seen(3) || len(r.dirty) != 2 {
		t.Fatalf("head %d dirty %v", r.head, r.dirty)
	}
	// The ring wraps: the next ids overwrite positions 2, 3, … and the ids
	// stored there are forgotten.
	r.chunks[0][4] = 99
	r.set.add(99)
	r.head = 4
	r.seen(5)
	if r.set.has(99) || !r.seen(5) || r.seen(6) {
		t.Fatal("the overwritten id is still remembered")
	}
}
