package rules

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse compiles a dynamic membership rule for users, in the language of
// Microsoft Entra ID (see the package documentation). On failure the error is
// an ErrorList with every problem found, each with its line and column; syntax
// errors stop parsing, other problems (an unknown property, an operator that
// doesn't suit a property, a bad regular expression) are collected. Parse
// never panics.
func Parse(rule string) (*Rule, error) {
	return parse(rule, MaxRuleLength)
}

// parse is Parse with a length limit of maxLen characters.
func parse(rule string, maxLen int) (*Rule, error) {
	if n := utf8.RuneCountInString(rule); n > maxLen {
		off := 0
		for range maxLen {
			_, w := utf8.DecodeRuneInString(rule[off:])
			off += w
		}
		return nil, ErrorList{newError(rule, off, "",
			"the rule is %s characters long; the limit is %s", thousands(n), thousands(maxLen))}
	}
	toks, lerr := lex(rule)
	if lerr != nil {
		return nil, ErrorList{lerr}
	}
	p := &parser{src: rule, toks: toks}
	root := p.parse()
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return newRule(root), nil
}

// thousands formats n with a comma every three digits, as people write
// Entra's limit ("3,072").
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// newRule finishes a parsed tree: what it reads, and its index condition.
func newRule(root *node) *Rule {
	r := &Rule{root: root}
	var walk func(n *node)
	walk = func(n *node) {
		switch n.kind {
		case kindCmp, kindAny, kindAll:
			r.props = append(r.props, n.prop)
			if n.val.kind == valNow {
				r.usesNow = true
			}
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(root)
	slices.Sort(r.props)
	r.props = slices.Clip(slices.Compact(r.props))
	r.atoms, r.indexed = need(root, false)
	r.atoms = dedupeAtoms(r.atoms)
	return r
}

type parser struct {
	src   string
	toks  []token
	i     int
	errs  ErrorList
	scope *scope // the -any/-all condition being parsed, if any
}

// scope is the condition of an -any/-all: it may refer to the items of coll.
type scope struct {
	coll    propInfo // user.proxyAddresses, user.otherMails or user.assignedPlans
	name    string   // "user.proxyAddresses"
	op      string   // "-any" or "-all"
	lenient bool     // the collection was invalid (already reported): accept any item
}

// bailout unwinds the parser after a syntax error; Parse recovers it.
type bailout struct{}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// fail records a syntax error at t and stops parsing.
func (p *parser) fail(t token, format string, args ...any) {
	p.errs = append(p.errs, newError(p.src, t.pos, describe(p.src, t), format, args...))
	panic(bailout{})
}

// report records an error at t and lets parsing continue.
func (p *parser) report(t token, format string, args ...any) {
	p.errs = append(p.errs, newError(p.src, t.pos, "", format, args...))
}

// after names the token before the current one, for "expected X after Y".
func (p *parser) after() string {
	if p.i == 0 {
		return ""
	}
	t := p.toks[p.i-1]
	if name, ok := opName(t); ok {
		return " after -" + name
	}
	return " after " + describe(p.src, t)
}

func (p *parser) parse() (root *node) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
			root = nil
		}
	}()
	t := p.peek()
	if t.kind == tokEOF {
		p.fail(t, `the rule is empty; expected a condition like user.department -eq "Sales"`)
	}
	if len(p.toks) > 2 && t.kind == tokWord && strings.EqualFold(t.val, "direct") &&
		p.toks[1].kind == tokWord && strings.EqualFold(p.toks[1].val, "reports") {
		p.fail(t, "Direct Reports rules are not supported: allot evaluates rules on user attributes")
	}
	n := p.parseOr()
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokRParen {
			p.fail(t, "this ) has no matching (")
		}
		if name, _ := opName(t); name == "not" {
			p.fail(t, "expected -and or -or before -not")
		}
		p.fail(t, "expected -and, -or or the end of the rule")
	}
	return n
}

