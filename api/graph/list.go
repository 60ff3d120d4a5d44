package graph

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode"

	"allot/api/odata"
	"allot/api/scope"
	"allot/tenant"
)

// defaultPage is Graph's default page size for directory collections.
const defaultPage = 100

// materializeLimit: an index range at most this large is read whole and
// sorted; a larger one is filtered while walking the listing order.
const materializeLimit = 4096

// collection describes a listable resource for the planner.
type collection[T any] struct {
	res     *resource[T]
	sc      *schema[T]
	context string // "users", "groups"
	get     func(s *tenant.State, id string) (T, bool)
	// orders: $orderby property (lower-case; "" = default, by id) -> index
	// and the key of an object in it.
	orders map[string]orderDef[T]
	// access finds an index path for one top-level conjunct of the filter.
	access func(s *tenant.State, x *dirIndex, n odata.Node) *accessPath
	// search: $search properties (lower-case) -> value.
	search map[string]func(x *T) string
	// visible reports whether an allotment owner's scope reaches x.
	visible func(sc *scope.Scope, x *T) bool
}

type orderDef[T any] struct {
	name string // as Graph spells it
	set  func(x *dirIndex) *sortedSet
	key  func(x *T) string // K of the object in set
}

// accessPath is an index range that contains every match of a conjunct.
type accessPath struct {
	ids    []string   // a point lookup: exactly these ids (may not all exist)
	set    *sortedSet // ids ordered by id
	prefix string     // with order: the keys of that order starting with prefix
	order  string
}

