package scim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// doc is a resource in its JSON form: core attributes by canonical name,
// each extension's attributes in a nested object under the extension's
// URN. Values are strings, bools, float64s, map[string]any (complex) and
// []any (multi-valued), as encoding/json decodes them.
type doc = map[string]any

// getter returns the value of a top-level key of a resource (or of an
// element of a multi-valued attribute inside a value filter); resources
// compute values lazily, so a filter only renders what it reads.
type getter func(key string) any

// pred is a compiled filter.
type pred func(get getter) bool

// ref is an attribute resolved against a schema: ext is the extension URN
// holding attr ("" for the core schema and common attributes), sub the
// sub-attribute or nil. A ref with attr nil is a whole extension. elem,
// only in projections (attributes=emails[type eq "work"]), selects the
// elements of a multi-valued complex attribute.
type ref struct {
	ext  string
	attr *Attribute
	sub  *Attribute
	elem pred
}

func (r ref) String() string {
	if r.attr == nil {
		return r.ext
	}
	s := r.attr.Name
	if r.ext != "" {
		s = r.ext + ":" + s
	}
	if r.sub != nil {
		s += "." + r.sub.Name
	}
	return s
}

// resolve finds an attribute path in a resource type, case-insensitively.
// Without a URN, core and common attributes come first, then a unique
// extension attribute of that name. A URN that names one of the type's
// extensions itself (a PATCH path) resolves to the whole extension.
func resolve(rt *ResourceType, ap attrPath) (ref, error) {
	var r ref
	switch {
	case ap.URN != "":
		s := rt.schemaOf(ap.URN)
		if s == nil {
			if whole := rt.schemaOf(ap.URN + ":" + ap.Name); whole != nil && whole != rt.Schema && ap.Sub == "" {
				return ref{ext: whole.ID}, nil
			}
			return ref{}, fmt.Errorf("unknown schema %s", ap.URN)
		}
		if s == rt.Schema {
			r.attr = find(s.Attributes, ap.Name)
			if r.attr == nil {
				r.attr = find(commonAttrs, ap.Name)
			}
		} else {
			r.ext, r.attr = s.ID, find(s.Attributes, ap.Name)
		}
	default:
		if r.attr = find(commonAttrs, ap.Name); r.attr == nil {
			r.attr = find(rt.Schema.Attributes, ap.Name)
		}
		if r.attr == nil {
			for _, s := range rt.Extensions {
				if a := find(s.Attributes, ap.Name); a != nil {
					if r.attr != nil {
						return ref{}, fmt.Errorf("attribute %s is ambiguous: prefix it with its schema URN", ap.Name)
					}
					r.ext, r.attr = s.ID, a
				}
			}
		}
	}
	if r.attr == nil {
		return ref{}, fmt.Errorf("unknown attribute %s", ap)
	}
	if ap.Sub != "" {
		if r.attr.Type != tComplex {
			return ref{}, fmt.Errorf("attribute %s has no sub-attributes", r.attr.Name)
		}
		if r.sub = r.attr.sub(ap.Sub); r.sub == nil {
			return ref{}, fmt.Errorf("unknown sub-attribute %s", ap)
		}
	}
	return r, nil
}

// scope is where filter paths resolve: a resource type, or (inside a value
// filter) the sub-attributes of a complex attribute.
type scope struct {
	rt     *ResourceType
	parent *Attribute
}

func (sc scope) resolve(ap attrPath) (ref, error) {
	if sc.parent == nil {
		r, err := resolve(sc.rt, ap)
		if err == nil && r.attr == nil {
			err = fmt.Errorf("%s is a schema, not an attribute", r.ext)
		}
		return r, err
	}
	if ap.URN != "" || ap.Sub != "" {
		return ref{}, fmt.Errorf("%s: inside [] use the sub-attributes of %s", ap, sc.parent.Name)
	}
	a := sc.parent.sub(ap.Name)
	if a == nil {
		return ref{}, fmt.Errorf("%s has no sub-attribute %s", sc.parent.Name, ap.Name)
	}
	return ref{attr: a}, nil
}

// values returns the values a ref designates in a resource (or element):
// every value of a multi-valued attribute, the "value" sub-attribute of a
// multi-valued complex attribute referenced without a sub-attribute.
func (r ref) values(get getter) []any {
	var v any
	if r.ext != "" {
		m, _ := get(r.ext).(map[string]any)
		v = m[r.attr.Name]
	} else {
		v = get(r.attr.Name)
	}
	if v == nil {
		return nil
	}
	pick := func(x any) any {
		m, ok := x.(map[string]any)
		switch {
		case r.sub != nil:
			return m[r.sub.Name]
		case r.attr.Type == tComplex && r.attr.MultiValued && ok:
			return m["value"]
		}
		return x
	}
	if arr, ok := v.([]any); ok {
		out := make([]any, 0, len(arr))
		for _, x := range arr {
			if y := pick(x); y != nil {
				out = append(out, y)
			}
		}
		return out
	}
	if y := pick(v); y != nil {
		return []any{y}
	}
	return nil
}

// def is the attribute whose type and caseExact govern comparisons.
func (r ref) def() *Attribute {
	switch {
	case r.sub != nil:
		return r.sub
	case r.attr.Type == tComplex && r.attr.MultiValued:
		if v := r.attr.sub("value"); v != nil {
			return v
		}
	}
	return r.attr
}

// compileFilter resolves a filter against a resource type. Errors are 400
// invalidFilter.
func compileFilter(rt *ResourceType, e expr) (pred, error) {
	p, err := compile(scope{rt: rt}, e)
	if err != nil {
		return nil, badRequest(typeInvalidFilter, "Invalid filter: %v.", err)
	}
	return p, nil
}

