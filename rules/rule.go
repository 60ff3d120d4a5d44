package rules

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxRuleLength is the longest rule, in characters, that Microsoft Entra
// accepts and so Parse accepts.
const MaxRuleLength = 3072

// Subject is what a rule reads: one user. Implementations must be safe for
// concurrent reads if rules are evaluated concurrently, and should return
// stored strings and slices so that evaluation allocates nothing.
type Subject interface {
	// Value returns a single-valued property by its lower-case name without
	// "user." (e.g. "department", "extensionattribute7", "accountenabled",
	// "employeehiredate", "extension_<appid>_<name>"). ok=false means
	// null/unset; an empty value is treated as null too. Booleans are
	// "true"/"false"; dates RFC 3339.
	Value(prop string) (v string, ok bool)
	// Values returns a multi-valued property ("proxyaddresses", "othermails").
	Values(prop string) []string
	// AssignedPlans returns user.assignedPlans.
	AssignedPlans() []AssignedPlan
}

// AssignedPlan is one item of user.assignedPlans, as rules see it.
type AssignedPlan struct{ ServicePlanID, CapabilityStatus, Service string }

// Rule is a compiled membership rule. It is immutable and safe for concurrent
// use.
type Rule struct {
	root    *node
	props   []string
	atoms   []atom // an indexable necessary condition; see need
	indexed bool   // atoms is valid (possibly empty: the rule never matches)
	usesNow bool
}

// Match reports whether s satisfies the rule; now is the value of
// system.now. It allocates nothing unless the subject's own accessors do (or
// a date has to be parsed from an unusual layout).
func (r *Rule) Match(s Subject, now time.Time) bool {
	c := evalCtx{s: s, now: now}
	return r.root.eval(&c)
}

// Properties returns the lower-case names of the user properties the rule
// reads (without "user."), sorted and unique: the properties whose change can
// change the rule's result. Items of -any/-all count as their collection
// ("proxyaddresses", "assignedplans"). The caller must not modify the slice.
func (r *Rule) Properties() []string { return r.props }

// UsesNow reports whether the rule refers to system.now, so that its result
// can change with time alone and it must be re-evaluated periodically.
func (r *Rule) UsesNow() bool { return r.usesNow }

// String returns the rule in canonical form: operators with their hyphen and
// Microsoft's capitalisation, properties spelt as Microsoft spells them,
// strings in double quotes, parentheses only where needed (and around the
// operand of -not and the condition of -any/-all). Parsing the canonical form
// gives an equivalent rule with the same canonical form, except that the
// canonical form can be longer than the rule as written (hyphens, parentheses,
// escapes), so for a rule near MaxRuleLength it may exceed the limit. Store
// the rule as written; use String for display and comparison.
func (r *Rule) String() string {
	var b strings.Builder
	r.root.write(&b)
	return b.String()
}

// MustParse is like Parse but panics if the rule is invalid. It is meant for
// rules written in code and tests.
func MustParse(rule string) *Rule {
	r, err := Parse(rule)
	if err != nil {
		panic("rules: " + err.Error())
	}
	return r
}

type nodeKind uint8

const (
	kindAnd nodeKind = iota
	kindOr
	kindNot
	kindCmp // a comparison: Property Operator Value
	kindAny // collection -any condition
	kindAll // collection -all condition
)

// srcKind is where a comparison reads its left-hand side.
type srcKind uint8

const (
	srcUser      srcKind = iota // a single-valued user property: Subject.Value
	srcMulti                    // a string collection compared directly: Subject.Values
	srcPlans                    // user.assignedPlans (only under -any/-all)
	srcItem                     // _, the current item of a string collection
	srcPlanField                // assignedPlan.<field> of the current plan
)

// cmpOp is a comparison operator; negated operators (-ne, -notIn …) are the
// positive operator with node.neg set.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opStartsWith
	opEndsWith
	opContains
	opMatch
	opIn
	opLe
	opGe
)

// opNames holds the canonical spelling of each operator, positive and negated.
var opNames = [...][2]string{
	opEq:         {"-eq", "-ne"},
	opStartsWith: {"-startsWith", "-notStartsWith"},
	opEndsWith:   {"-endsWith", "-notEndsWith"},
	opContains:   {"-contains", "-notContains"},
	opMatch:      {"-match", "-notMatch"},
	opIn:         {"-in", "-notIn"},
	opLe:         {"-le", ""},
	opGe:         {"-ge", ""},
}

