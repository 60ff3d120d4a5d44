package odata

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Query holds the parsed query options of a request.
type Query struct {
	Select    []string // as given (case preserved); nil when absent
	Filter    Node     // nil when absent
	FilterRaw string
	Top       int  // 0 when absent
	Count     bool // $count=true
	OrderBy   []OrderBy
	Search    *Search // nil when absent
	SkipToken string
	// DeltaToken is $deltatoken (delta functions only): a state token
	// from an @odata.deltaLink, or "latest".
	DeltaToken string
	Expand     []Expand // nil when absent
	// Eventual is set when the request carries ConsistencyLevel: eventual.
	Eventual bool
}

// OrderBy is one $orderby key.
type OrderBy struct {
	Property string
	Desc     bool
}

// Options says which query options an endpoint accepts.
type Options struct {
	Select, Filter, Top, Count, OrderBy, Search, SkipToken, Expand, DeltaToken bool
}

// Expand is one item of $expand: a navigation property and the $select
// of its objects ("members($select=id,displayName)"); the endpoint
// decides which properties it expands.
type Expand struct {
	Property string
	Select   []string // nil when absent
}

// MaxTop is the largest page size Graph accepts on directory collections.
const MaxTop = 999

// Unsupported builds Graph's answer to a query option the endpoint does not
// support.
func Unsupported(option string) *Error {
	return &Error{Code: "Request_BadRequest", Msg: fmt.Sprintf("'%s' is not supported by the service.", option)}
}

// Parse reads the query options of values that opts allows. Options with a
// '$' the endpoint does not support are refused (never ignored); parameters
// without '$' are not OData's and are left alone. eventual is whether the
// request carries ConsistencyLevel: eventual.
func Parse(values url.Values, opts Options, eventual bool) (*Query, error) {
	q := &Query{Eventual: eventual}
	for key, vals := range values {
		if !strings.HasPrefix(key, "$") {
			continue
		}
		if len(vals) > 1 {
			return nil, &Error{Code: "BadRequest", Msg: fmt.Sprintf("Query option '%s' was specified more than once, but it must be specified at most once.", key)}
		}
		o, ok := queryOptions[strings.ToLower(key)]
		if !ok || !o.allowed(opts) {
			return nil, Unsupported(key)
		}
		if err := o.read(q, vals[0]); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// queryOption is one OData query option: whether an endpoint's Options
// allow it, and how its value is read into a query (an error is Graph's
// answer to a bad value).
type queryOption struct {
	allowed func(Options) bool
	read    func(q *Query, v string) error
}

// queryOptions are the options Parse knows, by lower-case name.
var queryOptions = map[string]queryOption{
	"$select":     {func(o Options) bool { return o.Select }, readSelect},
	"$filter":     {func(o Options) bool { return o.Filter }, parsed(ParseFilter, func(q *Query, n Node, raw string) { q.Filter, q.FilterRaw = n, raw })},
	"$top":        {func(o Options) bool { return o.Top }, readTop},
	"$count":      {func(o Options) bool { return o.Count }, readCount},
	"$orderby":    {func(o Options) bool { return o.OrderBy }, parsed(parseOrderBy, func(q *Query, x []OrderBy, _ string) { q.OrderBy = x })},
	"$search":     {func(o Options) bool { return o.Search }, parsed(ParseSearch, func(q *Query, x *Search, _ string) { q.Search = x })},
	"$expand":     {func(o Options) bool { return o.Expand }, parsed(parseExpand, func(q *Query, x []Expand, _ string) { q.Expand = x })},
	"$skiptoken":  {func(o Options) bool { return o.SkipToken }, func(q *Query, v string) error { q.SkipToken = v; return nil }},
	"$deltatoken": {func(o Options) bool { return o.DeltaToken }, func(q *Query, v string) error { q.DeltaToken = v; return nil }},
}

// readSelect reads a comma-separated property list; an empty item is a
// syntax error.
func readSelect(q *Query, v string) error {
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			return &Error{Code: "BadRequest", Msg: "Syntax error: character ',' is not valid in $select."}
		}
		q.Select = append(q.Select, s)
	}
	return nil
}

// readTop reads a page size between 1 and MaxTop.
func readTop(q *Query, v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > MaxTop {
		return &Error{Code: "Request_UnsupportedQuery", Msg: fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, MaxTop)}
	}
	q.Top = n
	return nil
}

// readCount reads true or false (any case).
func readCount(q *Query, v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		q.Count = true
	case "false":
	default:
		return &Error{Code: "BadRequest", Msg: fmt.Sprintf("'%s' is not a valid count option.", v)}
	}
	return nil
}

