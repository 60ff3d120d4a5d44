// Package blocks hands out parts of large blocks, so that a million small
// records or strings made together are a few thousand allocations for the
// allocator and the collector instead of a million objects. A block is
// freed once nothing handed out of it is left.
package blocks

import "unsafe"

// Carve hands out the next n elements of *block (its length is what was
// handed out), starting a new block of size elements when it has no room;
// the part's capacity is n, so an append to it copies it out.
func Carve[T any](block *[]T, n, size int) []T {
	b := *block
	if len(b)+n > cap(b) {
		b = make([]T, 0, max(size, n))
	}
	k := len(b)
	b = b[:k+n]
	*block = b
	return b[k : k+n : k+n]
}

// TextSize is the size of a block of texts (Text).
const TextSize = 64 << 10

// Text returns a copy of s, carved from *block when block is not nil and
// s is at most a quarter of TextSize, else a copy of its own. Either way
// the copy shares no memory with s: a string kept from a buffer that
// holds much more (a snapshot part, a record's body) holds a small share
// of a block instead, and a block's bytes never change once handed out.
func Text[S ~string | ~[]byte](block *[]byte, s S) string {
	if len(s) == 0 {
		return ""
	}
	var t []byte
	if block != nil && len(s) <= TextSize/4 {
		t = Carve(block, len(s), TextSize)
	} else {
		t = make([]byte, len(s))
	}
	copy(t, s)
	return unsafe.String(&t[0], len(t))
}