// Operators by lower-case name without the hyphen.
var (
	comparisonOps = map[string]struct {
		op  cmpOp
		neg bool
	}{
		"eq": {opEq, false}, "ne": {opEq, true},
		"startswith": {opStartsWith, false}, "notstartswith": {opStartsWith, true},
		"endswith": {opEndsWith, false}, "notendswith": {opEndsWith, true},
		"contains": {opContains, false}, "notcontains": {opContains, true},
		"match": {opMatch, false}, "notmatch": {opMatch, true},
		"in": {opIn, false}, "notin": {opIn, true},
		"le": {opLe, false}, "ge": {opGe, false},
	}
	otherOps = map[string]bool{"and": true, "or": true, "not": true, "any": true, "all": true, "plus": true, "minus": true}
)

// opName returns the lower-case name of the operator t, written with or
// without its hyphen.
func opName(t token) (string, bool) {
	switch t.kind {
	case tokOp:
		return t.val, true
	case tokWord:
		l := strings.ToLower(t.val)
		if _, ok := comparisonOps[l]; ok || otherOps[l] {
			return l, true
		}
	}
	return "", false
}

func (p *parser) isOp(name string) bool {
	n, ok := opName(p.peek())
	return ok && n == name
}

// join combines x and y with -and or -or, flattening chains.
func join(kind nodeKind, x, y *node) *node {
	if x.kind != kind {
		x = &node{kind: kind, kids: []*node{x}}
	}
	if y.kind == kind {
		x.kids = append(x.kids, y.kids...)
	} else {
		x.kids = append(x.kids, y)
	}
	return x
}

// parseOr parses the lowest level: conditions joined by -or.
func (p *parser) parseOr() *node {
	x := p.parseAnd()
	for p.isOp("or") {
		p.next()
		x = join(kindOr, x, p.parseAnd())
	}
	return x
}

func (p *parser) parseAnd() *node {
	x := p.parseNot()
	for p.isOp("and") {
		p.next()
		x = join(kindAnd, x, p.parseNot())
	}
	return x
}

