package scim

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"allot/identity"
	"allot/scimmeta"
	"allot/tenant"
)

// Paging (RFC 7644 §3.4.2.4): count defaults to defaultCount and is capped
// at maxResults (what /ServiceProviderConfig announces); a larger count is
// not an error, the page is simply shorter.
const (
	defaultCount = 100
	maxResults   = 1000
)

// query is a list request: from the URL (GET) or a SearchRequest body
// (POST .search).
type query struct {
	filter expr // nil: no filter
	pred   pred
	start  int // 1-based
	count  int
	proj   projection
}

// listParams are the raw list parameters.
type listParams struct {
	filter, attributes, excluded, startIndex, count string
}

func paramsFromURL(v url.Values) listParams {
	return listParams{filter: v.Get("filter"), attributes: v.Get("attributes"), excluded: v.Get("excludedAttributes"),
		startIndex: v.Get("startIndex"), count: v.Get("count")}
}

// parseQuery validates list parameters for a resource type.
func parseQuery(rt *ResourceType, p listParams) (*query, error) {
	q := &query{start: 1, count: defaultCount}
	if f := strings.TrimSpace(p.filter); f != "" {
		e, err := parseFilter(f)
		if err != nil {
			return nil, badRequest(typeInvalidFilter, "Invalid filter: %v.", err)
		}
		if q.pred, err = compileFilter(rt, e); err != nil {
			return nil, err
		}
		q.filter = e
	}
	if p.startIndex != "" {
		n, err := strconv.Atoi(strings.TrimSpace(p.startIndex))
		if err != nil {
			return nil, badRequest(typeInvalidValue, "startIndex must be an integer.")
		}
		q.start = max(n, 1)
	}
	if p.count != "" {
		n, err := strconv.Atoi(strings.TrimSpace(p.count))
		if err != nil {
			return nil, badRequest(typeInvalidValue, "count must be an integer.")
		}
		q.count = min(max(n, 0), maxResults)
	}
	var err error
	if q.proj.attrs, err = parseAttrList(rt, p.attributes); err != nil {
		return nil, err
	}
	if q.proj.excluded, err = parseAttrList(rt, p.excluded); err != nil {
		return nil, err
	}
	return q, nil
}

// projection is the attributes / excludedAttributes of a request.
type projection struct {
	attrs, excluded []ref
}

func parseProjection(rt *ResourceType, v url.Values) (projection, error) {
	a, err := parseAttrList(rt, v.Get("attributes"))
	if err != nil {
		return projection{}, err
	}
	x, err := parseAttrList(rt, v.Get("excludedAttributes"))
	return projection{a, x}, err
}

