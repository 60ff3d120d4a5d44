package web

import (
	"slices"
	"sort"
	"strings"
)

// key orders the objects of a listing: by K (a lower-cased property such as
// the userPrincipalName), then by ID. Pages resume after or before a key
// (keyset paging), so a page boundary stays put whatever is inserted or
// deleted meanwhile.
type key struct{ K, ID string }

func (a key) less(b key) bool {
	if a.K != b.K {
		return a.K < b.K
	}
	return a.ID < b.ID
}

func cmpKey(a, b key) int {
	if c := strings.Compare(a.K, b.K); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// sortedSet is an ordered set of keys kept in chunks of at most 2*chunkLoad
// keys, so that inserts and deletes stay cheap at millions of keys (a binary
// search over chunks, then a move within one chunk) and scans are walks
// over arrays.
type sortedSet struct {
	chunks [][]key
	n      int
}

const chunkLoad = 512

// newSortedSet builds a set from keys (any order, duplicates removed). It
// sorts keys in place (unless they are sorted already) and keeps them.
func newSortedSet(keys []key) *sortedSet {
	if !slices.IsSortedFunc(keys, cmpKey) {
		slices.SortFunc(keys, cmpKey)
	}
	keys = slices.Compact(keys)
	s := &sortedSet{n: len(keys)}
	for len(keys) > 0 {
		n := min(chunkLoad, len(keys))
		s.chunks = append(s.chunks, slices.Clip(keys[:n]))
		keys = keys[n:]
	}
	return s
}

// Len is the number of keys.
func (s *sortedSet) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// chunkFor returns the index of the first chunk whose last key is ≥ k
// (len(chunks) when k is past the end).
func (s *sortedSet) chunkFor(k key) int {
	return sort.Search(len(s.chunks), func(i int) bool {
		c := s.chunks[i]
		return !c[len(c)-1].less(k)
	})
}

// Insert adds k; it reports whether k was new.
func (s *sortedSet) Insert(k key) bool {
	if len(s.chunks) == 0 {
		s.chunks = [][]key{{k}}
		s.n = 1
		return true
	}
	ci := min(s.chunkFor(k), len(s.chunks)-1)
	c := s.chunks[ci]
	i, found := slices.BinarySearchFunc(c, k, cmpKey)
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
func (s *sortedSet) Delete(k key) bool {
	if s == nil || len(s.chunks) == 0 {
		return false
	}
	ci := s.chunkFor(k)
	if ci == len(s.chunks) {
		return false
	}
	c := s.chunks[ci]
	i, found := slices.BinarySearchFunc(c, k, cmpKey)
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

// rank returns the number of keys less than k.
func (s *sortedSet) rank(k key) int {
	if s == nil {
		return 0
	}
	ci := s.chunkFor(k)
	r := 0
	for _, c := range s.chunks[:ci] {
		r += len(c)
	}
	if ci < len(s.chunks) {
		i, _ := slices.BinarySearchFunc(s.chunks[ci], k, cmpKey)
		r += i
	}
	return r
}

// CountPrefix returns the number of keys whose K starts with prefix.
func (s *sortedSet) CountPrefix(prefix string) int {
	return s.rank(key{K: prefixEnd(prefix)}) - s.rank(key{K: prefix})
}

// prefixEnd returns the smallest string greater than every string that
// starts with prefix.
func prefixEnd(prefix string) string { return prefix + "\U0010FFFF\U0010FFFF" }

// Scan calls fn with the keys after from (or from the first key when from
// is nil) in ascending order, or with the keys before from (or from the
// last key) in descending order when backward, until fn returns false.
// from itself is never passed. The set must not change during the scan.
func (s *sortedSet) Scan(from *key, backward bool, fn func(key) bool) {
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
			i, found = slices.BinarySearchFunc(s.chunks[ci], *from, cmpKey)
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
		j, _ := slices.BinarySearchFunc(s.chunks[ci], *from, cmpKey)
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

// scanSlice is Scan over a sorted slice of keys.
func scanSlice(ks []key, from *key, backward bool, fn func(key) bool) {
	if !backward {
		i := 0
		if from != nil {
			var found bool
			i, found = slices.BinarySearchFunc(ks, *from, cmpKey)
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
		j, _ := slices.BinarySearchFunc(ks, *from, cmpKey)
		i = j - 1
	}
	for ; i >= 0; i-- {
		if !fn(ks[i]) {
			return
		}
	}
}