// node is one element of a compiled rule.
type node struct {
	kind nodeKind
	kids []*node // and/or: operands; not: the operand; any/all: the condition

	// Comparisons and -any/-all.
	src   srcKind
	prop  string    // lower-case property key; for items, their collection's
	name  string    // canonical spelling: "user.department", "_", "assignedPlan.service"
	field planField // for srcPlanField
	op    cmpOp
	neg   bool
	val   operand
}

type valKind uint8

const (
	valString valKind = iota
	valNumber         // a bare number, compared as text (or numerically by -le/-ge)
	valBool
	valNull
	valDate // a date literal
	valNow  // system.now, optionally -plus/-minus a duration
	valList // -in / -notIn
)

// operand is the right-hand side of a comparison, prepared at Parse time.
type operand struct {
	kind      valKind
	text      string // the literal as written (unescaped) for strings, numbers, booleans, dates
	key       string // foldKey(text)
	textPlain bool   // isPlain(text)

	list []string            // -in items as written
	keys []string            // foldKey of each list item
	set  map[string]struct{} // keys, for long lists

	re       *regexp.Regexp // -match, case-insensitive
	pre, suf string         // literal text every -match match begins/ends the value with
	preOnly  bool           // the -match is exactly "begins with pre"

	at      time.Time   // valDate
	num     float64     // numeric -le/-ge on a custom extension property
	numeric bool        // compare numerically
	dur     isoDuration // valNow offset
	sign    int         // +1 for -plus, -1 for -minus, 0 for none
}

// instant returns the date the operand stands for at time now.
func (o *operand) instant(now time.Time) time.Time {
	if o.kind == valNow {
		if o.sign == 0 {
			return now
		}
		return o.dur.addTo(now, o.sign)
	}
	return o.at
}

// longList is the length from which -in uses a hash set instead of a scan.
const longList = 4

// contains reports whether v equals an item of the -in list, ignoring case.
// Folded keys are equal exactly when strings.EqualFold holds, so v is folded
// once and compared byte for byte.
func (o *operand) contains(v string) bool {
	var buf [128]byte
	key := appendFoldKey(buf[:0], v)
	if o.set != nil {
		_, ok := o.set[string(key)]
		return ok
	}
	for _, k := range o.keys {
		if string(key) == k {
			return true
		}
	}
	return false
}

// equalFold is strings.EqualFold with a length check first when lit is plain
// (see isPlain): then only a value of the same length can be equal.
func equalFold(v, lit string, plain bool) bool {
	if plain && len(v) != len(lit) {
		return false
	}
	return strings.EqualFold(v, lit)
}

// isPlain reports whether s is ASCII without k or s. Under simple case
// folding only ASCII text of the same length is equal to such a string: the
// only non-ASCII runes that fold to ASCII are the Kelvin sign (k) and the
// long s (s).
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i] | 0x20; {
		case s[i] >= utf8.RuneSelf, c == 'k', c == 's':
			return false
		}
	}
	return true
}

// evalCtx is the state of one evaluation; it lives on the evaluator's stack.
type evalCtx struct {
	s    Subject
	now  time.Time
	item string        // the current item of a string collection
	plan *AssignedPlan // the current assigned plan
}

func (n *node) eval(c *evalCtx) bool {
	switch n.kind {
	case kindAnd:
		for _, k := range n.kids {
			if !k.eval(c) {
				return false
			}
		}
		return true
	case kindOr:
		for _, k := range n.kids {
			if k.eval(c) {
				return true
			}
		}
		return false
	case kindNot:
		return !n.kids[0].eval(c)
	case kindCmp:
		return n.compare(c)
	case kindAny, kindAll:
		// -any is true when some item satisfies the condition, -all when no
		// item fails it (so -all is true for an empty collection).
		want := n.kind == kindAny
		body := n.kids[0]
		if n.src == srcPlans {
			plans := c.s.AssignedPlans()
			for i := range plans {
				c.plan = &plans[i]
				if body.eval(c) == want {
					c.plan = nil
					return want
				}
			}
			c.plan = nil
			return !want
		}
		for _, v := range c.s.Values(n.prop) {
			c.item = v
			if body.eval(c) == want {
				return want
			}
		}
		return !want
	}
	return false
}

