package web

import (
	"slices"
	"strings"
	"time"

	"allot/directory"
	"allot/tenant"
)

// The admin center's listings are keyset-paged over the tenant's directory
// index (package directory), with its planner and its cursor format.
type key = directory.Key

// directoryOf is the tenant's directory index. Call it inside Tenant.Read.
func directoryOf(s *tenant.State) *directory.Index { return directory.Of(s) }

// page is one page of a keyset-paged listing.
type page struct {
	Keys       []key
	Prev, Next string // cursors ("" when there is no such page)
	Total      int    // -1 when not counted
}

// pageOf encodes a directory page's cursors for the listing order and
// direction.
func pageOf(order string, desc bool, p directory.Page) page {
	out := page{Keys: p.Keys, Total: p.Total}
	if p.Prev != nil {
		out.Prev = directory.CursorAt(order, desc, *p.Prev).String()
	}
	if p.Next != nil {
		out.Next = directory.CursorAt(order, desc, *p.Next).String()
	}
	return out
}

// cursorKey decodes an after/before cursor of a listing: nil (the first
// page) for an empty or malformed one, or one of another order or
// direction (a link kept from before the sort changed).
func cursorKey(s, order string, desc bool) *key {
	if s == "" {
		return nil
	}
	c, err := directory.ParseCursor(s)
	if err != nil || c.Order != order || c.Desc != desc {
		return nil
	}
	return c.Key()
}

// userOrder is the users in the order of their userPrincipalName ("upn")
// or display name ("name").
func userOrder(x *directory.Index, sort string) directory.Order {
	if sort == "name" {
		return directory.Order{Name: "name", Set: x.UsersByName(), KeyOf: func(id string) key { return key{K: x.User(id).Name, ID: id} }}
	}
	return directory.Order{Name: "upn", Set: x.UsersByUPN(), KeyOf: func(id string) key { return key{K: x.User(id).UPN, ID: id} }}
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

// queryUsers runs a users query on the index: each filter is a range of
// the index (a product's, a department's, the users in error or waiting,
// the userPrincipalName and name prefixes of the search) and the planner
// (directory.Index.List) takes the page from the smallest. The total is
// exact; it is kept until the next commit, so paging on costs no more.
func queryUsers(x *directory.Index, q userQuery) page {
	q.Q = strings.ToLower(strings.TrimSpace(q.Q))
	q.Dept = strings.ToLower(strings.TrimSpace(q.Dept))
	dq := directory.Query{Order: userOrder(x, q.Sort), Desc: q.Desc, After: q.After, Before: q.Before, Limit: q.Limit,
		Ranges: userRanges(x, q)}
	if q.Q != "" || len(dq.Ranges) > 0 || q.State == "idle" {
		dq.Match = userMatch(x, q)
	}
	if len(dq.Ranges) == 1 && q.Q == "" && q.State != "idle" {
		dq.Ranges[0].Exact = true // the one condition: its set is the matches
	}
	p := x.List(dq, false)
	if p.Total < 0 {
		p.Total = x.CachedTotal(q.totalKey(), func() int {
			if n, ok := idleTotal(x, q); ok {
				return n
			}
			return x.Count(dq)
		})
	}
	return pageOf(dq.Order.Name, q.Desc, p)
}

// userRanges are the index ranges of a users query's conditions.
func userRanges(x *directory.Index, q userQuery) []directory.Range {
	var rs []directory.Range
	if q.SKU != "" {
		rs = append(rs, directory.RangeOf(x.UsersWithSKU(q.SKU), "id"))
	}
	if q.Dept != "" {
		rs = append(rs, directory.RangeOf(x.UsersInDept(q.Dept), "id"))
	}
	switch q.State {
	case "error":
		rs = append(rs, directory.RangeOf(x.UsersInError(""), "id"))
	case "waiting":
		rs = append(rs, directory.RangeOf(x.UsersWaiting(), "id"))
	}
	if q.Q != "" {
		// Users whose userPrincipalName or name starts with the search.
		upns, names := x.UsersByUPN(), x.UsersByName()
		rs = append(rs, directory.Range{
			Scans: []directory.Scan{directory.PrefixScan(upns, q.Q), directory.PrefixScan(names, q.Q)},
			Has:   []func(string) bool{func(id string) bool { return strings.HasPrefix(x.User(id).UPN, q.Q) }},
			Len:   upns.CountPrefix(q.Q) + names.CountPrefix(q.Q)})
	}
	return rs
}

// userMatch is a users query's whole condition.
func userMatch(x *directory.Index, q userQuery) func(id string) bool {
	return func(id string) bool {
		r := x.User(id)
		switch {
		case r == nil:
			return false
		case q.Q != "" && !strings.HasPrefix(r.UPN, q.Q) && !strings.HasPrefix(r.Name, q.Q):
			return false
		case q.SKU != "" && !slices.Contains(r.SKUs, q.SKU):
			return false
		case q.Dept != "" && r.Dept != q.Dept:
			return false
		}
		switch q.State {
		case "error":
			return len(r.ErrSKUs()) > 0
		case "waiting":
			return r.Waiting
		case "idle":
			return len(r.SKUs) > 0 && q.Idle != nil && q.Idle(id)
		}
		return true
	}
}

// totalKey names a users query's total among the index's cached totals.
// An idle total is also kept per day of the idle window's start, as users
// become idle without any commit.
func (q userQuery) totalKey() string {
	k := "users\x00" + q.Q + "\x00" + q.SKU + "\x00" + q.Dept + "\x00" + q.State
	if q.State == "idle" {
		k += "\x00" + q.IdleSince.UTC().Format(time.DateOnly)
	}
	return k
}

// idleTotal counts the idle users of an "idle" query with no other filter
// or only a product, as the users with a license record (of the product)
// minus those active since the window's start: a walk over the usage
// aggregates with one lookup per active user instead of two lookups per
// user. ok is false for the other queries.
func idleTotal(x *directory.Index, q userQuery) (n int, ok bool) {
	if q.State != "idle" || q.Q != "" || q.Dept != "" || q.Active == nil {
		return 0, false
	}
	if q.SKU == "" {
		n = x.WithSKUs()
	} else {
		n = x.UsersWithSKU(q.SKU).Len()
	}
	q.Active(func(id string) bool {
		if r := x.User(id); r != nil && len(r.SKUs) > 0 && (q.SKU == "" || slices.Contains(r.SKUs, q.SKU)) {
			n--
		}
		return true
	})
	return n, true
}

// groupByName finds a group by its display name, case-insensitively (the
// first in id order when several share it).
func groupByName(x *directory.Index, name string) (string, bool) {
	k := strings.ToLower(name)
	var id string
	x.GroupsByName().Scan(&key{K: k}, false, func(g key) bool {
		if g.K == k {
			id = g.ID
		}
		return false
	})
	return id, id != ""
}
