package web

import (
	"encoding/base64"
	"slices"
	"strings"
	"time"
)

// page is one page of a keyset-paged listing.
type page struct {
	Keys       []key
	Prev, Next string // cursors ("" when there is no such page)
	Total      int    // -1 when not counted
}

// encodeCursor turns a key into a URL-safe cursor; decodeCursor reverses
// it (nil for a malformed or empty cursor: the first page).
func encodeCursor(k key) string {
	return base64.RawURLEncoding.EncodeToString([]byte(k.K + "\x00" + k.ID))
}

func decodeCursor(s string) *key {
	if s == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	k, id, ok := strings.Cut(string(b), "\x00")
	if !ok {
		return nil
	}
	return &key{K: k, ID: id}
}

// scanFunc walks an ordered sequence of keys (sortedSet.Scan's contract).
type scanFunc func(from *key, backward bool, fn func(key) bool)

// paginate returns the page of keys that pass keep, in ascending order or
// descending when desc, after the cursor after or before the cursor before
// (at most one is set; neither: the first page).
func paginate(scan scanFunc, desc bool, after, before *key, limit int, keep func(key) bool) page {
	var p page
	p.Total = -1
	collect := func(from *key, backward bool) (ks []key, more bool) {
		scan(from, backward, func(k key) bool {
			if keep != nil && !keep(k) {
				return true
			}
			if len(ks) == limit {
				more = true
				return false
			}
			ks = append(ks, k)
			return true
		})
		return ks, more
	}
	if before != nil {
		// Walk against the display order from the cursor, then turn round.
		ks, more := collect(before, !desc)
		slices.Reverse(ks)
		p.Keys = ks
		if more && len(ks) > 0 {
			p.Prev = encodeCursor(ks[0])
		}
		if len(ks) > 0 {
			p.Next = encodeCursor(ks[len(ks)-1])
		}
		return p
	}
	ks, more := collect(after, desc)
	p.Keys = ks
	if more {
		p.Next = encodeCursor(ks[len(ks)-1])
	}
	if after != nil && len(ks) > 0 {
		p.Prev = encodeCursor(ks[0])
	}
	return p
}

// prefixScan walks the keys of a set whose K starts with prefix (all keys
// when prefix is empty).
func prefixScan(set *sortedSet, prefix string) scanFunc {
	if prefix == "" {
		return set.Scan
	}
	lo, hi := key{K: prefix}, key{K: prefixEnd(prefix)}
	return func(from *key, backward bool, fn func(key) bool) {
		if from == nil {
			from = &lo
			if backward {
				from = &hi
			}
		}
		set.Scan(from, backward, func(k key) bool {
			if !strings.HasPrefix(k.K, prefix) {
				return false // past either end of the range
			}
			return fn(k)
		})
	}
}

// userQuery is the users list's search, filters, order and page.
type userQuery struct {
	Q     string // prefix of the userPrincipalName or display name
	SKU   string // skuId: users with a license record of it
	Dept  string // department, any case
	State string // "", "error", "waiting", "idle"
	// Idle reports whether a user had no activity since IdleSince (from
	// usage aggregates, which the index does not hold); set for "idle".
	Idle      func(id string) bool
	IdleSince time.Time
	// Active calls fn with every user (of the usage aggregates: possibly
	// deleted ones too) who had activity since IdleSince, until fn returns
	// false; set for "idle". Counting idle users as the licensed minus the
	// active ones avoids looking up every user.
	Active func(fn func(id string) bool)
	Sort   string // "upn" (default) or "name"
	Desc   bool
	After  *key
	Before *key
	Limit  int
}

// materializeLimit bounds the candidates a query collects and sorts itself;
// larger candidate sets are walked in order with the filters as
// predicates. (A variable so that tests can take both paths.)
var materializeLimit = 50_000

