package graph

import (
	"strings"

	"allot/directory"
)

// key orders Graph listings (directory.Key): keyset paging resumes after one.
type key = directory.Key

// prefixRange is the range of a startswith(property, prefix) condition in
// the order by that property.
func prefixRange[T any](od orderDef[T], x *directory.Index, prefix string) *directory.Range {
	set, prefix := od.set(x), strings.ToLower(prefix)
	return &directory.Range{Scans: []directory.Scan{directory.PrefixScan(set, prefix)}, Len: set.CountPrefix(prefix), Order: od.name}
}