func compile(sc scope, e expr) (pred, error) {
	switch e := e.(type) {
	case *logicalExpr:
		l, err := compile(sc, e.l)
		if err != nil {
			return nil, err
		}
		r, err := compile(sc, e.r)
		if err != nil {
			return nil, err
		}
		if e.and {
			return func(g getter) bool { return l(g) && r(g) }, nil
		}
		return func(g getter) bool { return l(g) || r(g) }, nil
	case *notExpr:
		x, err := compile(sc, e.x)
		if err != nil {
			return nil, err
		}
		return func(g getter) bool { return !x(g) }, nil
	case *valuePathExpr:
		r, err := sc.resolve(e.path)
		if err != nil {
			return nil, err
		}
		if r.attr.Type != tComplex {
			return nil, fmt.Errorf("%s is not complex: [] filters apply to complex attributes", r)
		}
		inner, err := compile(scope{parent: r.attr}, e.filter)
		if err != nil {
			return nil, err
		}
		return func(g getter) bool {
			for _, el := range elements(r, g) {
				if inner(el.get) {
					return true
				}
			}
			return false
		}, nil
	case *compareExpr:
		return compileCompare(sc, e)
	}
	return nil, fmt.Errorf("unsupported expression")
}

// element is one value of a complex attribute, as a getter.
type element map[string]any

func (el element) get(k string) any { return el[k] }

// elements returns the values of a complex attribute (one for a
// single-valued one).
func elements(r ref, g getter) []element {
	whole := ref{ext: r.ext, attr: &Attribute{Name: r.attr.Name}}
	var out []element
	for _, v := range whole.values(g) {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func compileCompare(sc scope, e *compareExpr) (pred, error) {
	r, err := sc.resolve(e.path)
	if err != nil {
		return nil, err
	}
	if e.op == "pr" || (e.val == nil && (e.op == "eq" || e.op == "ne")) {
		want := e.op != "eq"
		return func(g getter) bool {
			for _, v := range r.values(g) {
				if present(v) {
					return want
				}
			}
			return !want
		}, nil
	}
	d := r.def()
	if d.Type == tComplex {
		return nil, fmt.Errorf("%s is complex: compare one of its sub-attributes", r)
	}
	val, err := comparand(r, d, e)
	if err != nil {
		return nil, err
	}
	op, caseExact := e.op, d.CaseExact
	if w, ok := val.(string); ok && !caseExact {
		val = lower(w)
	}
	return func(g getter) bool {
		match := false
		for _, v := range r.values(g) {
			if compareValue(v, op, val, caseExact) {
				match = true
				break
			}
		}
		if op == "ne" {
			// ne is "not eq": compareValue answered eq.
			return !match
		}
		return match
	}, nil
}

// comparand checks a comparison's value against the attribute's type and
// converts it: a boolean (or "true"/"false") for booleans with eq/ne, a
// number for numbers (no co/sw/ew), an RFC 3339 time for dateTimes, and for
// strings and references a string (a bare number as written, a boolean as
// text).
func comparand(r ref, d *Attribute, e *compareExpr) (any, error) {
	val := e.val
	switch d.Type {
	case tBoolean:
		if s, ok := val.(string); ok {
			if b, err := strconv.ParseBool(s); err == nil {
				val = b
			}
		}
		if _, ok := val.(bool); !ok {
			return nil, fmt.Errorf("%s is a boolean: compare it with true or false", r)
		}
		if e.op != "eq" && e.op != "ne" {
			return nil, fmt.Errorf("%s is a boolean: only eq, ne and pr apply", r)
		}
	case tInteger, tDecimal:
		if _, ok := val.(float64); !ok {
			return nil, fmt.Errorf("%s is a number: compare it with a number", r)
		}
		if e.op == "co" || e.op == "sw" || e.op == "ew" {
			return nil, fmt.Errorf("%s is a number: %s applies to strings", r, e.op)
		}
	case tDateTime:
		s, ok := val.(string)
		if !ok {
			return nil, fmt.Errorf("%s is a dateTime: compare it with an RFC 3339 time", r)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an RFC 3339 time", s)
		}
		val = t
	default: // strings and references
		switch v := val.(type) {
		case string:
		case float64:
			if e.bare != "" {
				val = e.bare // "externalId eq 007" means "007"
				break
			}
			val = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			val = strconv.FormatBool(v)
		}
	}
	return val, nil
}

// compareValue applies op (ne is evaluated as eq; the caller negates) to a
// resource value and a filter value of the attribute's type.
func compareValue(v any, op string, want any, caseExact bool) bool {
	if op == "ne" {
		op = "eq"
	}
	switch w := want.(type) {
	case bool:
		b, ok := v.(bool)
		return ok && b == w
	case float64:
		f, ok := v.(float64)
		return ok && order(op, cmpFloat(f, w))
	case time.Time:
		s, ok := v.(string)
		if !ok {
			return false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		return err == nil && order(op, t.Compare(w))
	case string:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if !caseExact {
			if op == "eq" {
				return strings.EqualFold(s, w)
			}
			s = lower(s) // w is lower-cased at compile time
		}
		switch op {
		case "co":
			return strings.Contains(s, w)
		case "sw":
			return strings.HasPrefix(s, w)
		case "ew":
			return strings.HasSuffix(s, w)
		}
		return order(op, strings.Compare(s, w))
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func order(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

// present reports whether a value counts as assigned for "pr": not null,
// not an empty string, array or object.
func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// lower lower-cases s, without allocating when it already is lower-case
// ASCII (most identifiers and e-mail addresses).
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.ToLower(s)
		}
	}
	return s
}