// cursor is the content of $skiptoken: the listing order and the last key
// served. Resuming after a key (keyset paging) never skips or repeats an
// object that stayed in place, whatever was added or removed meanwhile.
type cursor struct {
	Order string `json:"o"`
	Desc  bool   `json:"d,omitempty"`
	K     string `json:"k"`
	ID    string `json:"i,omitempty"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return c, &odata.Error{Code: "Request_BadRequest", Msg: "The skip token is not valid. Use the @odata.nextLink returned by the previous page as it is."}
	}
	return c, nil
}

// listPlan is a prepared listing.
type listPlan[T any] struct {
	col    *collection[T]
	match  pred[T]
	order  orderDef[T]
	oname  string
	desc   bool
	after  *key
	top    int
	count  bool
	sel    []int
	filter bool
	view   *scopeCell // the reader's scope, for the compiled filter
}

// prepare validates the query against the collection.
func prepare[T any](col *collection[T], q *odata.Query) (*listPlan[T], error) {
	p := &listPlan[T]{col: col, top: q.Top, count: q.Count && q.Eventual, view: &scopeCell{}}
	if p.top == 0 {
		p.top = defaultPage
	}
	sel, err := col.res.selection(q.Select)
	if err != nil {
		return nil, err
	}
	p.sel = sel
	advanced := q.Eventual && q.Count
	var preds []pred[T]
	if q.Filter != nil {
		c := &compiler[T]{sc: col.sc, advanced: advanced, view: p.view}
		f, err := c.compile(q.Filter)
		if err != nil {
			return nil, err
		}
		preds = append(preds, f)
		p.filter = true
	}
	if q.Search != nil {
		if !q.Eventual {
			return nil, &odata.Error{Code: "Request_UnsupportedQuery", Msg: "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"}
		}
		sp, err := compileSearch(col, q.Search)
		if err != nil {
			return nil, err
		}
		preds = append(preds, sp)
	}
	switch len(preds) {
	case 1:
		p.match = preds[0]
	case 2:
		a, b := preds[0], preds[1]
		p.match = func(s *tenant.State, x *T) bool { return a(s, x) && b(s, x) }
	}
	if len(q.OrderBy) > 1 {
		return nil, &odata.Error{Code: "Request_UnsupportedQuery", Msg: "Sorting not supported for current query."}
	}
	if len(q.OrderBy) == 1 {
		name := strings.ToLower(q.OrderBy[0].Property)
		od, ok := col.orders[name]
		if !ok || name == "" {
			return nil, &odata.Error{Code: "Request_UnsupportedQuery", Msg: "Sorting not supported for current query."}
		}
		if (q.Filter != nil || q.Search != nil) && !advanced {
			return nil, &odata.Error{Code: "Request_UnsupportedQuery", Msg: "Sorting not supported for current query."}
		}
		p.order, p.oname, p.desc = od, name, q.OrderBy[0].Desc
	} else {
		// Without $orderby Graph promises no order, so a listing filtered
		// by a prefix of an ordered property is served in that property's
		// order: a page is then a seek and a walk of the range, however
		// large the directory and the range are.
		p.order = col.orders[""]
		if q.Filter != nil {
			for _, c := range conjuncts(q.Filter, nil) {
				call, ok := c.(*odata.Call)
				if !ok || call.Name != "startswith" {
					continue
				}
				if path, ok := call.Args[0].(*odata.Path); ok && len(path.Segments) == 1 {
					name := strings.ToLower(path.Segments[0])
					if od, ok := col.orders[name]; ok && name != "" {
						p.order, p.oname = od, name
						break
					}
				}
			}
		}
	}
	if q.SkipToken != "" {
		c, err := decodeCursor(q.SkipToken)
		if err != nil {
			return nil, err
		}
		if c.Order != p.oname || c.Desc != p.desc {
			return nil, &odata.Error{Code: "Request_BadRequest", Msg: "The skip token does not belong to this query. Use the @odata.nextLink returned by the previous page as it is."}
		}
		p.after = &key{K: c.K, ID: c.ID}
	}
	return p, nil
}

func compileSearch[T any](col *collection[T], s *odata.Search) (pred[T], error) {
	type term struct {
		get func(x *T) string
		v   string
	}
	var any [][]term
	for _, conj := range s.Any {
		var ts []term
		for _, t := range conj {
			get, ok := col.search[strings.ToLower(t.Property)]
			if !ok {
				return nil, &odata.Error{Code: "Request_UnsupportedQuery", Msg: "Unsupported or invalid query filter clause specified for property '" + t.Property + "' of resource '" + col.sc.resource + "'."}
			}
			ts = append(ts, term{get, strings.ToLower(t.Value)})
		}
		any = append(any, ts)
	}
	return func(_ *tenant.State, x *T) bool {
		for _, conj := range any {
			ok := true
			for _, t := range conj {
				if !wordPrefix(strings.ToLower(t.get(x)), t.v) {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
		return false
	}, nil
}

// wordPrefix reports whether a word of v (split at non-letters/digits)
// starts with term, the way Graph's $search tokenises directory values.
func wordPrefix(v, term string) bool {
	if term == "" {
		return true
	}
	for i := 0; i < len(v); i++ {
		if i == 0 || !isWordRune(rune(v[i-1])) {
			if strings.HasPrefix(v[i:], term) {
				return true
			}
		}
	}
	return false
}

func isWordRune(r rune) bool { return r >= 0x80 || unicode.IsLetter(r) || unicode.IsDigit(r) }

// conjuncts lists the top-level and-ed conditions of a filter.
func conjuncts(n odata.Node, out []odata.Node) []odata.Node {
	if l, ok := n.(*odata.Logical); ok && l.Op == "and" {
		return conjuncts(l.Right, conjuncts(l.Left, out))
	}
	return append(out, n)
}

// listResult is one page.
type listResult struct {
	ids   []string
	more  bool
	last  key
	count int
}

// run executes the plan on the tenant state.
func (p *listPlan[T]) run(s *tenant.State, q *odata.Query) listResult {
	x := directory(s)
	col := p.col
	var path *accessPath
	if q.Filter != nil {
		for _, c := range conjuncts(q.Filter, nil) {
			if ap := col.access(s, x, c); ap != nil {
				path = ap
				if ap.ids != nil {
					break // a point lookup is the best there is
				}
			}
		}
	}
	res := listResult{count: -1}
	// obj is reused for every object examined: its address goes to the
	// predicates, so one heap object per request instead of one per row.
	var obj T
	matches := func(id string) (*T, bool) {
		var ok bool
		if obj, ok = col.get(s, id); !ok {
			return nil, false
		}
		if p.match != nil && !p.match(s, &obj) {
			return nil, false
		}
		return &obj, true
	}
	// Decide the strategy.
	var candidates []string
	orderSet := p.order.set(x)
	walkOrder := func(after *key, fn func(k key) bool) {
		if p.desc {
			orderSet.Descend(after, fn)
		} else {
			orderSet.Ascend(after, fn)
		}
	}
	walk := walkOrder
	switch {
	case path == nil:
	case path.ids != nil:
		candidates = path.ids
	case path.set != nil && p.oname == "":
		set := path.set
		walk = func(after *key, fn func(k key) bool) {
			if p.desc {
				set.Descend(after, fn)
			} else {
				set.Ascend(after, fn)
			}
		}
	case path.set != nil:
		if path.set.Len() <= materializeLimit {
			candidates = make([]string, 0, path.set.Len())
			path.set.Ascend(nil, func(k key) bool { candidates = append(candidates, k.K); return true })
		}
	case path.prefix != "" && path.order == p.oname:
		prefix := path.prefix
		walk = func(after *key, fn func(k key) bool) {
			if p.desc {
				start := key{K: prefix + "\U0010FFFF"}
				if after != nil && after.Less(start) {
					start = *after
				}
				orderSet.Descend(&start, func(k key) bool {
					if !strings.HasPrefix(k.K, prefix) {
						return k.K > prefix // keep going only while above the range
					}
					return fn(k)
				})
				return
			}
			start := key{K: prefix}
			if after != nil && start.Less(*after) {
				start = *after
			}
			orderSet.Ascend(&start, func(k key) bool {
				if !strings.HasPrefix(k.K, prefix) {
					return false
				}
				return fn(k)
			})
		}
	case path.prefix != "":
		// A prefix range on another order: read it whole if it is small.
		other := col.orders[path.order].set(x)
		var ids []string
		small := true
		other.Ascend(&key{K: path.prefix}, func(k key) bool {
			if !strings.HasPrefix(k.K, path.prefix) {
				return false
			}
			if len(ids) == materializeLimit {
				small = false
				return false
			}
			ids = append(ids, k.ID)
			return true
		})
		if small {
			candidates = ids
		}
	}
	if candidates != nil {
		type item struct {
			k  key
			id string
		}
		seen := make(map[string]bool, len(candidates))
		var items []item
		for _, id := range candidates {
			if seen[id] {
				continue
			}
			seen[id] = true
			o, ok := matches(id)
			if !ok {
				continue
			}
			k := key{K: id}
			if p.oname != "" {
				k = key{K: p.order.key(o), ID: id}
			}
			items = append(items, item{k, id})
		}
		sort.Slice(items, func(i, j int) bool {
			if p.desc {
				return items[j].k.Less(items[i].k)
			}
			return items[i].k.Less(items[j].k)
		})
		res.count = len(items)
		for _, it := range items {
			if p.after != nil && (p.desc && !it.k.Less(*p.after) || !p.desc && !p.after.Less(it.k)) {
				continue
			}
			if len(res.ids) == p.top {
				res.more = true
				break
			}
			res.ids = append(res.ids, it.id)
			res.last = it.k
		}
		return res
	}
	idOf := func(k key) string {
		if k.ID == "" {
			return k.K
		}
		return k.ID
	}
	walk(p.after, func(k key) bool {
		if _, ok := matches(idOf(k)); !ok {
			return true
		}
		if len(res.ids) == p.top {
			res.more = true
			return false
		}
		res.ids = append(res.ids, idOf(k))
		res.last = k
		return true
	})
	if p.count {
		switch {
		case p.match == nil:
			res.count = orderSet.Len()
		default:
			n := 0
			walk(nil, func(k key) bool {
				if _, ok := matches(idOf(k)); ok {
					n++
				}
				return true
			})
			res.count = n
		}
	}
	return res
}

// writeList runs a listing and writes the page.
func writeList[T any](w http.ResponseWriter, r *http.Request, c *call, col *collection[T]) {
	p, err := prepare(col, c.q)
	if err != nil {
		fail(w, r, err)
		return
	}
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	c.t.Read(func(s *tenant.State) {
		if sc := c.scope(s); sc != nil {
			p.view.sc = sc
			inner := p.match
			p.match = func(s *tenant.State, x *T) bool {
				return col.visible(sc, x) && (inner == nil || inner(s, x))
			}
		}
		res := p.run(s, c.q)
		b = appendContext(b, r, col.context+selectSuffix(c.q.Select))
		if p.count {
			b = append(b, `,"@odata.count":`...)
			b = appendInt(b, res.count)
		}
		if res.more {
			b = append(b, `,"@odata.nextLink":`...)
			b = appendStr(b, nextLink(r, cursor{Order: p.oname, Desc: p.desc, K: res.last.K, ID: res.last.ID}))
		}
		b = append(b, `,"value":[`...)
		var obj T
		v := view{s, p.view.sc} // the scope computed above (nil: everything)
		for i, id := range res.ids {
			var ok bool
			if obj, ok = col.get(s, id); !ok {
				continue
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = col.res.appendObject(b, v, &obj, p.sel, false)
		}
		b = append(b, "]}"...)
	})
	*bp = b
	writeJSON(w, http.StatusOK, b)
}

// nextLink is the request's URL with $skiptoken set to the cursor.
func nextLink(r *http.Request, c cursor) string {
	v := url.Values{}
	for k, vs := range r.URL.Query() {
		if strings.EqualFold(k, "$skiptoken") {
			continue
		}
		v[k] = vs
	}
	v.Set("$skiptoken", encodeCursor(c))
	return baseURL(r) + r.URL.Path + "?" + strings.ReplaceAll(v.Encode(), "%24", "$")
}
