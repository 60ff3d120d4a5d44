package web

import "allot/internal/sortedset"

// The admin center's listings are keyset-paged over sortedset.Set.
type (
	key       = sortedset.Key
	sortedSet = sortedset.Set
)

var (
	newSortedSet = sortedset.New
	cmpKey       = sortedset.Compare
	scanSlice    = sortedset.ScanSlice
	prefixEnd    = sortedset.PrefixEnd
)
