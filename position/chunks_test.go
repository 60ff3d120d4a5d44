package position

import "testing"

// A chunked list starts small, grows its first chunk to a full one, then
// adds full chunks; an index stays valid as the list grows, and each
// walks the elements in order. Several elements added at once are
// contiguous within one chunk.
func TestChunksGrowAndKeepIndexes(t *testing.T) {
	var c chunks[int32]
	c.add(0)
	if got := cap(c.c[0]); got != firstChunk {
		t.Fatalf("first chunk of capacity %d, want %d", got, firstChunk)
	}
	const n = 3<<chunkBits + 100
	idx := []int32{0}
	for v := int32(1); v < n; v++ {
		idx = append(idx, c.add(v))
	}
	if len(c.c) != 4 || c.n != n {
		t.Fatalf("%d chunks, %d elements", len(c.c), c.n)
	}
	for k := range c.c[:3] {
		if len(c.c[k]) != 1<<chunkBits {
			t.Fatalf("chunk %d holds %d", k, len(c.c[k]))
		}
	}
	for v, i := range idx {
		if got := *c.at(i); got != int32(v) {
			t.Fatalf("at(%d) = %d, want %d", i, got, v)
		}
	}
	next := int32(0)
	c.each(0, n, func(v *int32) bool {
		if *v != next {
			t.Fatalf("each: %d, want %d", *v, next)
		}
		next++
		return true
	})
	// A run that does not fit the last chunk starts the next.
	var e chunks[int32]
	for v := int32(0); v < 1<<chunkBits-2; v++ {
		e.add(v)
	}
	i := e.add(7, 8, 9)
	if i != 1<<chunkBits || *e.at(i) != 7 || *e.at(i + 2) != 9 {
		t.Fatalf("a run across a chunk's end at %d: %d %d", i, *e.at(i), *e.at(i + 2))
	}
}