func (p *parser) parseNot() *node {
	if p.isOp("not") {
		p.next()
		return &node{kind: kindNot, kids: []*node{p.parseNot()}}
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() *node {
	t := p.peek()
	switch t.kind {
	case tokLParen:
		p.next()
		x := p.parseOr()
		if p.peek().kind != tokRParen {
			p.fail(p.peek(), "expected ) to close the ( from %s", position(p.src, t.pos))
		}
		p.next()
		return x
	case tokWord:
		if _, isOp := opName(t); !isOp {
			return p.parseCondition()
		}
	}
	p.fail(t, `expected a condition like user.department -eq "Sales"%s`, p.after())
	return nil
}

// propRef is a resolved left-hand side.
type propRef struct {
	ok      bool // false when an error was reported for it: skip further checks
	src     srcKind
	info    propInfo
	key     string // Subject key; for items, their collection's key
	display string // canonical spelling
	field   planField
}

// resolve interprets the property token t; problems are reported and give a
// reference with ok=false.
func (p *parser) resolve(t token) propRef {
	text := t.val
	lower := strings.ToLower(text)
	bad := propRef{src: srcUser, key: lower, display: text}
	sc := p.scope
	if sc != nil && sc.lenient {
		// The -any/-all itself was refused; its condition would only add
		// noise.
		return bad
	}
	switch {
	case lower == "_":
		switch {
		case sc == nil:
			p.report(t, `_ stands for each item of a multi-valued property and can only be used inside -any or -all, e.g. user.proxyAddresses -any (_ -startsWith "smtp:")`)
			return bad
		case sc.coll.typ == typePlans:
			p.report(t, "the items of user.assignedPlans are plans: use assignedPlan.servicePlanId, assignedPlan.capabilityStatus or assignedPlan.service instead of _")
			return bad
		}
		return propRef{ok: true, src: srcItem, info: propInfo{typ: typeString}, key: sc.coll.key, display: "_"}
	case strings.HasPrefix(lower, "assignedplan."):
		if sc == nil || sc.coll.typ != typePlans {
			p.report(t, "%s can only be used inside user.assignedPlans -any (…) or -all (…)", text)
			return bad
		}
		f, ok := planFields[lower[len("assignedplan."):]]
		if !ok {
			p.report(t, "unknown property %s; an assigned plan has servicePlanId, capabilityStatus and service", text)
			return bad
		}
		return propRef{ok: true, src: srcPlanField, info: propInfo{typ: typeString}, key: "assignedplans",
			display: "assignedPlan." + planFieldNames[f], field: f}
	case strings.HasPrefix(lower, "user."):
		name := text[len("user."):]
		info, ok := lookupUserProperty(name)
		if !ok {
			msg := "unknown property " + text
			if s := suggestProperty(name); s != "" {
				msg += " (did you mean user." + s + "?)"
			}
			p.report(t, "%s", msg)
			return bad
		}
		if info.typ == typeUnsupported {
			p.report(t, "user.%s rules are not supported: allot evaluates rules on user attributes", info.name)
			return bad
		}
		if sc != nil {
			p.report(t, "user.%s can't be used inside the %s condition of %s, which tests each item; put that condition in parentheses: %s %s (…)",
				info.name, sc.op, sc.name, sc.name, sc.op)
			return bad
		}
		ref := propRef{ok: true, src: srcUser, info: info, key: info.key, display: "user." + info.name}
		switch info.typ {
		case typeStrings:
			ref.src = srcMulti
		case typePlans:
			ref.src = srcPlans
		}
		return ref
	case strings.HasPrefix(lower, "device."):
		p.report(t, "%s is a device property; allot evaluates rules for users", text)
	case strings.HasPrefix(lower, "group."):
		p.report(t, "%s belongs to user.memberOf rules, which allot does not support", text)
	case lower == "system.now":
		p.report(t, "system.now can only be used as a value, e.g. user.employeeHireDate -ge system.now -minus P30D")
	default:
		if info, ok := lookupUserProperty(text); ok {
			p.report(t, "unknown property %s (did you mean user.%s?)", text, info.name)
		} else {
			p.report(t, "unknown property %s; properties start with user., e.g. user.department", text)
		}
	}
	return bad
}

// parseCondition parses Property Operator Value, or Property -any/-all
// Condition.
func (p *parser) parseCondition() *node {
	pt := p.next()
	ref := p.resolve(pt)
	ot := p.peek()
	name, isOp := opName(ot)
	if !isOp {
		p.fail(ot, "expected an operator like -eq after %s", describe(p.src, pt))
	}
	p.next()
	if name == "any" || name == "all" {
		return p.parseQuantifier(ref, ot, name)
	}
	cop, ok := comparisonOps[name]
	if !ok {
		if otherOps[name] {
			p.fail(ot, "expected a comparison operator like -eq after %s", describe(p.src, pt))
		}
		hint := "; the operators are -eq, -ne, -startsWith, -notStartsWith, -endsWith, -notEndsWith, -contains, -notContains, -match, -notMatch, -in, -notIn, -le, -ge, -any and -all"
		switch name {
		case "gt", "lt":
			hint = "; use -ge or -le"
		case "like", "notlike":
			hint = "; use -match, -startsWith or -contains"
		}
		p.report(ot, "unknown operator %s%s", describe(p.src, ot), hint)
		ref.ok = false
		cop.op = opEq
	}
	n := &node{kind: kindCmp, src: ref.src, prop: ref.key, name: ref.display, field: ref.field, op: cop.op, neg: cop.neg}
	opText := opNames[n.op][0]
	if n.neg {
		opText = opNames[n.op][1]
	}
	vt := p.peek()
	n.val = p.parseValue(n.op, opText)
	if ref.ok {
		p.check(n, ref, ot, vt, opText)
	}
	switch n.val.kind {
	case valString, valNumber, valBool, valDate:
		n.val.key = foldKey(n.val.text)
		n.val.textPlain = isPlain(n.val.text)
	}
	return n
}

// parseQuantifier parses the condition of Collection -any/-all. A condition
// in parentheses ends at its closing parenthesis; one without extends as far
// right as it can, because -any and -all have the lowest precedence.
func (p *parser) parseQuantifier(ref propRef, ot token, name string) *node {
	op := "-" + name
	switch {
	case p.scope != nil:
		p.report(ot, "%s can't be used inside another -any or -all condition", op)
		ref.ok = false
	case ref.ok && ref.src != srcMulti && ref.src != srcPlans:
		p.report(ot, "%s works only with multi-valued properties (user.proxyAddresses, user.otherMails, user.assignedPlans); %s has a single value",
			op, ref.display)
		ref.ok = false
	}
	outer := p.scope
	p.scope = &scope{coll: ref.info, name: ref.display, op: op, lenient: !ref.ok}
	var body *node
	if t := p.peek(); t.kind == tokLParen {
		p.next()
		body = p.parseOr()
		if p.peek().kind != tokRParen {
			p.fail(p.peek(), "expected ) to close the ( from %s", position(p.src, t.pos))
		}
		p.next()
	} else {
		if t.kind == tokEOF {
			p.fail(t, `expected a condition after %s, like (_ -startsWith "smtp:")`, op)
		}
		body = p.parseOr()
	}
	p.scope = outer
	n := &node{kind: kindAny, kids: []*node{body}, src: ref.src, prop: ref.key, name: ref.display}
	if name == "all" {
		n.kind = kindAll
	}
	return n
}

// parseValue parses the right-hand side of a comparison.
func (p *parser) parseValue(op cmpOp, opText string) operand {
	t := p.peek()
	if op == opIn {
		if t.kind != tokLBrack {
			p.fail(t, `expected a list like ["a","b"] after %s`, opText)
		}
		return p.parseList(opText)
	}
	switch t.kind {
	case tokString:
		p.next()
		return operand{kind: valString, text: t.val}
	case tokNumber:
		p.next()
		return operand{kind: valNumber, text: t.val}
	case tokLBrack:
		p.fail(t, "a list can only follow -in or -notIn; expected a value after %s", opText)
	case tokWord:
		switch l := strings.ToLower(t.val); l {
		case "null", "$null":
			p.next()
			return operand{kind: valNull}
		case "true", "false":
			p.next()
			return operand{kind: valBool, text: l}
		case "system.now":
			p.next()
			return p.parseNowOffset()
		}
		if _, isOp := opName(t); isOp {
			break
		}
		p.next()
		if strings.Contains(t.val, ".") {
			p.report(t, "expected a value after %s; a rule can't compare a property with another property", opText)
		} else {
			p.report(t, "expected a value after %s; put strings in double quotes, like \"%s\"", opText, t.val)
		}
		return operand{kind: valString, text: t.val}
	}
	p.fail(t, "expected a value after %s", opText)
	return operand{}
}

// parseNowOffset parses the optional "-plus P1D" / "-minus P1D" after
// system.now.
func (p *parser) parseNowOffset() operand {
	o := operand{kind: valNow}
	name, ok := opName(p.peek())
	if !ok || name != "plus" && name != "minus" {
		return o
	}
	pt := p.next()
	dt := p.peek()
	if dt.kind != tokWord && dt.kind != tokNumber {
		p.fail(dt, "expected a duration like P1D after %s", describe(p.src, pt))
	}
	p.next()
	d, ok := parseISODuration(dt.val)
	if !ok {
		p.report(dt, "invalid duration %s; use ISO 8601, like P1D, P2W, P1M, P1Y or PT12H", dt.val)
	}
	o.dur, o.sign = d, 1
	if name == "minus" {
		o.sign = -1
	}
	return o
}

// parseList parses ["a","b",…] after -in/-notIn.
func (p *parser) parseList(opText string) operand {
	lb := p.next()
	var items []string
	for {
		t := p.peek()
		if t.kind == tokRBrack {
			p.next()
			break
		}
		if len(items) > 0 {
			if t.kind != tokComma {
				p.fail(t, "expected , or ] in the list from %s", position(p.src, lb.pos))
			}
			p.next()
			t = p.peek()
		}
		switch {
		case t.kind == tokString || t.kind == tokNumber:
			items = append(items, t.val)
		case t.kind == tokWord && (strings.EqualFold(t.val, "true") || strings.EqualFold(t.val, "false")):
			items = append(items, strings.ToLower(t.val))
		default:
			p.fail(t, "expected a quoted string in the list from %s", position(p.src, lb.pos))
		}
		p.next()
	}
	if len(items) == 0 {
		p.report(lb, "the list after %s is empty", opText)
	}
	o := operand{kind: valList, list: items, keys: make([]string, len(items))}
	for i, item := range items {
		o.keys[i] = foldKey(item)
	}
	if len(items) >= longList {
		o.set = make(map[string]struct{}, len(items))
		for _, k := range o.keys {
			o.set[k] = struct{}{}
		}
	}
	return o
}

// check verifies that the operator and value suit the property, and prepares
// typed values (dates, numbers, regular expressions). ot and vt are the
// operator and value tokens, for positions. Each property type has its
// step; a problem is reported (p.report) and leaves the value unprepared.
func (p *parser) check(n *node, ref propRef, ot, vt token, opText string) {
	if n.val.kind == valNull && n.op != opEq {
		p.report(vt, "null can only be compared with -eq or -ne")
		return
	}
	switch ref.info.typ {
	case typePlans:
		p.report(ot, `user.assignedPlans can only be used with -any or -all, e.g. user.assignedPlans -any (assignedPlan.capabilityStatus -eq "Enabled")`)
	case typeBool:
		p.checkBool(n, ref, ot, vt, opText)
	case typeDate:
		p.checkDate(n, ref, ot, vt, opText)
	default: // strings, string collections and their items
		p.checkString(n, ref, ot, vt, opText)
	}
}

// checkBool: a true-or-false property takes -eq or -ne with true, false
// (a string of either, any case, becomes a boolean) or null.
func (p *parser) checkBool(n *node, ref propRef, ot, vt token, opText string) {
	v := &n.val
	if n.op != opEq {
		p.report(ot, "%s can't be used with %s, which is true or false; use -eq or -ne", opText, ref.display)
		return
	}
	switch v.kind {
	case valBool, valNull:
	case valString:
		if l := strings.ToLower(v.text); l == "true" || l == "false" {
			v.kind, v.text = valBool, l
			return
		}
		fallthrough
	default:
		p.report(vt, "%s is true or false; expected true, false or null after %s", ref.display, opText)
	}
}

// checkDate: a date property takes -le, -ge, -eq or -ne with a date (parsed
// into v.at), system.now or null.
func (p *parser) checkDate(n *node, ref propRef, ot, vt token, opText string) {
	v := &n.val
	switch n.op {
	case opEq, opLe, opGe:
	default:
		p.report(ot, "%s can't be used with %s, which is a date; use -le, -ge, -eq or -ne", opText, ref.display)
		return
	}
	switch v.kind {
	case valNow, valNull:
	case valString, valNumber:
		if t, ok := parseTime(v.text); ok {
			v.kind, v.at = valDate, t
			return
		}
		fallthrough
	default:
		p.report(vt, `expected a date like "2020-06-10T18:13:20Z" or system.now after %s`, opText)
	}
}

// checkString: a string property (or collection, or item) compares as
// text; -le and -ge only on custom extension properties (checkOrdered);
// system.now only -eq/-ne with a custom extension property; -match
// compiles its pattern (checkMatch).
func (p *parser) checkString(n *node, ref propRef, ot, vt token, opText string) {
	if n.op == opLe || n.op == opGe {
		if !ref.info.custom {
			p.report(ot, "%s compares dates and numbers: it works with user.employeeHireDate and custom extension properties, not %s", opText, ref.display)
			return
		}
		p.checkOrdered(&n.val, vt, opText)
		return
	}
	if n.val.kind == valNow && !(ref.info.custom && n.op == opEq) {
		p.report(vt, "system.now can only be compared with user.employeeHireDate or a custom extension property")
		return
	}
	if n.op == opMatch {
		p.checkMatch(&n.val, vt, opText)
	}
}

// checkOrdered prepares the value -le or -ge compares a custom extension
// property with: system.now, a number (v.numeric) or a date (v.at).
func (p *parser) checkOrdered(v *operand, vt token, opText string) {
	switch v.kind {
	case valNow:
	case valString, valNumber:
		if f, err := strconv.ParseFloat(strings.TrimSpace(v.text), 64); err == nil && !math.IsNaN(f) {
			v.numeric, v.num = true, f
		} else if t, ok := parseTime(v.text); ok {
			v.kind, v.at = valDate, t
		} else {
			p.report(vt, "expected a number or a date after %s", opText)
		}
	default:
		p.report(vt, "expected a number or a date after %s", opText)
	}
}

// checkMatch compiles a -match pattern: the error is reported against the
// pattern as written, then the case-insensitive form that evaluation uses
// is kept with its literal affixes.
func (p *parser) checkMatch(v *operand, vt token, opText string) {
	re, err := regexp.Compile(v.text)
	if err == nil {
		re, err = regexp.Compile("(?i)" + v.text)
	}
	if err != nil {
		msg := err.Error()
		if se, ok := errors.AsType[*syntax.Error](err); ok {
			msg = fmt.Sprintf("%s: %s", se.Code, se.Expr)
		}
		p.report(vt, "invalid regular expression after %s: %s", opText, msg)
		return
	}
	v.re = re
	v.pre, v.suf = regexAffixes(v.text)
	v.preOnly = v.pre != "" && regexIsPrefix(v.text)
}

// regexAffixes returns the literal text that every match of pattern (a valid
// RE2 pattern, matched case-insensitively and unanchored) must begin the
// value with, when it starts with ^ and literals, and must end it with, when
// it ends with literals and $. Evaluation checks them before running the
// regular expression, and the index uses them.
func regexAffixes(pattern string) (prefix, suffix string) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil || re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return "", ""
	}
	subs := re.Sub
	if subs[0].Op == syntax.OpBeginText {
		var b strings.Builder
		for _, s := range subs[1:] {
			if s.Op != syntax.OpLiteral {
				break
			}
			b.WriteString(string(s.Rune))
		}
		prefix = b.String()
	}
	if subs[len(subs)-1].Op == syntax.OpEndText {
		var runes []rune
		for i := len(subs) - 2; i >= 0 && subs[i].Op == syntax.OpLiteral; i-- {
			runes = append(slices.Clone(subs[i].Rune), runes...)
		}
		suffix = string(runes)
	}
	return prefix, suffix
}

// regexIsPrefix reports whether pattern is ^, literals and then only
// unbounded "match anything" (.*), so that it matches exactly the values that
// begin with its literal prefix, e.g. Microsoft's example "^Da.*".
func regexIsPrefix(pattern string) bool {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil || re.Op != syntax.OpConcat || re.Sub[0].Op != syntax.OpBeginText {
		return false
	}
	tail := false // past the literals
	for _, s := range re.Sub[1:] {
		switch {
		case s.Op == syntax.OpLiteral && !tail:
		case s.Op == syntax.OpStar && (s.Sub[0].Op == syntax.OpAnyChar || s.Sub[0].Op == syntax.OpAnyCharNotNL):
			tail = true
		default:
			return false
		}
	}
	return true
}
