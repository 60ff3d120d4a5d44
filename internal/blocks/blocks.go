// Package blocks hands out parts of large blocks, so that a million small
// records or strings made together are a few thousand allocations for the
// allocator and the collector instead of a million objects. A block is
// freed once nothing handed out of it is left.
package blocks

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

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

// Lower returns strings.ToLower(s): s itself when it has no upper-case
// letter; else, for ASCII, a lower-cased copy carved from *block as Text
// carves; else strings.ToLower's copy of its own. A million keys lowered
// for an index (a user's display name, mail) are then a few hundred
// blocks, not a million strings for the collector to mark.
func Lower(block *[]byte, s string) string {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
		upper = upper || 'A' <= c && c <= 'Z'
	}
	if !upper {
		return s
	}
	if len(s) > TextSize/4 {
		return strings.ToLower(s)
	}
	t := Carve(block, len(s), TextSize)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return unsafe.String(&t[0], len(t))
}
