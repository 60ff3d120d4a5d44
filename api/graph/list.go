package graph

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"allot/api/odata"
	"allot/api/scope"
	"allot/directory"
	"allot/tenant"
)

// defaultPage is Graph's default page size for directory collections.
const defaultPage = 100

// collection describes a listable resource for the planner.
type collection[T any] struct {
	res     *resource[T]
	sc      *schema[T]
	context string // "users", "groups"
	get     func(s *tenant.State, id string) (T, bool)
	// orders: $orderby property (lower-case; "" = default, by id) -> index
	// and the key of an object in it.
	orders map[string]orderDef[T]
	// access finds an index range holding every match of one top-level
	// conjunct of the filter (nil: none).
	access func(s *tenant.State, x *directory.Index, n odata.Node) *directory.Range
	// search: $search properties (lower-case) -> value.
	search map[string]func(x *T) string
	// visible reports whether an allotment owner's scope reaches x.
	visible func(sc *scope.Scope, x *T) bool
}

type orderDef[T any] struct {
	name string // as Graph spells it; the order's name in cursors
	set  func(x *directory.Index) *directory.Set
	key  func(x *T) string // K of the object in set ("" for the set by id, whose K is the id)
}

// skipTokenError is the answer to a $skiptoken that is not one of ours.
var skipTokenError = &odata.Error{Code: "Request_BadRequest", Msg: "The skip token is not valid. Use the @odata.nextLink returned by the previous page as it is."}

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

// prepare validates the query against the collection: the selection,
// the condition, the order and the skip token.
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
	if err := p.prepareMatch(q); err != nil {
		return nil, err
	}
	if err := p.prepareOrder(q); err != nil {
		return nil, err
	}
	if q.SkipToken != "" {
		c, err := directory.ParseCursor(q.SkipToken)
		if err != nil {
			return nil, skipTokenError
		}
		if c.Order != p.order.name || c.Desc != p.desc {
			return nil, &odata.Error{Code: "Request_BadRequest", Msg: "The skip token does not belong to this query. Use the @odata.nextLink returned by the previous page as it is."}
		}
		p.after = c.Key()
	}
	return p, nil
}

