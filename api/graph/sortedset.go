package graph

import "allot/internal/sortedset"

// Graph listings are keyset-paged over sortedset.Set.
type (
	key       = sortedset.Key
	sortedSet = sortedset.Set
)

var newSortedSet = sortedset.New
