package scim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// This file parses the filter language of RFC 7644 §3.4.2.2 and the PATCH
// paths of §3.5.2 into syntax trees. Names are resolved against a schema
// later (compile.go). Operators, logical words and literals are
// case-insensitive; precedence is not > and > or; parentheses group.
//
//	FILTER    = attrExp / logExp / valuePath / "not" "(" FILTER ")" / "(" FILTER ")"
//	valuePath = attrPath "[" valFilter "]"
//	attrExp   = attrPath "pr" / attrPath compareOp compValue
//	PATH      = attrPath / valuePath [subAttr]
//	attrPath  = [URI ":"] ATTRNAME ["." ATTRNAME]

const (
	maxFilterLen   = 10000
	maxFilterDepth = 32
)

// attrPath is an attribute reference as written: URN is the schema prefix
// ("" when absent), Name the attribute, Sub the sub-attribute ("" when
// absent).
type attrPath struct {
	URN, Name, Sub string
}

func (p attrPath) String() string {
	s := p.Name
	if p.URN != "" {
		s = p.URN + ":" + s
	}
	if p.Sub != "" {
		s += "." + p.Sub
	}
	return s
}

// expr is a filter syntax tree node: *logicalExpr, *notExpr, *compareExpr
// or *valuePathExpr.
type expr interface{ isExpr() }

type logicalExpr struct {
	and  bool
	l, r expr
}

type notExpr struct{ x expr }

// compareExpr is "path op value"; op is lower case; for "pr" val is nil.
// val is a string, float64, bool or nil (null). bare is the value as
// written when it was not quoted ("userName sw O", "meta.created gt
// 2015-10-10T14:38:21Z", "externalId eq 007"): identity providers and
// Microsoft's SCIM reference collection send such values, and where the
// attribute is a string or dateTime the text as written is the value.
type compareExpr struct {
	path attrPath
	op   string
	val  any
	bare string
}

// valuePathExpr is "path[filter]": some value of the multi-valued path
// matches filter, whose paths are relative to the path's sub-attributes.
type valuePathExpr struct {
	path   attrPath
	filter expr
}

func (*logicalExpr) isExpr()   {}
func (*notExpr) isExpr()       {}
func (*compareExpr) isExpr()   {}
func (*valuePathExpr) isExpr() {}

// patchPath is a parsed PATCH path.
type patchPath struct {
	attr   attrPath
	filter expr   // value selection filter, or nil
	sub    string // sub-attribute after the filter ("emails[...].value")
}

// parseFilter parses a filter expression.
func parseFilter(s string) (expr, error) {
	p, err := newParser(s)
	if err != nil {
		return nil, err
	}
	e, err := p.or(0, false)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errAt(t, "unexpected %s", t)
	}
	return e, nil
}

// parsePath parses a PATCH operation path.
func parsePath(s string) (patchPath, error) {
	p, err := newParser(s)
	if err != nil {
		return patchPath{}, err
	}
	t := p.next()
	if t.kind != tokWord {
		return patchPath{}, p.errAt(t, "expected an attribute name, found %s", t)
	}
	ap, err := parseAttrPath(t.text)
	if err != nil {
		return patchPath{}, p.errAt(t, "%v", err)
	}
	pp := patchPath{attr: ap}
	if p.peek().kind == tokLBracket {
		p.next()
		if ap.Sub != "" {
			return patchPath{}, p.errAt(t, "a value filter follows an attribute, not a sub-attribute")
		}
		if pp.filter, err = p.or(1, true); err != nil {
			return patchPath{}, err
		}
		if t := p.next(); t.kind != tokRBracket {
			return patchPath{}, p.errAt(t, "expected ], found %s", t)
		}
		if t := p.peek(); t.kind == tokWord && strings.HasPrefix(t.text, ".") {
			p.next()
			pp.sub = t.text[1:]
			if !validName(pp.sub) {
				return patchPath{}, p.errAt(t, "invalid sub-attribute name %q", pp.sub)
			}
		}
	}
	if t := p.peek(); t.kind != tokEOF {
		return patchPath{}, p.errAt(t, "unexpected %s", t)
	}
	return pp, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokString
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
)

type token struct {
	kind tokKind
	text string // word text, or the decoded string
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return strconv.Quote(t.text)
	case tokWord:
		return "'" + t.text + "'"
	default:
		return "'" + t.text + "'"
	}
}

type parser struct {
	toks []token
	i    int
}

func newParser(s string) (*parser, error) {
	if len(s) > maxFilterLen {
		return nil, fmt.Errorf("the expression is longer than %d characters", maxFilterLen)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	return &parser{toks: toks}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return fmt.Errorf("at position %d: %s", t.pos+1, fmt.Sprintf(format, args...))
}

func (p *parser) keyword(t token, kw string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, kw)
}

// or parses a disjunction. inValue: inside a value filter ("[...]"),
// where value paths may not nest.
func (p *parser) or(depth int, inValue bool) (expr, error) {
	if depth > maxFilterDepth {
		return nil, p.errAt(p.peek(), "the expression nests deeper than %d levels", maxFilterDepth)
	}
	l, err := p.and(depth, inValue)
	if err != nil {
		return nil, err
	}
	for p.keyword(p.peek(), "or") {
		p.next()
		r, err := p.and(depth, inValue)
		if err != nil {
			return nil, err
		}
		l = &logicalExpr{and: false, l: l, r: r}
	}
	return l, nil
}

