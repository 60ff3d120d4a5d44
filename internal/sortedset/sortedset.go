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
//
// A set whose keys are all ids (Key{K: id}, ID empty: the sets ordered by
// id) holds only the K strings, half the memory; it is made by FromIDs or
// NewIDs, or is a zero Set that has only had such keys inserted. The first
// key with an ID turns it into a set of whole keys, at the cost of one
// copy; either way the set answers the same.
type Set struct {
	keys  chunks[Key, keyOrder]
	ids   chunks[string, idOrder]
	keyed bool // keys holds the set; else ids does
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

// NewIDs is New for the keys Key{K: id} of ids.
func NewIDs(ids []string) *Set {
	if len(ids) >= prefixSortMin {
		idsort.SortFunc(ids, func(id string) string { return id }, strings.Compare)
	} else if !slices.IsSorted(ids) {
		slices.Sort(ids)
	}
	return FromIDs(slices.Compact(ids))
}

// prefixSortMin is the length from which New sorts by key prefixes.
const prefixSortMin = 4096

// FromSorted builds a set from keys that are in Compare's order without
// duplicates, unchecked (New checks and sorts): for a caller that built
// them in order. It keeps the slice: the caller must not use it
// afterwards.
func FromSorted(keys []Key) *Set {
	return &Set{keys: fromSorted[Key, keyOrder](keys), keyed: true}
}

// FromIDs is FromSorted for the keys Key{K: id} of ids, which are sorted
// and unique (unchecked). It keeps the slice, in windows without spare
// capacity (an insert copies a window out; a delete shifts it in place):
// the caller must not use it afterwards.
func FromIDs(ids []string) *Set {
	return &Set{ids: fromSorted[string, idOrder](ids)}
}

// Len is the number of keys.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.keys.n + s.ids.n
}

// Insert adds k; it reports whether k was new.
func (s *Set) Insert(k Key) bool {
	if !s.keyed && k.ID != "" {
		s.promote()
	}
	if s.keyed {
		return s.keys.insert(k)
	}
	return s.ids.insert(k)
}

// promote turns a set of ids into a set of whole keys.
func (s *Set) promote() {
	keys := make([]Key, 0, s.ids.n)
	for _, c := range s.ids.c {
		for _, id := range c {
			keys = append(keys, Key{K: id})
		}
	}
	s.keys, s.ids, s.keyed = fromSorted[Key, keyOrder](keys), chunks[string, idOrder]{}, true
}

// Delete removes k; it reports whether k was present.
func (s *Set) Delete(k Key) bool {
	if s == nil {
		return false
	}
	if s.keyed {
		return s.keys.delete(k)
	}
	return s.ids.delete(k)
}

// Has reports whether k is in the set.
func (s *Set) Has(k Key) bool {
	if s == nil {
		return false
	}
	if s.keyed {
		return s.keys.has(k)
	}
	return s.ids.has(k)
}

