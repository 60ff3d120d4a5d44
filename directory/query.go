package directory

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"allot/internal/sortedset"
	"allot/internal/token64"
)

// MaxCollect is the planner's one size limit: a candidate range of at most
// this many keys is collected, filtered and sorted for each page (a few
// milliseconds); a larger one is not — the listing walks an ordered set
// instead, checking the conditions as it goes. A condition that matches
// more than this many objects matches densely enough in a directory (a
// product, a department, a state, a name prefix) that a page is a short
// walk.
const MaxCollect = 50_000

// maxCollect is MaxCollect, lowered by tests (SetMaxCollect) to take the
// walking paths on small tenants.
var maxCollect = MaxCollect

// SetMaxCollect changes the size limit until restore is called. For
// tests only: it is a process global.
func SetMaxCollect(n int) (restore func()) {
	old := maxCollect
	maxCollect = n
	return func() { maxCollect = old }
}

// Scan walks an ordered sequence of keys from a cursor, exclusive, forward
// or backward, until fn returns false (sortedset.Set.Scan's contract).
type Scan func(from *Key, backward bool, fn func(Key) bool)

// ScanOf is the scan of a set (nil: empty).
func ScanOf(s *Set) Scan { return s.Scan }

// PrefixScan walks the keys of a set whose K starts with prefix (all of
// them when prefix is empty).
func PrefixScan(set *Set, prefix string) Scan {
	if prefix == "" {
		return set.Scan
	}
	lo, hi := Key{K: prefix}, Key{K: sortedset.PrefixEnd(prefix)}
	return func(from *Key, backward bool, fn func(Key) bool) {
		if from == nil {
			from = &lo
			if backward {
				from = &hi
			}
		}
		set.Scan(from, backward, func(k Key) bool {
			if !strings.HasPrefix(k.K, prefix) {
				return false // past either end of the range
			}
			return fn(k)
		})
	}
}

// Order is a listing order: Set holds every listable object once, and
// KeyOf gives an object's key in it (for collected candidates).
type Order struct {
	Name  string // in cursors: a cursor of another order is refused
	Set   *Set
	KeyOf func(id string) Key
}

// A Range holds every object that can match one condition of a query
// (a superset: the query's Match decides): a point lookup (IDs), or the
// union of ordered walks (Scans).
type Range struct {
	IDs   []string // a point lookup (some ids may not exist); non-nil wins over everything
	Scans []Scan
	// Has[i] reports whether an id is in Scans[i], for i < len(Scans)-1:
	// counting a union counts an id only in the first walk that has it.
	Has []func(id string) bool
	Len int // the keys the walks hold (an upper bound of the objects)
	// Order names the listing order of the keys of a single walk ("" when
	// they follow none).
	Order string
	// Exact: the range holds exactly the matches of the whole query (it
	// is its only condition), so they need no Match and Len counts them.
	Exact bool
}

// RangeOf is the range of one set.
func RangeOf(s *Set, order string) Range {
	return Range{Scans: []Scan{s.Scan}, Len: s.Len(), Order: order}
}

// Query is a listing: the objects of Order that Match accepts, in that
// order (descending when Desc), the page after After or before Before
// (at most one; neither: the first page), at most Limit of them.
type Query struct {
	Order         Order
	Desc          bool
	After, Before *Key
	Limit         int
	// Ranges each hold every match (optional: they make the query fast).
	Ranges []Range
	// Match is the whole condition; nil: every object of the order.
	Match func(id string) bool
}

// Page is one page of a listing.
type Page struct {
	Keys []Key
	// Prev and Next are the keys to page from (Query.Before = Prev,
	// Query.After = Next); nil when there is no such page.
	Prev, Next *Key
	// Total is the number of matches (List with count; else -1).
	Total int
}

// List runs a query: it picks a strategy (plan), takes the page, and
// counts every match when count is set.
func (x *Index) List(q Query, count bool) Page {
	best := q.best()
	switch st := q.plan(best); st.how {
	case collect:
		ks := q.collect(best)
		p := paginate(func(from *Key, backward bool, fn func(Key) bool) { sortedset.ScanSlice(ks, from, backward, fn) }, q, nil)
		p.Total = len(ks)
		return p
	default:
		keep := q.Match
		if st.r != nil && st.r.Exact {
			keep = nil // the range's keys are the matches
		}
		scan := st.scan
		if scan == nil {
			scan = q.Order.Set.Scan
		}
		p := paginate(scan, q, keep)
		p.Total = -1
		if count {
			p.Total = x.countMatches(q, best)
		}
		return p
	}
}

// Count is the number of matches of a query.
func (x *Index) Count(q Query) int {
	best := q.best()
	if q.plan(best).how == collect {
		return len(q.collect(best))
	}
	return x.countMatches(q, best)
}

type how int

const (
	walk    how = iota // walk scan (nil: the order's set) with the query's Match
	collect            // collect best, filter, sort
)

type strategy struct {
	how  how
	scan Scan   // walk: the walk (nil: the order's set)
	r    *Range // walk: the range scan belongs to (nil: the order)
}

// best is the range to start from: a point lookup, else the smallest.
func (q *Query) best() *Range {
	var best *Range
	for i := range q.Ranges {
		r := &q.Ranges[i]
		if r.IDs != nil {
			return r
		}
		if best == nil || r.Len < best.Len {
			best = r
		}
	}
	return best
}