// parsed is the read step of an option whose value a parser reads: the
// parser's error is the answer, else set stores its result (and the raw
// value) in the query.
func parsed[T any](parse func(string) (T, error), set func(q *Query, x T, raw string)) func(*Query, string) error {
	return func(q *Query, v string) error {
		x, err := parse(v)
		if err != nil {
			return err
		}
		set(q, x, v)
		return nil
	}
}

// parseExpand reads "a,b($select=x,y)": items separated by commas outside
// parentheses, each a property with an optional $select (the only nested
// option accepted).
func parseExpand(v string) ([]Expand, error) {
	bad := &Error{Code: "BadRequest", Msg: fmt.Sprintf("Syntax error in $expand: '%s'.", v)}
	var out []Expand
	depth, start := 0, 0
	var items []string
	for i, r := range v {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, bad
			}
		case ',':
			if depth == 0 {
				items = append(items, v[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, bad
	}
	items = append(items, v[start:])
	for _, it := range items {
		it = strings.TrimSpace(it)
		name, rest, nested := strings.Cut(it, "(")
		name = strings.TrimSpace(name)
		if name == "" || strings.ContainsAny(name, " )") {
			return nil, bad
		}
		ex := Expand{Property: name}
		if nested {
			if !strings.HasSuffix(rest, ")") {
				return nil, bad
			}
			for _, opt := range strings.Split(strings.TrimSuffix(rest, ")"), ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(opt), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "$select") {
					return nil, Unsupported(strings.TrimSpace(k) + " in $expand")
				}
				for _, s := range strings.Split(val, ",") {
					if s = strings.TrimSpace(s); s == "" {
						return nil, &Error{Code: "BadRequest", Msg: "Syntax error: character ',' is not valid in $select."}
					}
					ex.Select = append(ex.Select, s)
				}
			}
		}
		out = append(out, ex)
	}
	return out, nil
}

func parseOrderBy(v string) ([]OrderBy, error) {
	var out []OrderBy
	for _, part := range strings.Split(v, ",") {
		fields := strings.Fields(part)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, &Error{Code: "BadRequest", Msg: fmt.Sprintf("Syntax error in $orderby: '%s'.", v)}
		}
		ob := OrderBy{Property: fields[0]}
		if len(fields) == 2 {
			switch strings.ToLower(fields[1]) {
			case "asc":
			case "desc":
				ob.Desc = true
			default:
				return nil, &Error{Code: "BadRequest", Msg: fmt.Sprintf("Syntax error in $orderby: '%s' is not asc or desc.", fields[1])}
			}
		}
		out = append(out, ob)
	}
	return out, nil
}

// Search is a parsed $search: terms "property:value" combined with AND or
// OR (AND binds tighter, as in Graph).
type Search struct {
	// Any is a disjunction of conjunctions.
	Any [][]SearchTerm
}

// SearchTerm matches when a token of Property starts with Value
// (case-insensitively).
type SearchTerm struct {
	Property string
	Value    string
}

// ParseSearch parses Graph's $search syntax for directory objects:
// "displayName:foo" OR "mail:bar" AND "displayName:baz".
func ParseSearch(v string) (*Search, error) {
	bad := func(msg string) error {
		return &Error{Code: "Request_UnsupportedQuery", Msg: "Syntax error: " + msg + " in $search '" + v + "'."}
	}
	s := &Search{}
	var conj []SearchTerm
	i := 0
	expectTerm := true
	for {
		for i < len(v) && v[i] == ' ' {
			i++
		}
		if i >= len(v) {
			break
		}
		if !expectTerm {
			j := i
			for j < len(v) && v[j] != ' ' && v[j] != '"' {
				j++
			}
			switch strings.ToUpper(v[i:j]) {
			case "AND":
			case "OR":
				s.Any = append(s.Any, conj)
				conj = nil
			default:
				return nil, bad("AND or OR expected")
			}
			i = j
			expectTerm = true
			continue
		}
		if v[i] != '"' {
			return nil, bad("a quoted \"property:value\" term expected")
		}
		end := strings.IndexByte(v[i+1:], '"')
		if end < 0 {
			return nil, bad("unterminated quote")
		}
		term := v[i+1 : i+1+end]
		prop, val, ok := strings.Cut(term, ":")
		if !ok || strings.TrimSpace(prop) == "" {
			return nil, bad("a term must be \"property:value\"")
		}
		conj = append(conj, SearchTerm{Property: strings.TrimSpace(prop), Value: val})
		i += end + 2
		expectTerm = false
	}
	if expectTerm {
		return nil, bad("a term expected")
	}
	s.Any = append(s.Any, conj)
	return s, nil
}