// queryUsers runs a users query on the index. It picks the smallest
// candidate set — a filter's set, or the users whose userPrincipalName or
// name starts with the search — and then:
//   - sorted by userPrincipalName, walks that filter set (every filter set
//     is in that order) and checks the other conditions;
//   - otherwise collects and sorts the candidates when there are at most
//     materializeLimit of them;
//   - otherwise walks all users in the requested order and checks the
//     conditions (every condition then matches a large share of the users,
//     so matches are dense and the walk is short).
//
// Total is exact; counting walks the smallest candidate set once, and the
// count is kept until the next commit, so paging on costs no more.
func (x *dirIndex) queryUsers(q userQuery) page {
	q.Q = strings.ToLower(strings.TrimSpace(q.Q))
	q.Dept = strings.ToLower(strings.TrimSpace(q.Dept))
	var sets []*sortedSet
	if q.SKU != "" {
		sets = append(sets, x.bySKU[q.SKU])
	}
	if q.Dept != "" {
		sets = append(sets, x.byDept[q.Dept])
	}
	switch q.State {
	case "error":
		sets = append(sets, x.errUsers)
	case "waiting":
		sets = append(sets, x.waiting)
	}
	keep := func(id string) bool {
		r := x.users[id]
		if r == nil {
			return false
		}
		if q.Q != "" && !strings.HasPrefix(r.upn, q.Q) && !strings.HasPrefix(r.name, q.Q) {
			return false
		}
		if q.SKU != "" && !slices.Contains(r.skus, q.SKU) {
			return false
		}
		if q.Dept != "" && r.dept != q.Dept {
			return false
		}
		switch q.State {
		case "error":
			return len(r.errSKUs) > 0
		case "waiting":
			return r.waiting
		case "idle":
			return len(r.skus) > 0 && q.Idle != nil && q.Idle(id)
		}
		return true
	}
	keepKey := func(k key) bool { return keep(k.ID) }
	// The smallest candidate set.
	var best *sortedSet
	bestN := x.byUPN.Len()
	for _, s := range sets {
		if s.Len() < bestN {
			best, bestN = s, s.Len()
		}
	}
	byQ := false
	if q.Q != "" {
		if n := x.byUPN.CountPrefix(q.Q) + x.byName.CountPrefix(q.Q); n < bestN {
			best, bestN, byQ = nil, n, true
		}
	}
	// Only one condition, and it is best: its members are the matches.
	single := q.Q == "" && len(sets) == 1 && q.State != "idle"
	if best != nil && q.Sort != "name" {
		var f func(key) bool
		if !single {
			f = keepKey
		}
		p := paginate(best.Scan, q.Desc, q.After, q.Before, q.Limit, f)
		p.Total = x.cachedTotal(q, func() int {
			if single {
				return best.Len()
			}
			if n, ok := x.idleTotal(q, sets); ok {
				return n
			}
			return countKeys(best.Scan, keepKey)
		})
		return p
	}
	if bestN <= materializeLimit && (best != nil || byQ) {
		var ids []string
		add := func(k key) bool {
			if keep(k.ID) {
				ids = append(ids, k.ID)
			}
			return true
		}
		if byQ {
			for _, s := range []*sortedSet{x.byUPN, x.byName} {
				prefixScan(s, q.Q)(nil, false, add)
			}
			slices.Sort(ids)
			ids = slices.Compact(ids)
		} else {
			best.Scan(nil, false, add)
		}
		ks := make([]key, len(ids))
		for i, id := range ids {
			r := x.users[id]
			ks[i] = key{K: r.upn, ID: id}
			if q.Sort == "name" {
				ks[i].K = r.name
			}
		}
		slices.SortFunc(ks, cmpKey)
		scan := func(from *key, backward bool, fn func(key) bool) { scanSlice(ks, from, backward, fn) }
		p := paginate(scan, q.Desc, q.After, q.Before, q.Limit, nil)
		p.Total = len(ks)
		return p
	}
	order := x.byUPN
	if q.Sort == "name" {
		order = x.byName
	}
	if q.Q == "" && len(sets) == 0 && q.State != "idle" {
		p := paginate(order.Scan, q.Desc, q.After, q.Before, q.Limit, nil)
		p.Total = order.Len()
		return p
	}
	p := paginate(order.Scan, q.Desc, q.After, q.Before, q.Limit, keepKey)
	p.Total = x.cachedTotal(q, func() int {
		if n, ok := x.idleTotal(q, sets); ok {
			return n
		}
		switch {
		case single:
			return best.Len()
		case best != nil:
			return countKeys(best.Scan, keepKey)
		case byQ:
			return countKeys(prefixScan(x.byUPN, q.Q), keepKey) + countKeys(prefixScan(x.byName, q.Q), func(k key) bool {
				r := x.users[k.ID]
				return keep(k.ID) && !strings.HasPrefix(r.upn, q.Q) // counted above
			})
		}
		return countKeys(order.Scan, keepKey)
	})
	return p
}

// idleTotal counts the idle users of an "idle" query with no other filter
// or only a product, as the users with a license record (of the product)
// minus those active since the window's start: a walk over the usage
// aggregates with one lookup per active user instead of two lookups per
// user. ok is false for the other queries.
func (x *dirIndex) idleTotal(q userQuery, sets []*sortedSet) (n int, ok bool) {
	if q.State != "idle" || q.Q != "" || q.Dept != "" || q.Active == nil {
		return 0, false
	}
	switch {
	case len(sets) == 0:
		n = x.withSKUs
	case len(sets) == 1 && q.SKU != "" && sets[0] != nil && sets[0] == x.bySKU[q.SKU]:
		n = sets[0].Len()
	default:
		return 0, false
	}
	q.Active(func(id string) bool {
		if r := x.users[id]; r != nil && len(r.skus) > 0 && (q.SKU == "" || slices.Contains(r.skus, q.SKU)) {
			n--
		}
		return true
	})
	return n, true
}

// countKeys counts the keys of a scan that pass keep.
func countKeys(scan scanFunc, keep func(key) bool) int {
	n := 0
	scan(nil, false, func(k key) bool {
		if keep(k) {
			n++
		}
		return true
	})
	return n
}

// countCacheSize bounds the totals the index remembers between commits.
const countCacheSize = 256

// cachedTotal returns the total of a query's conditions, computing it with
// compute unless it was computed since the last commit. Every committed
// batch clears the totals (Update), usage imports included: they change
// who is idle. An idle total is also kept per day of the idle window's
// start, as users become idle without any commit.
func (x *dirIndex) cachedTotal(q userQuery, compute func() int) int {
	k := q.Q + "\x00" + q.SKU + "\x00" + q.Dept + "\x00" + q.State
	if q.State == "idle" {
		k += "\x00" + q.IdleSince.UTC().Format(time.DateOnly)
	}
	x.mu.Lock()
	n, ok := x.counts[k]
	x.mu.Unlock()
	if ok {
		return n
	}
	n = compute()
	x.mu.Lock()
	if len(x.counts) >= countCacheSize {
		clear(x.counts)
	}
	x.counts[k] = n
	x.mu.Unlock()
	return n
}
