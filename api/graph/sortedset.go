package graph

import "sort"

// key orders directory objects in a listing: by K (a lower-cased property,
// or the id itself), then by ID. Keyset paging resumes after a key, so a
// page boundary stays put whatever is inserted or deleted meanwhile.
type key struct{ K, ID string }

func (a key) less(b key) bool {
	if a.K != b.K {
		return a.K < b.K
	}
	return a.ID < b.ID
}

// sortedSet is an ordered set of keys kept in chunks of at most 2*load
// keys, so that inserts and deletes stay cheap at millions of keys
// (O(log n) to find, O(load) to move) and iteration is a walk over arrays.
type sortedSet struct {
	chunks [][]key
	n      int
}

const load = 512

// newSortedSet builds a set from keys (any order; duplicates removed).
func newSortedSet(keys []key) *sortedSet {
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
	s := &sortedSet{}
	var prev *key
	cur := make([]key, 0, load)
	for i := range keys {
		if prev != nil && *prev == keys[i] {
			continue
		}
		prev = &keys[i]
		cur = append(cur, keys[i])
		s.n++
		if len(cur) == load {
			s.chunks = append(s.chunks, cur)
			cur = make([]key, 0, load)
		}
	}
	if len(cur) > 0 {
		s.chunks = append(s.chunks, cur)
	}
	return s
}

// Len is the number of keys.
func (s *sortedSet) Len() int { return s.n }

// chunkFor returns the index of the chunk where k belongs.
func (s *sortedSet) chunkFor(k key) int {
	i := sort.Search(len(s.chunks), func(i int) bool {
		c := s.chunks[i]
		return !c[len(c)-1].less(k) // last >= k
	})
	if i == len(s.chunks) && i > 0 {
		i--
	}
	return i
}

// Insert adds k (no-op if present).
func (s *sortedSet) Insert(k key) {
	if len(s.chunks) == 0 {
		s.chunks = [][]key{{k}}
		s.n = 1
		return
	}
	ci := s.chunkFor(k)
	c := s.chunks[ci]
	j := sort.Search(len(c), func(j int) bool { return !c[j].less(k) })
	if j < len(c) && c[j] == k {
		return
	}
	c = append(c, key{})
	copy(c[j+1:], c[j:])
	c[j] = k
	s.n++
	if len(c) > 2*load {
		half := append([]key(nil), c[load:]...)
		c = c[:load:load]
		s.chunks = append(s.chunks, nil)
		copy(s.chunks[ci+2:], s.chunks[ci+1:])
		s.chunks[ci+1] = half
	}
	s.chunks[ci] = c
}

// Delete removes k (no-op if absent).
func (s *sortedSet) Delete(k key) {
	if len(s.chunks) == 0 {
		return
	}
	ci := s.chunkFor(k)
	c := s.chunks[ci]
	j := sort.Search(len(c), func(j int) bool { return !c[j].less(k) })
	if j == len(c) || c[j] != k {
		return
	}
	copy(c[j:], c[j+1:])
	c = c[:len(c)-1]
	s.n--
	if len(c) == 0 {
		s.chunks = append(s.chunks[:ci], s.chunks[ci+1:]...)
		return
	}
	s.chunks[ci] = c
}

// Ascend calls fn for keys > after (or all keys when after is nil) in
// order until fn returns false.
func (s *sortedSet) Ascend(after *key, fn func(k key) bool) {
	ci, j := 0, 0
	if after != nil {
		ci = sort.Search(len(s.chunks), func(i int) bool {
			c := s.chunks[i]
			return after.less(c[len(c)-1])
		})
		if ci == len(s.chunks) {
			return
		}
		c := s.chunks[ci]
		j = sort.Search(len(c), func(j int) bool { return after.less(c[j]) })
	}
	for ; ci < len(s.chunks); ci++ {
		c := s.chunks[ci]
		for ; j < len(c); j++ {
			if !fn(c[j]) {
				return
			}
		}
		j = 0
	}
}

// Descend calls fn for keys < before (or all keys when before is nil) in
// reverse order until fn returns false.
func (s *sortedSet) Descend(before *key, fn func(k key) bool) {
	ci := len(s.chunks) - 1
	if ci < 0 {
		return
	}
	j := len(s.chunks[ci]) - 1
	if before != nil {
		i := sort.Search(len(s.chunks), func(i int) bool {
			c := s.chunks[i]
			return !c[len(c)-1].less(*before)
		})
		if i < len(s.chunks) {
			c := s.chunks[i]
			last := sort.Search(len(c), func(j int) bool { return !c[j].less(*before) }) - 1
			if last >= 0 {
				ci, j = i, last
			} else {
				ci = i - 1
				if ci < 0 {
					return
				}
				j = len(s.chunks[ci]) - 1
			}
		}
	}
	for ci >= 0 {
		c := s.chunks[ci]
		for ; j >= 0; j-- {
			if !fn(c[j]) {
				return
			}
		}
		ci--
		if ci >= 0 {
			j = len(s.chunks[ci]) - 1
		}
	}
}