// Rank returns the number of keys less than k.
func (s *Set) Rank(k Key) int {
	if s == nil {
		return 0
	}
	if s.keyed {
		return s.keys.rank(k)
	}
	return s.ids.rank(k)
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
	if s == nil {
		return
	}
	if s.keyed {
		s.keys.scan(from, backward, fn)
	} else {
		s.ids.scan(from, backward, fn)
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
	scanSlice[Key, keyOrder](ks, from, backward, fn)
}

// order is how a set's elements E stand for keys: key is the key of an
// element, cmp compares an element with a key (Compare's order), of is
// the element of a key (one of E's keys).
type order[E any] interface {
	key(E) Key
	cmp(E, Key) int
	of(Key) E
}

// keyOrder: the elements are the keys.
type keyOrder struct{}

func (keyOrder) key(k Key) Key        { return k }
func (keyOrder) cmp(a Key, b Key) int { return Compare(a, b) }
func (keyOrder) of(k Key) Key         { return k }

// idOrder: an element is the K of a key whose ID is empty.
type idOrder struct{}

func (idOrder) key(id string) Key { return Key{K: id} }
func (idOrder) cmp(id string, k Key) int {
	if c := strings.Compare(id, k.K); c != 0 {
		return c
	}
	if k.ID != "" {
		return -1 // (id, "") orders before (id, any other ID)
	}
	return 0
}
func (idOrder) of(k Key) string { return k.K }

// chunks is the ordered elements of a set, in chunks.
type chunks[E any, O order[E]] struct {
	c [][]E
	n int
}

func fromSorted[E any, O order[E]](es []E) chunks[E, O] {
	s := chunks[E, O]{n: len(es)}
	for len(es) > 0 {
		n := min(chunkLoad, len(es))
		s.c = append(s.c, slices.Clip(es[:n]))
		es = es[n:]
	}
	return s
}

// search is the place of k in the sorted elements es, and whether it is
// there.
func search[E any, O order[E]](es []E, k Key) (int, bool) {
	var o O
	return slices.BinarySearchFunc(es, k, o.cmp)
}

// chunkFor returns the index of the first chunk whose last key is ≥ k
// (len(c) when k is past the end).
func (s *chunks[E, O]) chunkFor(k Key) int {
	var o O
	return sort.Search(len(s.c), func(i int) bool {
		c := s.c[i]
		return o.cmp(c[len(c)-1], k) >= 0
	})
}

func (s *chunks[E, O]) insert(k Key) bool {
	var o O
	if len(s.c) == 0 {
		s.c = [][]E{{o.of(k)}}
		s.n = 1
		return true
	}
	ci := min(s.chunkFor(k), len(s.c)-1)
	c := s.c[ci]
	i, found := search[E, O](c, k)
	if found {
		return false
	}
	c = slices.Insert(c, i, o.of(k))
	if len(c) > 2*chunkLoad {
		half := len(c) / 2
		right := slices.Clone(c[half:])
		c = slices.Clip(c[:half])
		s.c = slices.Insert(s.c, ci+1, right)
	}
	s.c[ci] = c
	s.n++
	return true
}

func (s *chunks[E, O]) delete(k Key) bool {
	if len(s.c) == 0 {
		return false
	}
	ci := s.chunkFor(k)
	if ci == len(s.c) {
		return false
	}
	c := s.c[ci]
	i, found := search[E, O](c, k)
	if !found {
		return false
	}
	c = slices.Delete(c, i, i+1)
	if len(c) == 0 {
		s.c = slices.Delete(s.c, ci, ci+1)
	} else {
		s.c[ci] = c
	}
	s.n--
	return true
}

func (s *chunks[E, O]) has(k Key) bool {
	ci := s.chunkFor(k)
	if ci == len(s.c) {
		return false
	}
	_, found := search[E, O](s.c[ci], k)
	return found
}

func (s *chunks[E, O]) rank(k Key) int {
	ci := s.chunkFor(k)
	r := 0
	for _, c := range s.c[:ci] {
		r += len(c)
	}
	if ci < len(s.c) {
		i, _ := search[E, O](s.c[ci], k)
		r += i
	}
	return r
}

func (s *chunks[E, O]) scan(from *Key, backward bool, fn func(Key) bool) {
	if len(s.c) == 0 {
		return
	}
	var o O
	if !backward {
		ci, i := 0, 0
		if from != nil {
			ci = s.chunkFor(*from)
			if ci == len(s.c) {
				return
			}
			var found bool
			i, found = search[E, O](s.c[ci], *from)
			if found {
				i++
			}
		}
		for ; ci < len(s.c); ci, i = ci+1, 0 {
			for _, e := range s.c[ci][i:] {
				if !fn(o.key(e)) {
					return
				}
			}
		}
		return
	}
	ci, i := len(s.c)-1, len(s.c[len(s.c)-1])-1
	if from != nil {
		ci = min(s.chunkFor(*from), len(s.c)-1)
		j, _ := search[E, O](s.c[ci], *from)
		i = j - 1 // the last key < from
	}
	for ci >= 0 {
		c := s.c[ci]
		for ; i >= 0; i-- {
			if !fn(o.key(c[i])) {
				return
			}
		}
		ci--
		if ci >= 0 {
			i = len(s.c[ci]) - 1
		}
	}
}

func scanSlice[E any, O order[E]](es []E, from *Key, backward bool, fn func(Key) bool) {
	var o O
	if !backward {
		i := 0
		if from != nil {
			var found bool
			i, found = search[E, O](es, *from)
			if found {
				i++
			}
		}
		for _, e := range es[i:] {
			if !fn(o.key(e)) {
				return
			}
		}
		return
	}
	i := len(es) - 1
	if from != nil {
		j, _ := search[E, O](es, *from)
		i = j - 1
	}
	for ; i >= 0; i-- {
		if !fn(o.key(es[i])) {
			return
		}
	}
}