func (p *parser) and(depth int, inValue bool) (expr, error) {
	l, err := p.unary(depth, inValue)
	if err != nil {
		return nil, err
	}
	for p.keyword(p.peek(), "and") {
		p.next()
		r, err := p.unary(depth, inValue)
		if err != nil {
			return nil, err
		}
		l = &logicalExpr{and: true, l: l, r: r}
	}
	return l, nil
}

func (p *parser) unary(depth int, inValue bool) (expr, error) {
	t := p.peek()
	if p.keyword(t, "not") && p.toks[p.i+1].kind == tokLParen {
		p.next()
		x, err := p.group(depth, inValue)
		if err != nil {
			return nil, err
		}
		return &notExpr{x: x}, nil
	}
	if t.kind == tokLParen {
		return p.group(depth, inValue)
	}
	return p.attrExp(inValue)
}

// group parses "(" FILTER ")".
func (p *parser) group(depth int, inValue bool) (expr, error) {
	if t := p.next(); t.kind != tokLParen {
		return nil, p.errAt(t, "expected (, found %s", t)
	}
	x, err := p.or(depth+1, inValue)
	if err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tokRParen {
		return nil, p.errAt(t, "expected ), found %s", t)
	}
	return x, nil
}

var compareOps = map[string]bool{"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true, "ge": true, "lt": true, "le": true}

func (p *parser) attrExp(inValue bool) (expr, error) {
	t := p.next()
	if t.kind != tokWord {
		return nil, p.errAt(t, "expected an attribute name, found %s", t)
	}
	ap, err := parseAttrPath(t.text)
	if err != nil {
		return nil, p.errAt(t, "%v", err)
	}
	if p.peek().kind == tokLBracket {
		if inValue {
			return nil, p.errAt(p.peek(), "value filters may not nest")
		}
		if ap.Sub != "" {
			return nil, p.errAt(t, "a value filter follows an attribute, not a sub-attribute")
		}
		p.next()
		f, err := p.or(1, true)
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tokRBracket {
			return nil, p.errAt(t, "expected ], found %s", t)
		}
		return &valuePathExpr{path: ap, filter: f}, nil
	}
	opTok := p.next()
	if opTok.kind != tokWord {
		return nil, p.errAt(opTok, "expected an operator after %s, found %s", ap, opTok)
	}
	op := strings.ToLower(opTok.text)
	if op == "pr" {
		return &compareExpr{path: ap, op: op}, nil
	}
	if !compareOps[op] {
		return nil, p.errAt(opTok, "unknown operator %q (use eq, ne, co, sw, ew, gt, ge, lt, le or pr)", opTok.text)
	}
	vt := p.next()
	var v any
	bare := ""
	switch vt.kind {
	case tokString:
		v = vt.text
	case tokWord:
		switch lw := strings.ToLower(vt.text); lw {
		case "true":
			v = true
		case "false":
			v = false
		case "null":
			v = nil
		case "and", "or", "not":
			// "userName eq and": a logical word where a value belongs is
			// more likely a missing value than a name; quote it to mean it.
			return nil, p.errAt(vt, "expected a value after %s, found %s (quote it if it is the value)", op, vt)
		default:
			bare = vt.text
			if f, err := strconv.ParseFloat(vt.text, 64); err == nil {
				v = f
			} else {
				v = vt.text
			}
		}
	default:
		return nil, p.errAt(vt, "expected a value after %s, found %s", op, vt)
	}
	return &compareExpr{path: ap, op: op, val: v, bare: bare}, nil
}

// parseAttrPath splits "[urn:]name[.sub]". The URN is everything before
// the last colon (URNs contain dots, names do not contain colons).
func parseAttrPath(s string) (attrPath, error) {
	var ap attrPath
	rest := s
	if len(s) > 4 && strings.EqualFold(s[:4], "urn:") {
		i := strings.LastIndexByte(s, ':')
		ap.URN, rest = s[:i], s[i+1:]
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	if !validName(name) {
		return attrPath{}, fmt.Errorf("invalid attribute name %q", s)
	}
	if hasSub && !validName(sub) {
		return attrPath{}, fmt.Errorf("invalid sub-attribute name in %q", s)
	}
	ap.Name, ap.Sub = name, sub
	return ap, nil
}

// validName reports whether s is an ATTRNAME (ALPHA *(ALPHA / DIGIT / "-" /
// "_")) or "$ref".
func validName(s string) bool {
	if s == "$ref" {
		return true
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// lex splits s into tokens; the last token is tokEOF.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '[' || c == ']':
			k := map[byte]tokKind{'(': tokLParen, ')': tokRParen, '[': tokLBracket, ']': tokRBracket}[c]
			toks = append(toks, token{kind: k, text: string(c), pos: i})
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("at position %d: unterminated string", i+1)
			}
			var v string
			if err := json.Unmarshal([]byte(s[i:j+1]), &v); err != nil {
				return nil, fmt.Errorf("at position %d: invalid string %s", i+1, s[i:j+1])
			}
			toks = append(toks, token{kind: tokString, text: v, pos: i})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()[]\"", rune(s[j])) {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: s[i:j], pos: i})
			i = j
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(s)}), nil
}