// compare evaluates a comparison. A collection compared directly is true for
// a positive operator when some item satisfies it, and for a negated operator
// when no item satisfies the positive one; "-eq null" means it is empty.
func (n *node) compare(c *evalCtx) bool {
	switch n.src {
	case srcUser:
		v, ok := c.s.Value(n.prop)
		if !ok {
			v = ""
		}
		return n.test(v, c.now) != n.neg
	case srcItem:
		return n.test(c.item, c.now) != n.neg
	case srcPlanField:
		if c.plan == nil {
			return false
		}
		return n.test(n.field.get(c.plan), c.now) != n.neg
	case srcMulti:
		vals := c.s.Values(n.prop)
		if n.val.kind == valNull {
			return (len(vals) == 0) != n.neg
		}
		for _, v := range vals {
			if n.test(v, c.now) {
				return !n.neg
			}
		}
		return n.neg
	}
	return false
}

// test applies the positive form of the operator to one value; null and ""
// are the same value.
func (n *node) test(v string, now time.Time) bool {
	o := &n.val
	switch n.op {
	case opEq:
		switch o.kind {
		case valNull:
			return v == ""
		case valDate, valNow:
			t, ok := parseTime(v)
			return ok && t.Equal(o.instant(now))
		}
		return equalFold(v, o.text, o.textPlain)
	case opStartsWith:
		return hasPrefixFold(v, o.text)
	case opEndsWith:
		return hasSuffixFold(v, o.text)
	case opContains:
		return containsFold(v, o.text)
	case opMatch:
		if o.pre != "" && !hasPrefixFold(v, o.pre) || o.suf != "" && !hasSuffixFold(v, o.suf) {
			return false
		}
		return o.preOnly || o.re.MatchString(v)
	case opIn:
		return o.contains(v)
	case opLe, opGe:
		var cmp int
		if o.numeric {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f != f {
				return false
			}
			switch {
			case f < o.num:
				cmp = -1
			case f > o.num:
				cmp = 1
			}
		} else {
			t, ok := parseTime(v)
			if !ok {
				return false
			}
			cmp = t.Compare(o.instant(now))
		}
		if n.op == opLe {
			return cmp <= 0
		}
		return cmp >= 0
	}
	return false
}

// write appends the canonical form of n to b.
func (n *node) write(b *strings.Builder) {
	switch n.kind {
	case kindAnd, kindOr:
		sep := " -and "
		if n.kind == kindOr {
			sep = " -or "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			// -or inside -and needs parentheses; so does -any/-all anywhere
			// but the whole rule, because its condition extends to the right.
			paren := k.kind == kindOr && n.kind == kindAnd || k.kind == kindAny || k.kind == kindAll
			k.writeParen(b, paren)
		}
	case kindNot:
		b.WriteString("-not ")
		n.kids[0].writeParen(b, true)
	case kindAny, kindAll:
		b.WriteString(n.name)
		if n.kind == kindAny {
			b.WriteString(" -any ")
		} else {
			b.WriteString(" -all ")
		}
		n.kids[0].writeParen(b, true)
	case kindCmp:
		b.WriteString(n.name)
		b.WriteByte(' ')
		neg := 0
		if n.neg {
			neg = 1
		}
		b.WriteString(opNames[n.op][neg])
		b.WriteByte(' ')
		n.val.write(b)
	}
}

func (n *node) writeParen(b *strings.Builder, paren bool) {
	if paren {
		b.WriteByte('(')
	}
	n.write(b)
	if paren {
		b.WriteByte(')')
	}
}

func (o *operand) write(b *strings.Builder) {
	switch o.kind {
	case valString, valDate:
		writeQuoted(b, o.text)
	case valNumber:
		b.WriteString(o.text)
	case valBool:
		b.WriteString(strings.ToLower(o.text))
	case valNull:
		b.WriteString("null")
	case valNow:
		b.WriteString("system.now")
		switch o.sign {
		case 1:
			b.WriteString(" -plus " + o.dur.String())
		case -1:
			b.WriteString(" -minus " + o.dur.String())
		}
	case valList:
		b.WriteByte('[')
		for i, item := range o.list {
			if i > 0 {
				b.WriteByte(',')
			}
			writeQuoted(b, item)
		}
		b.WriteByte(']')
	}
}

// writeQuoted writes s as a double-quoted string, escaping " and ` with a
// backtick.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '`' {
			b.WriteByte('`')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