// parseAttrList resolves a comma-separated attribute list. Unknown
// attributes are ignored (a client may ask for attributes allot does not
// store); malformed names are 400 invalidValue. An entry may select
// elements of a multi-valued complex attribute with a value filter,
// optionally followed by a sub-attribute (emails[type eq "work"],
// emails[type eq "work"].value), as Microsoft's SCIM reference service
// and its test collection do: attributes returns only those elements,
// excludedAttributes drops them.
func parseAttrList(rt *ResourceType, s string) ([]ref, error) {
	var out []ref
	for _, name := range splitAttrList(s) {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if strings.ContainsRune(name, '[') {
			pp, err := parsePath(name)
			if err != nil {
				return nil, badRequest(typeInvalidValue, "Invalid attribute %q in attributes or excludedAttributes: %v.", name, err)
			}
			r, err := resolve(rt, pp.attr)
			if err != nil || r.attr == nil {
				continue
			}
			if r.attr.Type != tComplex || !r.attr.MultiValued {
				return nil, badRequest(typeInvalidValue, "Invalid attribute %q in attributes or excludedAttributes: [] selects values of a multi-valued complex attribute.", name)
			}
			if r.elem, err = compile(scope{parent: r.attr}, pp.filter); err != nil {
				return nil, badRequest(typeInvalidFilter, "Invalid filter in %q: %v.", name, err)
			}
			if pp.sub != "" {
				if r.sub = r.attr.sub(pp.sub); r.sub == nil {
					continue
				}
			}
			out = append(out, r)
			continue
		}
		ap, err := parseAttrPath(name)
		if err != nil {
			return nil, badRequest(typeInvalidValue, "Invalid attribute %q in attributes or excludedAttributes.", name)
		}
		if r, err := resolve(rt, ap); err == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// splitAttrList splits an attribute list at the commas outside brackets
// and quoted strings.
func splitAttrList(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// wants reports whether a projection returns a top-level core attribute.
func (p projection) wants(name string) bool {
	if len(p.attrs) > 0 {
		return slices.ContainsFunc(p.attrs, func(r ref) bool { return r.ext == "" && r.attr != nil && r.attr.Name == name })
	}
	return !slices.ContainsFunc(p.excluded, func(r ref) bool { return r.ext == "" && r.attr != nil && r.attr.Name == name && r.sub == nil })
}

// apply returns the projected resource (RFC 7644 §3.4.2.5). id and schemas
// are always returned.
func (p projection) apply(d doc) doc {
	if len(p.attrs) > 0 {
		out := doc{"schemas": d["schemas"], "id": d["id"]}
		for _, r := range p.attrs {
			copyRef(out, d, r)
		}
		return out
	}
	for _, r := range p.excluded {
		if r.attr != nil && r.attr.Returned == "always" {
			continue
		}
		dropRef(d, r)
	}
	return d
}

func copyRef(dst, src doc, r ref) {
	if r.attr == nil {
		if v, ok := src[r.ext]; ok {
			dst[r.ext] = v
		}
		return
	}
	s := container(src, r.ext, false)
	v, ok := s[r.attr.Name]
	if !ok {
		return
	}
	dc := container(dst, r.ext, true)
	if r.elem != nil {
		copySelected(dc, v, r)
		cleanup(dst, r.ext)
		return
	}
	if r.sub == nil {
		dc[r.attr.Name] = v
		return
	}
	switch x := v.(type) {
	case []any:
		// Multi-valued: each element keeps the requested sub-attributes;
		// merge with sub-attributes copied before.
		prev, _ := dc[r.attr.Name].([]any)
		out := make([]any, len(x))
		for i, el := range x {
			m, _ := el.(map[string]any)
			var pm map[string]any
			if i < len(prev) {
				pm, _ = prev[i].(map[string]any)
			}
			if pm == nil {
				pm = map[string]any{}
			}
			if sv, ok := m[r.sub.Name]; ok {
				pm[r.sub.Name] = sv
			}
			out[i] = pm
		}
		dc[r.attr.Name] = out
	case map[string]any:
		if sv, ok := x[r.sub.Name]; ok {
			prev, _ := dc[r.attr.Name].(map[string]any)
			if prev == nil {
				prev = map[string]any{}
			}
			prev[r.sub.Name] = sv
			dc[r.attr.Name] = prev
		}
	}
	cleanup(dst, r.ext)
}

// copySelected adds the elements of a multi-valued attribute that r.elem
// selects (only r.sub of each when set) to the attribute in dst, after
// those a previous entry of the list selected.
func copySelected(dst map[string]any, v any, r ref) {
	x, _ := v.([]any)
	prev, _ := dst[r.attr.Name].([]any)
	for _, el := range x {
		m, ok := el.(map[string]any)
		if !ok || !r.elem(element(m).get) {
			continue
		}
		if r.sub == nil {
			prev = append(prev, m)
		} else if sv, ok := m[r.sub.Name]; ok {
			prev = append(prev, map[string]any{r.sub.Name: sv})
		}
	}
	if len(prev) > 0 {
		dst[r.attr.Name] = prev
	}
}

func dropRef(d doc, r ref) {
	if r.attr == nil {
		delete(d, r.ext)
		return
	}
	c := container(d, r.ext, false)
	if c == nil {
		return
	}
	defer cleanup(d, r.ext)
	if r.elem != nil {
		x, _ := c[r.attr.Name].([]any)
		kept := make([]any, 0, len(x))
		for _, el := range x {
			m, ok := el.(map[string]any)
			if !ok || !r.elem(element(m).get) {
				kept = append(kept, el)
			} else if r.sub != nil {
				cp := make(map[string]any, len(m))
				for k, v := range m {
					if k != r.sub.Name {
						cp[k] = v
					}
				}
				kept = append(kept, cp)
			}
		}
		if len(kept) == 0 {
			delete(c, r.attr.Name)
		} else {
			c[r.attr.Name] = kept
		}
		return
	}
	if r.sub == nil {
		delete(c, r.attr.Name)
		return
	}
	switch x := c[r.attr.Name].(type) {
	case []any:
		for _, el := range x {
			if m, ok := el.(map[string]any); ok {
				delete(m, r.sub.Name)
			}
		}
	case map[string]any:
		delete(x, r.sub.Name)
		if len(x) == 0 {
			delete(c, r.attr.Name)
		}
	}
}

// listResponse is the ListResponse message (RFC 7644 §3.4.2).
type listResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	ItemsPerPage int      `json:"itemsPerPage"`
	StartIndex   int      `json:"startIndex"`
	Resources    []doc    `json:"Resources"`
}

// page collects the resources of one page while counting all matches.
type page struct {
	q     *query
	seen  int
	items []string // ids in the page
}

// offer counts one matching resource and keeps its id when it falls in
// the page.
func (p *page) offer(id string) {
	p.seen++
	if p.seen >= p.q.start && len(p.items) < p.q.count {
		p.items = append(p.items, id)
	}
}

// offsetLimit is how many matches a listing in order takes to answer a
// page of offset paging: those before startIndex and the page.
func offsetLimit(q *query) int { return q.start - 1 + q.count }

// offsetPage is the page of offset paging among the first matches in
// order (at most offsetLimit of them): from startIndex (1-based), at most
// count.
func offsetPage[K any](q *query, first []K) []K {
	from := min(q.start-1, len(first))
	return first[from:min(from+q.count, len(first))]
}

// candidates narrows a filter to the users or groups it can only match,
// through the indexes: "id eq", "userName eq" and "externalId eq" terms,
// combined through and/or. ok false: the filter needs a scan.
func candidates(s *tenant.State, rt *ResourceType, e expr) (ids []string, ok bool) {
	switch e := e.(type) {
	case *compareExpr:
		return lookup(s, rt, e)
	case *logicalExpr:
		l, lok := candidates(s, rt, e.l)
		r, rok := candidates(s, rt, e.r)
		switch {
		case e.and && lok && rok:
			var both []string
			for _, id := range l {
				if slices.Contains(r, id) {
					both = append(both, id)
				}
			}
			return both, true
		case e.and && lok:
			return l, true
		case e.and && rok:
			return r, true
		case !e.and && lok && rok:
			out := append(l, r...)
			slices.Sort(out)
			return slices.Compact(out), true
		}
	}
	return nil, false
}

// lookup answers one "eq" term of id, externalId or (users) userName from
// the indexes; ok false: the term needs a scan.
func lookup(s *tenant.State, rt *ResourceType, e *compareExpr) (ids []string, ok bool) {
	v, isStr := e.val.(string)
	if e.op != "eq" || !isStr {
		return nil, false
	}
	r, err := resolve(rt, e.path)
	if err != nil || r.ext != "" || r.attr == nil || r.sub != nil {
		return nil, false
	}
	switch {
	case r.attr == attrID:
		if rt == userType {
			if _, ok := s.Engine.User(v); ok {
				return []string{v}, true
			}
		} else if s.Engine.IsGroup(v) {
			return []string{v}, true
		}
		return nil, true
	case r.attr == attrExternalID && rt == userType:
		return scimmeta.UsersWithExternalID(s, v), true
	case r.attr == attrExternalID:
		return slices.Clone(scimmeta.Of(s).GroupsByExternalID(v)), true
	case rt == userType && r.attr.Name == "userName":
		if u, ok := s.Engine.UserByUPN(identity.Qualify(s, v)); ok {
			return []string{u.ID}, true
		}
		return nil, true
	}
	return nil, false
}

// searchQuery reads a SearchRequest body (POST .search, RFC 7644 §3.4.3):
// attributes and excludedAttributes are arrays (a comma-separated string is
// accepted too), startIndex and count numbers.
func searchQuery(c *call, rt *ResourceType) (*query, error) {
	body, err := decodeBody(c.r)
	if err != nil {
		return nil, err
	}
	return searchFrom(rt, body)
}

// searchFrom reads a decoded SearchRequest body.
func searchFrom(rt *ResourceType, body map[string]any) (*query, error) {
	var p listParams
	list := func(v any) string {
		switch x := v.(type) {
		case string:
			return x
		case []any:
			parts := make([]string, 0, len(x))
			for _, y := range x {
				if s, ok := y.(string); ok {
					parts = append(parts, s)
				}
			}
			return strings.Join(parts, ",")
		}
		return ""
	}
	num := func(v any) string {
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case string:
			return x
		}
		return ""
	}
	for _, k := range keysOf(body) {
		v := body[k]
		switch strings.ToLower(k) {
		case "filter":
			p.filter, _ = v.(string)
		case "attributes":
			p.attributes = list(v)
		case "excludedattributes":
			p.excluded = list(v)
		case "startindex":
			p.startIndex = num(v)
		case "count":
			p.count = num(v)
		}
	}
	return parseQuery(rt, p)
}