// prepareMatch compiles $filter and $search into the plan's condition.
func (p *listPlan[T]) prepareMatch(q *odata.Query) error {
	var preds []pred[T]
	if q.Filter != nil {
		c := &compiler[T]{sc: p.col.sc, advanced: q.Eventual && q.Count, view: p.view}
		f, err := c.compile(q.Filter)
		if err != nil {
			return err
		}
		preds = append(preds, f)
		p.filter = true
	}
	if q.Search != nil {
		if !q.Eventual {
			return &odata.Error{Code: "Request_UnsupportedQuery", Msg: "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"}
		}
		sp, err := compileSearch(p.col, q.Search)
		if err != nil {
			return err
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
	return nil
}

// prepareOrder picks the listing order: $orderby's, or without it the
// order of a property the filter asks a prefix of, or by id.
func (p *listPlan[T]) prepareOrder(q *odata.Query) error {
	unsupported := &odata.Error{Code: "Request_UnsupportedQuery", Msg: "Sorting not supported for current query."}
	switch len(q.OrderBy) {
	case 0:
	case 1:
		name := strings.ToLower(q.OrderBy[0].Property)
		od, ok := p.col.orders[name]
		if !ok || name == "" || (q.Filter != nil || q.Search != nil) && !(q.Eventual && q.Count) {
			return unsupported
		}
		p.order, p.oname, p.desc = od, name, q.OrderBy[0].Desc
		return nil
	default:
		return unsupported
	}
	// Without $orderby Graph promises no order, so a listing filtered by a
	// prefix of an ordered property is served in that property's order: a
	// page is then a seek and a walk of the range, however large the
	// directory and the range are.
	p.order = p.col.orders[""]
	if q.Filter == nil {
		return nil
	}
	for _, c := range conjuncts(q.Filter, nil) {
		call, ok := c.(*odata.Call)
		if !ok || call.Name != "startswith" {
			continue
		}
		if path, ok := call.Args[0].(*odata.Path); ok && len(path.Segments) == 1 {
			name := strings.ToLower(path.Segments[0])
			if od, ok := p.col.orders[name]; ok && name != "" {
				p.order, p.oname = od, name
				return nil
			}
		}
	}
	return nil
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

// run executes the plan on the tenant state: the directory index's
// planner takes the page (directory.Index.List).
func (p *listPlan[T]) run(s *tenant.State, q *odata.Query) listResult {
	x := directory.Of(s)
	pg := x.List(p.query(s, x, q), p.count)
	res := listResult{count: pg.Total, ids: make([]string, len(pg.Keys))}
	for i, k := range pg.Keys {
		res.ids[i] = directory.IDOf(k)
	}
	if pg.Next != nil {
		res.more, res.last = true, *pg.Next
	}
	return res
}

// query states the plan as a directory query: the listing order, the
// index ranges the filter's conjuncts allow, and the whole condition.
func (p *listPlan[T]) query(s *tenant.State, x *directory.Index, q *odata.Query) directory.Query {
	dq := directory.Query{Order: p.orderOf(s, x), Desc: p.desc, After: p.after, Limit: p.top,
		Ranges: p.ranges(s, x, q), Match: p.matcher(s)}
	return dq
}

// orderOf is the listing order in the index.
func (p *listPlan[T]) orderOf(s *tenant.State, x *directory.Index) directory.Order {
	od, get := p.order, p.col.get
	return directory.Order{Name: od.name, Set: od.set(x), KeyOf: func(id string) key {
		if od.key == nil {
			return key{K: id}
		}
		o, _ := get(s, id)
		return key{K: od.key(&o), ID: id}
	}}
}

// ranges lists an index range for each conjunct of the filter that has one.
func (p *listPlan[T]) ranges(s *tenant.State, x *directory.Index, q *odata.Query) []directory.Range {
	if q.Filter == nil {
		return nil
	}
	var rs []directory.Range
	for _, c := range conjuncts(q.Filter, nil) {
		if r := p.col.access(s, x, c); r != nil {
			rs = append(rs, *r)
		}
	}
	return rs
}

// matcher is the whole condition (filter, search and scope) on an id;
// nil when there is none.
func (p *listPlan[T]) matcher(s *tenant.State) func(id string) bool {
	if p.match == nil {
		return nil
	}
	// obj is reused for every object examined: its address goes to the
	// predicates, so one heap object per request instead of one per row.
	var obj T
	get, match := p.col.get, p.match
	return func(id string) bool {
		var ok bool
		if obj, ok = get(s, id); !ok {
			return false
		}
		return match(s, &obj)
	}
}

// writeList runs a listing and writes the page.
func writeList[T any](w http.ResponseWriter, r *http.Request, c *call, col *collection[T]) {
	writeListExpanded(w, r, c, col, nil)
}

// writeListExpanded is writeList with expand, when not nil, appending an
// expanded relationship (,"members":[…]) to each object of the page.
func writeListExpanded[T any](w http.ResponseWriter, r *http.Request, c *call, col *collection[T],
	expand func(b []byte, v view, id string) []byte) {
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
			b = appendStr(b, nextLink(r, directory.CursorAt(p.order.name, p.desc, res.last)))
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
			if expand != nil {
				b = append(expand(b[:len(b)-1], v, id), '}')
			}
		}
		b = append(b, "]}"...)
	})
	*bp = b
	writeJSON(w, http.StatusOK, b)
}

// nextLink is the request's URL with $skiptoken set to the cursor.
func nextLink(r *http.Request, c directory.Cursor) string {
	v := url.Values{}
	for k, vs := range r.URL.Query() {
		if strings.EqualFold(k, "$skiptoken") {
			continue
		}
		v[k] = vs
	}
	v.Set("$skiptoken", c.String())
	return baseURL(r) + r.URL.Path + "?" + strings.ReplaceAll(v.Encode(), "%24", "$")
}
