// Package odata parses the OData query options that Microsoft Graph accepts
// on directory collections: $filter (into an AST), $select, $orderby, $top,
// $count, $search and $skiptoken. It knows nothing of users or groups: the
// API surface decides which properties and operators a resource supports
// and how to evaluate them.
//
// Parsing never panics, whatever the input; errors are *Error values with
// the position of the problem.
package odata

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxFilterLength bounds a $filter expression (Graph URLs are limited to a
// few kilobytes; batching lets clients send longer ones).
const MaxFilterLength = 8192

// MaxDepth bounds the nesting of a $filter expression.
const MaxDepth = 64

// Node is a $filter expression node.
type Node interface{ String() string }

// Logical is "and" or "or".
type Logical struct {
	Op          string // "and" | "or"
	Left, Right Node
}

// Not negates its operand.
type Not struct{ X Node }

// Compare is a comparison "Left Op Right" with Op one of eq, ne, gt, ge,
// lt, le.
type Compare struct {
	Op          string
	Left, Right Node
}

// In is "Left in (List...)".
type In struct {
	Left Node
	List []*Literal
}

// Call is a function call: startsWith, endsWith or contains (names are
// lower-cased).
type Call struct {
	Name string
	Args []Node
}

// Lambda is "Path/any(Var: Body)" or "Path/all(Var: Body)". A lambda with
// no arguments ("Path/any()") has an empty Var and a nil Body.
type Lambda struct {
	Path *Path
	Kind string // "any" | "all"
	Var  string
	Body Node
}

// Path is a property path: "displayName", "x/skuId",
// "assignedLicenses/$count", "onPremisesExtensionAttributes/extensionAttribute1".
type Path struct{ Segments []string }

// LiteralKind classifies literals.
type LiteralKind int

// Literal kinds.
const (
	LitString LiteralKind = iota
	LitNumber
	LitBool
	LitNull
	LitGUID
	LitDateTime
)

// Literal is a constant. Text holds the value: the unquoted string, the
// number, "true"/"false", "null", the GUID or the date-time as written.
type Literal struct {
	Kind LiteralKind
	Text string
}

func (n *Logical) String() string {
	return "(" + n.Left.String() + " " + n.Op + " " + n.Right.String() + ")"
}
func (n *Not) String() string { return "not(" + n.X.String() + ")" }
func (n *Compare) String() string {
	return "(" + n.Left.String() + " " + n.Op + " " + n.Right.String() + ")"
}
func (n *In) String() string {
	parts := make([]string, len(n.List))
	for i, l := range n.List {
		parts[i] = l.String()
	}
	return "(" + n.Left.String() + " in (" + strings.Join(parts, ",") + "))"
}
func (n *Call) String() string {
	parts := make([]string, len(n.Args))
	for i, a := range n.Args {
		parts[i] = a.String()
	}
	return n.Name + "(" + strings.Join(parts, ",") + ")"
}
func (n *Lambda) String() string {
	if n.Body == nil {
		return n.Path.String() + "/" + n.Kind + "()"
	}
	return n.Path.String() + "/" + n.Kind + "(" + n.Var + ":" + n.Body.String() + ")"
}
func (n *Path) String() string { return strings.Join(n.Segments, "/") }
func (n *Literal) String() string {
	if n.Kind == LitString {
		return "'" + strings.ReplaceAll(n.Text, "'", "''") + "'"
	}
	return n.Text
}

// Error is a query option error. Msg is Graph-shaped and complete.
type Error struct {
	Code string // Graph error code: BadRequest, Request_UnsupportedQuery, Request_BadRequest
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func syntaxErr(src string, pos int, format string, args ...any) *Error {
	return &Error{Code: "BadRequest", Msg: fmt.Sprintf("Invalid filter clause: %s at position %d in '%s'.", fmt.Sprintf(format, args...), pos, src)}
}

// token kinds
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tGUID
	tDateTime
	tLParen
	tRParen
	tComma
	tColon
	tSlash
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || c == '@' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '.'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// guidAt reports whether s[i:] starts with a GUID (8-4-4-4-12 hex digits)
// not followed by an identifier character.
func guidAt(s string, i int) bool {
	if len(s)-i < 36 {
		return false
	}
	for j := 0; j < 36; j++ {
		c := s[i+j]
		switch j {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return i+36 == len(s) || !isIdentPart(s[i+36])
}

// dateTimeAt returns the length of an ISO date or date-time literal at
// s[i:] (2021-01-31, 2021-01-31T10:00:00Z, with fractions and offsets), or 0.
func dateTimeAt(s string, i int) int {
	digits := func(j, n int) bool {
		if j+n > len(s) {
			return false
		}
		for k := j; k < j+n; k++ {
			if s[k] < '0' || s[k] > '9' {
				return false
			}
		}
		return true
	}
	if !digits(i, 4) || i+4 >= len(s) || s[i+4] != '-' || !digits(i+5, 2) || i+7 >= len(s) || s[i+7] != '-' || !digits(i+8, 2) {
		return 0
	}
	j := i + 10
	if j < len(s) && s[j] == 'T' {
		j++
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ':' || s[j] == '.' || s[j] == 'Z' || s[j] == '+' || s[j] == '-') {
			j++
		}
	}
	if j < len(s) && isIdentPart(s[j]) {
		return 0
	}
	return j - i
}

// punct are the one-character tokens.
var punct = map[byte]tokKind{'(': tLParen, ')': tRParen, ',': tComma, ':': tColon, '/': tSlash}

// lex splits src into tokens, ending with tEOF; the first lexical error
// stops it.
func lex(src string) ([]token, *Error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		if k, ok := punct[c]; ok {
			toks = append(toks, token{k, string(c), i})
			i++
			continue
		}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case guidAt(src, i):
			toks = append(toks, token{tGUID, strings.ToLower(src[i : i+36]), i})
			i += 36
			continue
		case dateTimeAt(src, i) > 0:
			n := dateTimeAt(src, i)
			toks = append(toks, token{tDateTime, src[i : i+n], i})
			i += n
			continue
		}
		var t token
		var err *Error
		switch {
		case c == '\'':
			t, i, err = lexString(src, i)
		case c == '-' || (c >= '0' && c <= '9'):
			t, i, err = lexNumber(src, i)
		case isIdentStart(c):
			start := i
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			t = token{tIdent, src[start:i], start}
		default:
			err = syntaxErr(src, i, "character '%s' is not valid", string(rune(c)))
		}
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
	}
	toks = append(toks, token{tEOF, "", len(src)})
	return toks, nil
}

// lexString reads the '…' literal at src[i] (two quotes stand for one) and
// returns it with the offset after it.
func lexString(src string, i int) (token, int, *Error) {
	start := i
	i++
	var b strings.Builder
	for i < len(src) {
		if src[i] == '\'' {
			if i+1 < len(src) && src[i+1] == '\'' {
				b.WriteByte('\'')
				i += 2
				continue
			}
			return token{tString, b.String(), start}, i + 1, nil
		}
		b.WriteByte(src[i])
		i++
	}
	return token{}, i, syntaxErr(src, start, "unterminated string literal")
}

// lexNumber reads the number at src[i] (an optional minus, digits and
// dots) and returns it with the offset after it; a letter right after it
// is an error.
func lexNumber(src string, i int) (token, int, *Error) {
	start := i
	i++
	for i < len(src) && (src[i] >= '0' && src[i] <= '9' || src[i] == '.') {
		i++
	}
	text := src[start:i]
	if _, err := strconv.ParseFloat(text, 64); err != nil {
		return token{}, i, syntaxErr(src, start, "invalid number '%s'", text)
	}
	if i < len(src) && isIdentStart(src[i]) {
		return token{}, i, syntaxErr(src, i, "unexpected character '%c'", src[i])
	}
	return token{tNumber, text, start}, i, nil
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
	vars  []string // lambda variables in scope
}

// ParseFilter parses a $filter expression.
func ParseFilter(src string) (Node, error) {
	if len(src) > MaxFilterLength {
		return nil, &Error{Code: "BadRequest", Msg: fmt.Sprintf("Invalid filter clause: the expression is longer than %d characters.", MaxFilterLength)}
	}
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Code: "BadRequest", Msg: "Invalid filter clause: the expression is empty."}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	n, perr := p.parseOr()
	if perr != nil {
		return nil, perr
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, syntaxErr(src, t.pos, "unexpected '%s'", t.text)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) keyword(t token, kw string) bool {
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) enter() *Error {
	p.depth++
	if p.depth > MaxDepth {
		return syntaxErr(p.src, p.peek().pos, "the expression is nested more than %d levels deep", MaxDepth)
	}
	return nil
}

func (p *parser) parseOr() (Node, *Error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.keyword(p.peek(), "or") {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: "or", Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseAnd() (Node, *Error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.keyword(p.peek(), "and") {
		p.next()
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: "and", Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseUnary() (Node, *Error) {
	if p.keyword(p.peek(), "not") {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	return p.parseComparison()
}

var compareOps = map[string]bool{"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true}

func (p *parser) parseComparison() (Node, *Error) {
	left, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind == tIdent {
		op := strings.ToLower(t.text)
		if compareOps[op] {
			p.next()
			right, err := p.parsePrimary()
			if err != nil {
				return nil, err
			}
			return &Compare{Op: op, Left: left, Right: right}, nil
		}
		if op == "in" {
			p.next()
			if p.next().kind != tLParen {
				return nil, syntaxErr(p.src, t.pos, "'(' expected after 'in'")
			}
			var list []*Literal
			for {
				lt := p.peek()
				lit, ok := p.literal(lt)
				if !ok {
					return nil, syntaxErr(p.src, lt.pos, "a literal expected in the 'in' list")
				}
				p.next()
				list = append(list, lit)
				sep := p.next()
				if sep.kind == tRParen {
					break
				}
				if sep.kind != tComma {
					return nil, syntaxErr(p.src, sep.pos, "',' or ')' expected")
				}
			}
			return &In{Left: left, List: list}, nil
		}
	}
	return left, nil
}

// literal converts a token to a literal, if it is one.
func (p *parser) literal(t token) (*Literal, bool) {
	switch t.kind {
	case tString:
		return &Literal{Kind: LitString, Text: t.text}, true
	case tNumber:
		return &Literal{Kind: LitNumber, Text: t.text}, true
	case tGUID:
		return &Literal{Kind: LitGUID, Text: t.text}, true
	case tDateTime:
		return &Literal{Kind: LitDateTime, Text: t.text}, true
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			return &Literal{Kind: LitBool, Text: strings.ToLower(t.text)}, true
		case "null":
			return &Literal{Kind: LitNull, Text: "null"}, true
		}
	}
	return nil, false
}

var functions = map[string]int{"startswith": 2, "endswith": 2, "contains": 2}

func (p *parser) parsePrimary() (Node, *Error) {
	t := p.peek()
	switch t.kind {
	case tLParen:
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		p.depth--
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, syntaxErr(p.src, c.pos, "')' expected")
		}
		return n, nil
	case tEOF:
		return nil, syntaxErr(p.src, t.pos, "an expression expected")
	}
	if lit, ok := p.literal(t); ok {
		p.next()
		return lit, nil
	}
	if t.kind != tIdent {
		return nil, syntaxErr(p.src, t.pos, "unexpected '%s'", t.text)
	}
	name := strings.ToLower(t.text)
	if nargs, ok := functions[name]; ok && p.toks[p.i+1].kind == tLParen {
		p.next()
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		var args []Node
		for {
			a, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			sep := p.next()
			if sep.kind == tRParen {
				break
			}
			if sep.kind != tComma {
				return nil, syntaxErr(p.src, sep.pos, "',' or ')' expected")
			}
		}
		if len(args) != nargs {
			return nil, syntaxErr(p.src, t.pos, "function '%s' takes %d arguments, not %d", t.text, nargs, len(args))
		}
		return &Call{Name: name, Args: args}, nil
	}
	return p.parsePath()
}

// parsePath parses a property path, possibly ending in a lambda.
func (p *parser) parsePath() (Node, *Error) {
	first := p.next()
	path := &Path{Segments: []string{first.text}}
	for p.peek().kind == tSlash {
		p.next()
		seg := p.next()
		if seg.kind != tIdent {
			return nil, syntaxErr(p.src, seg.pos, "a property name expected after '/'")
		}
		kind := strings.ToLower(seg.text)
		if (kind == "any" || kind == "all") && p.peek().kind == tLParen {
			return p.parseLambda(path, kind, seg)
		}
		path.Segments = append(path.Segments, seg.text)
	}
	return path, nil
}

func (p *parser) parseLambda(path *Path, kind string, at token) (Node, *Error) {
	p.next() // (
	if p.peek().kind == tRParen {
		p.next()
		return &Lambda{Path: path, Kind: kind}, nil
	}
	v := p.next()
	if v.kind != tIdent {
		return nil, syntaxErr(p.src, v.pos, "a lambda variable expected")
	}
	if c := p.next(); c.kind != tColon {
		return nil, syntaxErr(p.src, c.pos, "':' expected after the lambda variable '%s'", v.text)
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.vars = append(p.vars, v.text)
	body, err := p.parseOr()
	p.vars = p.vars[:len(p.vars)-1]
	if err != nil {
		return nil, err
	}
	if c := p.next(); c.kind != tRParen {
		return nil, syntaxErr(p.src, c.pos, "')' expected to close '%s'", at.text)
	}
	return &Lambda{Path: path, Kind: kind, Var: v.text, Body: body}, nil
}
