// Package sortedset is an ordered set of listing keys — a sort property
// and an id — for keyset paging over millions of objects: inserts and
// deletes stay cheap, and a page is a seek plus a walk over arrays. The
// directory read model (package directory), which the Graph API and the
// admin center list from, keeps its sets in it.
//
// A Set is not safe for concurrent change; the indexes that hold sets
// change them under the tenant's write lock and read them under its read
// lock.
package sortedset

import (
	"slices"

	"allot/internal/idsort"
	"sort"
	"strings"
)

// Key orders the objects of a listing: by K (a lower-cased property such
// as the userPrincipalName, or the id itself), then by ID. Pages resume
// after or before a key (keyset paging), so a page boundary stays put
// whatever is inserted or deleted meanwhile.
type Key struct{ K, ID string }

// Less reports whether a orders before b.
func (a Key) Less(b Key) bool {
	if a.K != b.K {
		return a.K < b.K
	}
	return a.ID < b.ID
}

// Compare returns -1, 0 or +1 as a orders before, equal to or after b.
func Compare(a, b Key) int {
	if c := strings.Compare(a.K, b.K); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// Set is an ordered set of keys kept in chunks of at most 2*chunkLoad
// keys: a binary search over chunks, then one within a chunk, finds a key;
// an insert or delete moves at most a chunk; scans walk arrays. The zero
// value and nil are empty sets (nil only for reading).
type Set struct {
	chunks [][]Key
	n      int
}

const chunkLoad = 512

// New builds a set from keys (any order, duplicates removed). It sorts
// keys in place (unless they are sorted already) and keeps them: the
// caller must not use the slice afterwards.
func New(keys []Key) *Set {
	if len(keys) >= prefixSortMin {
		// A large list is sorted by the first bytes of K (after the
		// prefix all share) held beside each key (idsort): at a million
		// keys scattered over the heap, every string comparison is a
		// cache miss.
		idsort.SortFunc(keys, func(k Key) string { return k.K }, Compare)
		return FromSorted(slices.Compact(keys))
	}
	if !slices.IsSortedFunc(keys, Compare) {
		slices.SortFunc(keys, Compare)
	}
	return FromSorted(slices.Compact(keys))
}

// prefixSortMin is the length from which New sorts by key prefixes.
const prefixSortMin = 4096

// FromSorted builds a set from keys that are in Compare's order without
// duplicates, unchecked (New checks and sorts): for a caller that built
// them in order. It keeps the slice: the caller must not use it
// afterwards.
func FromSorted(keys []Key) *Set {
	s := &Set{n: len(keys)}
	for len(keys) > 0 {
		n := min(chunkLoad, len(keys))
		s.chunks = append(s.chunks, slices.Clip(keys[:n]))
		keys = keys[n:]
	}
	return s
}

// Len is the number of keys.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// chunkFor returns the index of the first chunk whose last key is ≥ k
// (len(chunks) when k is past the end).
func (s *Set) chunkFor(k Key) int {
	return sort.Search(len(s.chunks), func(i int) bool {
		c := s.chunks[i]
		return !c[len(c)-1].Less(k)
	})
}

// Insert adds k; it reports whether k was new.
func (s *Set) Insert(k Key) bool {
	if len(s.chunks) == 0 {
		s.chunks = [][]Key{{k}}
		s.n = 1
		return true
	}
	ci := min(s.chunkFor(k), len(s.chunks)-1)
	c := s.chunks[ci]
	i, found := slices.BinarySearchFunc(c, k, Compare)
	if found {
		return false
	}
	c = slices.Insert(c, i, k)
	if len(c) > 2*chunkLoad {
		half := len(c) / 2
		right := slices.Clone(c[half:])
		c = slices.Clip(c[:half])
		s.chunks = slices.Insert(s.chunks, ci+1, right)
	}
	s.chunks[ci] = c
	s.n++
	return true
}

// Delete removes k; it reports whether k was present.
func (s *Set) Delete(k Key) bool {
	if s == nil || len(s.chunks) == 0 {
		return false
	}
	ci := s.chunkFor(k)
	if ci == len(s.chunks) {
		return false
	}
	c := s.chunks[ci]
	i, found := slices.BinarySearchFunc(c, k, Compare)
	if !found {
		return false
	}
	c = slices.Delete(c, i, i+1)
	if len(c) == 0 {
		s.chunks = slices.Delete(s.chunks, ci, ci+1)
	} else {
		s.chunks[ci] = c
	}
	s.n--
	return true
}

// Has reports whether k is in the set.
func (s *Set) Has(k Key) bool {
	if s == nil {
		return false
	}
	ci := s.chunkFor(k)
	if ci == len(s.chunks) {
		return false
	}
	_, found := slices.BinarySearchFunc(s.chunks[ci], k, Compare)
	return found
}

// Rank returns the number of keys less than k.
func (s *Set) Rank(k Key) int {
	if s == nil {
		return 0
	}
	ci := s.chunkFor(k)
	r := 0
	for _, c := range s.chunks[:ci] {
		r += len(c)
	}
	if ci < len(s.chunks) {
		i, _ := slices.BinarySearchFunc(s.chunks[ci], k, Compare)
		r += i
	}
	return r
}

// CountPrefix returns the number of keys whose K starts with prefix.
func (s *Set) CountPrefix(prefix string) int {
	return s.Rank(Key{K: PrefixEnd(prefix)}) - s.Rank(Key{K: prefix})
}

// PrefixEnd returns a string greater than every string that starts with
// prefix and less than any other string greater than prefix (for valid
// UTF-8 keys).
func PrefixEnd(prefix string) string { return prefix + "\U0010FFFF\U0010FFFF" }

// Scan calls fn with the keys after from (or from the first key when from
// is nil) in ascending order, or with the keys before from (or from the
// last key) in descending order when backward, until fn returns false.
// from itself is never passed and need not be in the set. The set must
// not change during the scan.
func (s *Set) Scan(from *Key, backward bool, fn func(Key) bool) {
	if s == nil || len(s.chunks) == 0 {
		return
	}
	if !backward {
		ci, i := 0, 0
		if from != nil {
			ci = s.chunkFor(*from)
			if ci == len(s.chunks) {
				return
			}
			var found bool
			i, found = slices.BinarySearchFunc(s.chunks[ci], *from, Compare)
			if found {
				i++
			}
		}
		for ; ci < len(s.chunks); ci, i = ci+1, 0 {
			for _, k := range s.chunks[ci][i:] {
				if !fn(k) {
					return
				}
			}
		}
		return
	}
	ci, i := len(s.chunks)-1, len(s.chunks[len(s.chunks)-1])-1
	if from != nil {
		ci = min(s.chunkFor(*from), len(s.chunks)-1)
		j, _ := slices.BinarySearchFunc(s.chunks[ci], *from, Compare)
		i = j - 1 // the last key < from
	}
	for ci >= 0 {
		c := s.chunks[ci]
		for ; i >= 0; i-- {
			if !fn(c[i]) {
				return
			}
		}
		ci--
		if ci >= 0 {
			i = len(s.chunks[ci]) - 1
		}
	}
}

// Ascend calls fn with the keys after after (all keys when nil) in
// ascending order until fn returns false.
func (s *Set) Ascend(after *Key, fn func(Key) bool) { s.Scan(after, false, fn) }

// Descend calls fn with the keys before before (all keys when nil) in
// descending order until fn returns false.
func (s *Set) Descend(before *Key, fn func(Key) bool) { s.Scan(before, true, fn) }

// ScanSlice is Scan over a sorted slice of keys.
func ScanSlice(ks []Key, from *Key, backward bool, fn func(Key) bool) {
	if !backward {
		i := 0
		if from != nil {
			var found bool
			i, found = slices.BinarySearchFunc(ks, *from, Compare)
			if found {
				i++
			}
		}
		for _, k := range ks[i:] {
			if !fn(k) {
				return
			}
		}
		return
	}
	i := len(ks) - 1
	if from != nil {
		j, _ := slices.BinarySearchFunc(ks, *from, Compare)
		i = j - 1
	}
	for ; i >= 0; i-- {
		if !fn(ks[i]) {
			return
		}
	}
}
