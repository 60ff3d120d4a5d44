// Package idsort sorts large lists of ids (GUID strings) quickly: each
// id's first eight bytes are compared as an integer kept beside its index,
// and the ids themselves only where those tie. At a million ids scattered
// over the heap, comparing the strings costs a cache miss each; the
// directory index and the engine's member lists sort that many.
package idsort

import (
	"cmp"
	"slices"
	"strings"
)

// By returns list in the byte order of id(element) (ids are unique), list
// itself when it is in that order already, else a new slice.
func By[T any](list []T, id func(T) string) []T {
	return Func(list, id, func(a, b T) int { return strings.Compare(id(a), id(b)) })
}

// Func returns list in the order of compare, list itself when it is in
// that order already, else a new slice. compare must order by the bytes of
// key(element) first (what it does between elements of one key is its
// own): each element's key's first eight bytes are compared as an integer,
// and compare is called only where those tie. Elements compare calls
// equal keep no particular order.
func Func[T any](list []T, key func(T) string, compare func(a, b T) int) []T {
	if slices.IsSortedFunc(list, compare) {
		return list
	}
	es := order(list, key, compare)
	out := make([]T, len(list))
	for j, e := range es {
		out[j] = list[e.i]
	}
	return out
}

// SortFunc sorts list in place as Func orders it: the same comparisons,
// and no copy of the list (the order is applied by following its cycles),
// for a caller that does not need the list as it was.
func SortFunc[T any](list []T, key func(T) string, compare func(a, b T) int) {
	if slices.IsSortedFunc(list, compare) {
		return
	}
	es := order(list, key, compare)
	for j := range es {
		if es[j].i < 0 || es[j].i == j {
			continue
		}
		// The cycle through j: position k takes the element at es[k].i,
		// until the cycle comes back to j, whose element was kept aside.
		first := list[j]
		for k := j; ; {
			src := es[k].i
			es[k].i = -1
			if src == j {
				list[k] = first
				break
			}
			list[k] = list[src]
			k = src
		}
	}
}

// entry is an element's first eight key bytes and its index in the list.
type entry struct {
	head uint64
	i    int
}

// order returns the list's indexes in compare's order, with their heads.
// The heads are the eight bytes after the prefix every key shares: keys
// such as UPNs or display names often share one ("user…"), and heads
// taken from it would tie, leaving most comparisons to compare.
func order[T any](list []T, key func(T) string, compare func(a, b T) int) []entry {
	es := make([]entry, len(list))
	shared := sharedPrefix(list, key)
	for i, x := range list {
		es[i] = entry{head8(key(x)[shared:]), i}
	}
	slices.SortFunc(es, func(a, b entry) int {
		if a.head != b.head {
			return cmp.Compare(a.head, b.head)
		}
		return compare(list[a.i], list[b.i])
	})
	return es
}

// sharedPrefix is the length of the prefix every element's key shares.
func sharedPrefix[T any](list []T, key func(T) string) int {
	if len(list) == 0 {
		return 0
	}
	first := key(list[0])
	n := len(first)
	for _, x := range list[1:] {
		k := key(x)
		i := 0
		for i < n && i < len(k) && k[i] == first[i] {
			i++
		}
		if n = i; n == 0 {
			break
		}
	}
	return n
}

// Strings sorts ids in place in byte order (as sort.Strings does).
func Strings(ids []string) {
	if len(ids) < 64 {
		slices.Sort(ids)
		return
	}
	SortFunc(ids, func(s string) string { return s }, strings.Compare)
}

// head8 is s's first eight bytes as a big-endian integer, zero-padded: a
// smaller head8 means a smaller string (where two heads differ, the first
// byte that differs is a byte of the larger string, and the smaller's is
// smaller or its string has ended there); equal heads decide nothing.
func head8(s string) uint64 {
	var h uint64
	for j := range 8 {
		h <<= 8
		if j < len(s) {
			h |= uint64(s[j])
		}
	}
	return h
}