// plan picks how to take a page: walk a range that is in the listing
// order, or collect a small range, or walk the listing order.
func (q *Query) plan(best *Range) strategy {
	switch {
	case best == nil:
		return strategy{how: walk}
	case best.IDs != nil:
		return strategy{how: collect}
	case best.Order == q.Order.Name && len(best.Scans) == 1:
		return strategy{how: walk, scan: best.Scans[0], r: best}
	case best.Len <= maxCollect:
		return strategy{how: collect}
	}
	for i := range q.Ranges {
		if r := &q.Ranges[i]; r.Order == q.Order.Name && len(r.Scans) == 1 {
			return strategy{how: walk, scan: r.Scans[0], r: r}
		}
	}
	return strategy{how: walk}
}

// collect returns the keys, in the listing order (ascending), of the
// matches in a range.
func (q *Query) collect(r *Range) []Key {
	ids := r.IDs
	if ids == nil {
		for _, scan := range r.Scans {
			scan(nil, false, func(k Key) bool { ids = append(ids, IDOf(k)); return true })
		}
	} else {
		ids = slices.Clone(ids)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ks := make([]Key, 0, len(ids))
	for _, id := range ids {
		if q.Match == nil && r.IDs != nil && !q.Order.Set.Has(q.Order.KeyOf(id)) {
			continue // a point lookup of an id that does not exist
		}
		if q.Match != nil && !q.Match(id) {
			continue
		}
		ks = append(ks, q.Order.KeyOf(id))
	}
	slices.SortFunc(ks, sortedset.Compare)
	return ks
}

// countMatches counts the matches of a query that is walked, not collected.
func (x *Index) countMatches(q Query, best *Range) int {
	switch {
	case best == nil && q.Match == nil:
		return q.Order.Set.Len()
	case best == nil:
		return countScan(q.Order.Set.Scan, q.Match)
	case best.Exact:
		return best.Len
	}
	n := 0
	for i, scan := range best.Scans {
		earlier := best.Has[:i]
		n += countScan(scan, func(id string) bool {
			for _, has := range earlier {
				if has(id) {
					return false // counted in an earlier walk
				}
			}
			return q.Match == nil || q.Match(id)
		})
	}
	return n
}

func countScan(scan Scan, keep func(id string) bool) int {
	n := 0
	scan(nil, false, func(k Key) bool {
		if keep(IDOf(k)) {
			n++
		}
		return true
	})
	return n
}

// paginate takes the page of a scan's keys that pass keep (nil: all), in
// the query's direction, after q.After or before q.Before.
func paginate(scan Scan, q Query, keep func(id string) bool) Page {
	var p Page
	take := func(from *Key, backward bool) (ks []Key, more bool) {
		scan(from, backward, func(k Key) bool {
			if keep != nil && !keep(IDOf(k)) {
				return true
			}
			if len(ks) == q.Limit {
				more = true
				return false
			}
			ks = append(ks, k)
			return true
		})
		return ks, more
	}
	if q.Before != nil {
		// Walk against the listing direction from the cursor, then turn round.
		ks, more := take(q.Before, !q.Desc)
		slices.Reverse(ks)
		p.Keys = ks
		if len(ks) > 0 {
			if more {
				p.Prev = &ks[0]
			}
			p.Next = &ks[len(ks)-1]
		}
		return p
	}
	ks, more := take(q.After, q.Desc)
	p.Keys = ks
	if more {
		p.Next = &ks[len(ks)-1]
	}
	if q.After != nil && len(ks) > 0 {
		p.Prev = &ks[0]
	}
	return p
}

// totalsSize bounds the totals the index remembers between commits.
const totalsSize = 256

// CachedTotal returns the total called key, computing it with compute
// unless it was computed since the last commit (Update forgets them all).
// The key must name everything the total depends on.
func (x *Index) CachedTotal(key string, compute func() int) int {
	x.mu.Lock()
	n, ok := x.totals[key]
	x.mu.Unlock()
	if ok {
		return n
	}
	n = compute()
	x.mu.Lock()
	if len(x.totals) >= totalsSize {
		clear(x.totals)
	}
	x.totals[key] = n
	x.mu.Unlock()
	return n
}

// Cursor is the one cursor format of every listing (Graph's $skiptoken,
// the admin center's after/before): the listing order and direction, and
// the key to resume from. Resuming from a key (keyset paging) never skips
// or repeats an object that stayed in place, whatever was added or
// removed meanwhile.
type Cursor struct {
	Order string `json:"o"`
	Desc  bool   `json:"d,omitempty"`
	K     string `json:"k"`
	ID    string `json:"i,omitempty"`
}

// CursorAt is the cursor of a key of a listing.
func CursorAt(order string, desc bool, k Key) Cursor {
	return Cursor{Order: order, Desc: desc, K: k.K, ID: k.ID}
}

// Key is the key the cursor resumes from.
func (c Cursor) Key() *Key { return &Key{K: c.K, ID: c.ID} }

// String encodes the cursor for a URL (base64url of its JSON).
func (c Cursor) String() string {
	b, _ := json.Marshal(c)
	return token64.Encode(b)
}

// ErrCursor is a cursor that is not one String made.
var ErrCursor = errors.New("directory: malformed cursor")

// ParseCursor decodes a cursor made by String.
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	b, err := token64.Decode(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return Cursor{}, ErrCursor
	}
	return c, nil
}
