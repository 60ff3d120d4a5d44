package graph

import (
	"fmt"
	"strings"
	"time"

	"allot/api/odata"
	"allot/api/scope"
	"allot/licensing"
	"allot/tenant"
	"allot/userprop"
)

// Filters compile a $filter tree into a predicate over one resource, with
// Graph's rules: which properties are filterable and with which operators,
// and which need the advanced query parameters (ConsistencyLevel: eventual
// and $count=true). Anything else is refused with Graph's error, never
// ignored.

type pred[T any] func(s *tenant.State, x *T) bool

type fieldKind int

const (
	kString fieldKind = iota
	kBool
	kTime
	kStrings // a collection of strings (proxyAddresses, otherMails, groupTypes)
)

// field is a filterable property.
type field[T any] struct {
	name       string
	kind       fieldKind
	str        func(x *T) string
	boolean    func(x *T) bool
	tm         func(x *T) time.Time
	strs       func(x *T) []string
	startsWith bool // startsWith supported (by default)
	endsWith   bool // endsWith supported (advanced)
	advanced   bool // any use needs the advanced query parameters
}

type schema[T any] struct {
	resource string // "User", "Group" (error messages)
	fields   map[string]*field[T]
	// lambda handles collection properties with typed elements
	// (assignedLicenses, assignedPlans); nil result with nil error means
	// "not a lambda property".
	lambda func(c *compiler[T], n *odata.Lambda) (pred[T], error)
	// special handles properties that are not plain fields
	// (hasMembersWithLicenseErrors, assignedLicenses/$count).
	special func(c *compiler[T], cmp *odata.Compare, path []string) (pred[T], bool, error)
}

type compiler[T any] struct {
	sc       *schema[T]
	advanced bool // ConsistencyLevel: eventual and $count=true
	// view holds the reader's scope while the listing runs (writeList
	// sets it): predicates on licenses see what the reader may see, so an
	// allotment owner cannot probe its users' other licenses by filtering.
	view *scopeCell
}

// scopeCell is the scope of the principal a compiled filter runs for; it
// is filled in when the listing reads the tenant (a scope depends on the
// state read).
type scopeCell struct{ sc *scope.Scope }

// get is the scope (nil, everything, for a nil cell).
func (v *scopeCell) get() *scope.Scope {
	if v == nil {
		return nil
	}
	return v.sc
}

const advancedHint = "Operator '%s' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"

func (c *compiler[T]) needAdvanced(op string) error {
	if c.advanced {
		return nil
	}
	return &odata.Error{Code: "Request_UnsupportedQuery", Msg: fmt.Sprintf(advancedHint, op)}
}

func (c *compiler[T]) unsupported(prop string) error {
	return &odata.Error{Code: "Request_UnsupportedQuery", Msg: fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", prop, c.sc.resource)}
}

func incompatible(a, b, op string) error {
	return &odata.Error{Code: "BadRequest", Msg: fmt.Sprintf("A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.", a, b, op)}
}

var opKinds = map[string]string{"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual", "lt": "LessThan", "le": "LessThanOrEqual"}

func edmOf(l *odata.Literal) string {
	switch l.Kind {
	case odata.LitString:
		return "Edm.String"
	case odata.LitNumber:
		return "Edm.Int32"
	case odata.LitBool:
		return "Edm.Boolean"
	case odata.LitGUID:
		return "Edm.Guid"
	case odata.LitDateTime:
		return "Edm.DateTimeOffset"
	}
	return "null"
}

func edmOfKind(k fieldKind) string {
	switch k {
	case kBool:
		return "Edm.Boolean"
	case kTime:
		return "Edm.DateTimeOffset"
	case kStrings:
		return "Collection(Edm.String)"
	}
	return "Edm.String"
}

func (c *compiler[T]) compile(n odata.Node) (pred[T], error) {
	switch n := n.(type) {
	case *odata.Logical:
		l, err := c.compile(n.Left)
		if err != nil {
			return nil, err
		}
		r, err := c.compile(n.Right)
		if err != nil {
			return nil, err
		}
		if n.Op == "and" {
			return func(s *tenant.State, x *T) bool { return l(s, x) && r(s, x) }, nil
		}
		return func(s *tenant.State, x *T) bool { return l(s, x) || r(s, x) }, nil
	case *odata.Not:
		if err := c.needAdvanced("not"); err != nil {
			return nil, err
		}
		p, err := c.compile(n.X)
		if err != nil {
			return nil, err
		}
		return func(s *tenant.State, x *T) bool { return !p(s, x) }, nil
	case *odata.Compare:
		return c.compare(n)
	case *odata.In:
		path, ok := n.Left.(*odata.Path)
		if !ok || len(path.Segments) != 1 {
			return nil, c.unsupported(n.Left.String())
		}
		f := c.sc.fields[strings.ToLower(path.Segments[0])]
		if f == nil || f.kind != kString {
			return nil, c.unsupported(path.Segments[0])
		}
		if f.advanced {
			if err := c.needAdvanced("in"); err != nil {
				return nil, err
			}
		}
		vals := make([]string, 0, len(n.List))
		for _, l := range n.List {
			if l.Kind != odata.LitString && l.Kind != odata.LitGUID {
				return nil, incompatible(edmOfKind(f.kind), edmOf(l), "In")
			}
			vals = append(vals, l.Text)
		}
		return func(_ *tenant.State, x *T) bool {
			v := f.str(x)
			for _, w := range vals {
				if strings.EqualFold(v, w) {
					return true
				}
			}
			return false
		}, nil
	case *odata.Call:
		return c.call(n, nil)
	case *odata.Lambda:
		return c.lambda(n)
	case *odata.Path:
		// A bare boolean property: "accountEnabled".
		if len(n.Segments) == 1 {
			if f := c.sc.fields[strings.ToLower(n.Segments[0])]; f != nil && f.kind == kBool {
				return func(_ *tenant.State, x *T) bool { return f.boolean(x) }, nil
			}
		}
		return nil, c.unsupported(n.String())
	}
	return nil, &odata.Error{Code: "BadRequest", Msg: "Invalid filter clause: the expression is not a condition."}
}

// call compiles startsWith/endsWith/contains on a field, or on a lambda
// variable when elem is set.
func (c *compiler[T]) call(n *odata.Call, elem *string) (pred[T], error) {
	path, ok := n.Args[0].(*odata.Path)
	lit, ok2 := n.Args[1].(*odata.Literal)
	if !ok || !ok2 || len(path.Segments) != 1 {
		return nil, c.unsupported(n.Args[0].String())
	}
	if lit.Kind != odata.LitString {
		return nil, incompatible("Edm.String", edmOf(lit), n.Name)
	}
	want := strings.ToLower(lit.Text)
	if n.Name == "contains" {
		return nil, c.unsupported(path.Segments[0])
	}
	name := "startsWith"
	match := hasPrefixFold
	if n.Name == "endswith" {
		name, match = "endsWith", hasSuffixFold
	}
	f := c.sc.fields[strings.ToLower(path.Segments[0])]
	if f == nil || f.kind != kString || (n.Name == "startswith" && !f.startsWith) || (n.Name == "endswith" && !f.endsWith) {
		return nil, c.unsupported(path.Segments[0])
	}
	if n.Name == "endswith" || f.advanced {
		if err := c.needAdvanced(name); err != nil {
			return nil, err
		}
	}
	return func(_ *tenant.State, x *T) bool { return match(f.str(x), want) }, nil
}

// hasPrefixFold reports whether s starts with lower (already lower-case),
// ignoring case, without allocating for ASCII.
func hasPrefixFold(s, lower string) bool {
	if isASCII(s) {
		return len(s) >= len(lower) && strings.EqualFold(s[:len(lower)], lower)
	}
	return strings.HasPrefix(strings.ToLower(s), lower)
}

func hasSuffixFold(s, lower string) bool {
	if isASCII(s) {
		return len(s) >= len(lower) && strings.EqualFold(s[len(s)-len(lower):], lower)
	}
	return strings.HasSuffix(strings.ToLower(s), lower)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (c *compiler[T]) compare(n *odata.Compare) (pred[T], error) {
	path, ok := n.Left.(*odata.Path)
	lit, ok2 := n.Right.(*odata.Literal)
	if !ok || !ok2 {
		return nil, &odata.Error{Code: "Request_UnsupportedQuery", Msg: fmt.Sprintf("Unsupported or invalid query filter clause: '%s' must compare a property with a value.", n.String())}
	}
	if n.Op == "ne" {
		if err := c.needAdvanced("ne"); err != nil {
			return nil, err
		}
	}
	if c.sc.special != nil {
		if p, handled, err := c.sc.special(c, n, path.Segments); handled {
			return p, err
		}
	}
	if len(path.Segments) != 1 {
		return nil, c.unsupported(path.String())
	}
	f := c.sc.fields[strings.ToLower(path.Segments[0])]
	if f == nil {
		return nil, c.unsupported(path.Segments[0])
	}
	if f.advanced {
		if err := c.needAdvanced(n.Op); err != nil {
			return nil, err
		}
	}
	if lit.Kind == odata.LitNull {
		return c.compareNull(f, n.Op)
	}
	neg := n.Op == "ne"
	switch f.kind {
	case kString:
		if lit.Kind != odata.LitString && lit.Kind != odata.LitGUID {
			return nil, incompatible("Edm.String", edmOf(lit), opKinds[n.Op])
		}
		if n.Op != "eq" && n.Op != "ne" {
			return nil, c.unsupported(f.name)
		}
		want := lit.Text
		return func(_ *tenant.State, x *T) bool { return strings.EqualFold(f.str(x), want) != neg }, nil
	case kBool:
		if lit.Kind != odata.LitBool {
			return nil, incompatible("Edm.Boolean", edmOf(lit), opKinds[n.Op])
		}
		if n.Op != "eq" && n.Op != "ne" {
			return nil, c.unsupported(f.name)
		}
		want := lit.Text == "true"
		return func(_ *tenant.State, x *T) bool { return (f.boolean(x) == want) != neg }, nil
	case kTime:
		return compareTime[T](f, n.Op, lit)
	}
	return nil, c.unsupported(f.name)
}

// compareNull compiles "f eq null" and "f ne null" (advanced queries): an
// empty string, a zero time or an empty collection is null.
func (c *compiler[T]) compareNull(f *field[T], op string) (pred[T], error) {
	if op != "eq" && op != "ne" {
		return nil, c.unsupported(f.name)
	}
	if err := c.needAdvanced(op); err != nil {
		return nil, err
	}
	isNull := func(x *T) bool {
		switch f.kind {
		case kString:
			return f.str(x) == ""
		case kTime:
			return f.tm(x).IsZero()
		case kStrings:
			return len(f.strs(x)) == 0
		}
		return false
	}
	want := op == "eq"
	return func(_ *tenant.State, x *T) bool { return isNull(x) == want }, nil
}

// compareTime compiles a comparison of a time property with a date and
// time; an object without the time matches only ne.
func compareTime[T any](f *field[T], op string, lit *odata.Literal) (pred[T], error) {
	if lit.Kind != odata.LitDateTime {
		return nil, incompatible("Edm.DateTimeOffset", edmOf(lit), opKinds[op])
	}
	t, err := parseTime(lit.Text)
	if err != nil {
		return nil, &odata.Error{Code: "BadRequest", Msg: fmt.Sprintf("Invalid filter clause: '%s' is not a valid date and time.", lit.Text)}
	}
	return func(_ *tenant.State, x *T) bool {
		v := f.tm(x)
		if v.IsZero() {
			return op == "ne"
		}
		switch op {
		case "eq":
			return v.Equal(t)
		case "ne":
			return !v.Equal(t)
		case "gt":
			return v.After(t)
		case "ge":
			return !v.Before(t)
		case "lt":
			return v.Before(t)
		default:
			return !v.After(t)
		}
	}, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// lambda compiles any()/all() over string collections here, and typed
// collections through the schema.
func (c *compiler[T]) lambda(n *odata.Lambda) (pred[T], error) {
	if c.sc.lambda != nil {
		if p, err := c.sc.lambda(c, n); p != nil || err != nil {
			return p, err
		}
	}
	if len(n.Path.Segments) != 1 {
		return nil, c.unsupported(n.Path.String())
	}
	f := c.sc.fields[strings.ToLower(n.Path.Segments[0])]
	if f == nil || f.kind != kStrings {
		return nil, c.unsupported(n.Path.String())
	}
	if f.advanced {
		if err := c.needAdvanced(n.Kind); err != nil {
			return nil, err
		}
	}
	if n.Body == nil {
		return func(_ *tenant.State, x *T) bool { return len(f.strs(x)) > 0 }, nil
	}
	elem, err := c.elementPred(n.Var, n.Body, f)
	if err != nil {
		return nil, err
	}
	all := n.Kind == "all"
	return func(_ *tenant.State, x *T) bool {
		for _, v := range f.strs(x) {
			if elem(v) != all {
				return !all
			}
		}
		return all
	}, nil
}

// elementPred compiles a lambda body over one string element: v eq 'x',
// startsWith(v,'x'), endsWith(v,'x') (advanced), combined with and/or.
func (c *compiler[T]) elementPred(v string, body odata.Node, f *field[T]) (func(string) bool, error) {
	isVar := func(n odata.Node) bool {
		p, ok := n.(*odata.Path)
		return ok && len(p.Segments) == 1 && p.Segments[0] == v
	}
	switch b := body.(type) {
	case *odata.Logical:
		l, err := c.elementPred(v, b.Left, f)
		if err != nil {
			return nil, err
		}
		r, err := c.elementPred(v, b.Right, f)
		if err != nil {
			return nil, err
		}
		if b.Op == "and" {
			return func(s string) bool { return l(s) && r(s) }, nil
		}
		return func(s string) bool { return l(s) || r(s) }, nil
	case *odata.Compare:
		lit, ok := b.Right.(*odata.Literal)
		if !isVar(b.Left) || !ok || (b.Op != "eq" && b.Op != "ne") {
			return nil, c.unsupported(f.name)
		}
		if lit.Kind != odata.LitString {
			return nil, incompatible("Edm.String", edmOf(lit), opKinds[b.Op])
		}
		if b.Op == "ne" {
			if err := c.needAdvanced("ne"); err != nil {
				return nil, err
			}
		}
		want, neg := lit.Text, b.Op == "ne"
		return func(s string) bool { return strings.EqualFold(s, want) != neg }, nil
	case *odata.Call:
		lit, ok := b.Args[1].(*odata.Literal)
		if !isVar(b.Args[0]) || !ok || lit.Kind != odata.LitString || b.Name == "contains" {
			return nil, c.unsupported(f.name)
		}
		want := strings.ToLower(lit.Text)
		if b.Name == "endswith" {
			if !f.endsWith {
				return nil, c.unsupported(f.name)
			}
			if err := c.needAdvanced("endsWith"); err != nil {
				return nil, err
			}
			return func(s string) bool { return strings.HasSuffix(strings.ToLower(s), want) }, nil
		}
		return func(s string) bool { return strings.HasPrefix(strings.ToLower(s), want) }, nil
	}
	return nil, c.unsupported(f.name)
}

// userSchema is what Graph lets $filter read on users: the registry's
// filterable properties (package userprop).
var userSchema = &schema[licensing.User]{
	resource: "User",
	fields:   userFields(),
	lambda:   userLambda,
	special:  userSpecial,
}

func userFields() map[string]*field[licensing.User] {
	var fs []*field[licensing.User]
	for i := range userprop.Users {
		p := &userprop.Users[i]
		f := &field[licensing.User]{name: p.Name, advanced: p.FilterAdvanced}
		switch p.Type {
		case userprop.Bool:
			f.kind, f.boolean = kBool, p.GetBool
		case userprop.Time:
			f.kind, f.tm = kTime, p.GetTime
		case userprop.Strings:
			f.kind, f.strs, f.endsWith = kStrings, p.GetStrings, true
		case userprop.Date:
			f.kind, f.tm = kTime, func(u *licensing.User) time.Time {
				t, _ := parseTime(p.Get(u))
				return t
			}
		default:
			if p.Filter == userprop.NoFilter {
				continue
			}
			f.str = p.Get
			f.startsWith = p.Filter >= userprop.StartsWith
			f.endsWith = p.Filter == userprop.StartsEndsWith
		}
		fs = append(fs, f)
	}
	return fieldMap(fs...)
}

func fieldMap[T any](fs ...*field[T]) map[string]*field[T] {
	m := make(map[string]*field[T], len(fs))
	for _, f := range fs {
		m[strings.ToLower(f.name)] = f
	}
	return m
}

// userSpecial handles assignedLicenses/$count and
// onPremisesExtensionAttributes/extensionAttributeN.
func userSpecial(c *compiler[licensing.User], n *odata.Compare, path []string) (pred[licensing.User], bool, error) {
	if len(path) != 2 {
		return nil, false, nil
	}
	lit := n.Right.(*odata.Literal)
	switch {
	case strings.EqualFold(path[0], "assignedLicenses") && path[1] == "$count":
		if err := c.needAdvanced("$count"); err != nil {
			return nil, true, err
		}
		if lit.Kind != odata.LitNumber || (n.Op != "eq" && n.Op != "ne") {
			return nil, true, c.unsupported("assignedLicenses")
		}
		var want int
		if _, err := fmt.Sscanf(lit.Text, "%d", &want); err != nil {
			return nil, true, c.unsupported("assignedLicenses")
		}
		neg := n.Op == "ne"
		view := c.view
		return func(s *tenant.State, u *licensing.User) bool {
			held := 0
			heldLicensesIn(s, view.get(), u.ID, func(*heldSKU) { held++ })
			return (held == want) != neg
		}, true, nil
	case strings.EqualFold(path[0], "onPremisesExtensionAttributes"):
		name := strings.ToLower(path[1])
		if !strings.HasPrefix(name, "extensionattribute") || !contains(lowerExtensionAttrNames, name) {
			return nil, true, c.unsupported(path[0] + "/" + path[1])
		}
		if err := c.needAdvanced(n.Op); err != nil {
			return nil, true, err
		}
		if lit.Kind == odata.LitNull {
			want := n.Op == "eq"
			return func(_ *tenant.State, u *licensing.User) bool { return (u.Attributes[name] == "") == want }, true, nil
		}
		if lit.Kind != odata.LitString || (n.Op != "eq" && n.Op != "ne") {
			return nil, true, c.unsupported(path[0] + "/" + path[1])
		}
		want, neg := lit.Text, n.Op == "ne"
		return func(_ *tenant.State, u *licensing.User) bool {
			return strings.EqualFold(u.Attributes[name], want) != neg
		}, true, nil
	}
	return nil, false, nil
}

var lowerExtensionAttrNames = func() []string {
	out := make([]string, len(extensionAttrNames))
	for i, n := range extensionAttrNames {
		out[i] = strings.ToLower(n)
	}
	return out
}()

// userLambda handles assignedLicenses/any(x:x/skuId eq G) and
// assignedPlans/any(a:a/servicePlanId eq G and a/capabilityStatus eq 'Enabled').
func userLambda(c *compiler[licensing.User], n *odata.Lambda) (pred[licensing.User], error) {
	if len(n.Path.Segments) != 1 {
		return nil, nil
	}
	prop := strings.ToLower(n.Path.Segments[0])
	if prop != "assignedlicenses" && prop != "assignedplans" {
		return nil, nil
	}
	if n.Kind == "all" {
		return nil, c.unsupported(n.Path.Segments[0])
	}
	if n.Body == nil {
		if err := c.needAdvanced("any"); err != nil {
			return nil, err
		}
		view := c.view
		return func(s *tenant.State, u *licensing.User) bool {
			held := false
			heldLicensesIn(s, view.get(), u.ID, func(*heldSKU) { held = true })
			return held
		}, nil
	}
	view := c.view
	if prop == "assignedlicenses" {
		sku, ok := lambdaGUID(n, "skuId")
		if !ok {
			return nil, c.unsupported("assignedLicenses")
		}
		return func(s *tenant.State, u *licensing.User) bool {
			sc := view.get()
			if sc == nil {
				return holds(s, u.ID, sku)
			}
			held := false
			heldLicensesIn(s, sc, u.ID, func(h *heldSKU) { held = held || strings.EqualFold(h.skuID, sku) })
			return held
		}, nil
	}
	plan, status, ok := planLambda(n)
	if !ok {
		return nil, c.unsupported("assignedPlans")
	}
	return func(s *tenant.State, u *licensing.User) bool {
		found := false
		heldLicensesIn(s, view.get(), u.ID, func(l *heldSKU) {
			if !found {
				if status != "" && !strings.EqualFold(status, s.Engine.CapabilityStatus(l.skuID)) {
					return
				}
				if sku, ok := s.Engine.Catalog().SKU(l.skuID); ok && sku.HasPlan(plan) && l.planEnabled(plan) {
					found = true
				}
			}
		})
		return found
	}, nil
}

// lambdaGUID matches a body "v/prop eq <guid>" and returns the GUID.
func lambdaGUID(n *odata.Lambda, prop string) (string, bool) {
	cmp, ok := n.Body.(*odata.Compare)
	if !ok || cmp.Op != "eq" {
		return "", false
	}
	p, ok := cmp.Left.(*odata.Path)
	lit, ok2 := cmp.Right.(*odata.Literal)
	if !ok || !ok2 || len(p.Segments) != 2 || p.Segments[0] != n.Var || !strings.EqualFold(p.Segments[1], prop) {
		return "", false
	}
	if lit.Kind != odata.LitGUID && lit.Kind != odata.LitString {
		return "", false
	}
	return strings.ToLower(lit.Text), true
}

// planLambda matches "a/servicePlanId eq G [and a/capabilityStatus eq 'S']".
func planLambda(n *odata.Lambda) (plan, status string, ok bool) {
	var walk func(node odata.Node) bool
	walk = func(node odata.Node) bool {
		switch b := node.(type) {
		case *odata.Logical:
			return b.Op == "and" && walk(b.Left) && walk(b.Right)
		case *odata.Compare:
			p, ok := b.Left.(*odata.Path)
			lit, ok2 := b.Right.(*odata.Literal)
			if !ok || !ok2 || b.Op != "eq" || len(p.Segments) != 2 || p.Segments[0] != n.Var {
				return false
			}
			switch strings.ToLower(p.Segments[1]) {
			case "serviceplanid":
				plan = strings.ToLower(lit.Text)
				return lit.Kind == odata.LitGUID || lit.Kind == odata.LitString
			case "capabilitystatus":
				status = lit.Text
				return lit.Kind == odata.LitString
			}
		}
		return false
	}
	ok = walk(n.Body) && plan != ""
	return plan, status, ok
}

// groupSchema is what Graph lets $filter read on groups.
var groupSchema = &schema[licensing.Group]{
	resource: "Group",
	fields: fieldMap(
		&field[licensing.Group]{name: "id", str: func(g *licensing.Group) string { return g.ID }},
		&field[licensing.Group]{name: "displayName", str: func(g *licensing.Group) string { return g.DisplayName }, startsWith: true},
		&field[licensing.Group]{name: "description", str: func(g *licensing.Group) string { return g.Description }, startsWith: true},
		&field[licensing.Group]{name: "mailNickname", str: func(g *licensing.Group) string { return g.MailNickname }, startsWith: true},
		&field[licensing.Group]{name: "membershipRuleProcessingState", str: func(g *licensing.Group) string { return g.MembershipRuleProcessingState }},
		&field[licensing.Group]{name: "assignmentMode", str: func(g *licensing.Group) string { return g.AssignmentMode }},
		&field[licensing.Group]{name: "mailEnabled", kind: kBool, boolean: func(g *licensing.Group) bool { return g.MailEnabled }},
		&field[licensing.Group]{name: "securityEnabled", kind: kBool, boolean: func(g *licensing.Group) bool { return g.SecurityEnabled }},
		&field[licensing.Group]{name: "createdDateTime", kind: kTime, tm: func(g *licensing.Group) time.Time { return g.CreatedAt }},
		&field[licensing.Group]{name: "groupTypes", kind: kStrings, strs: func(g *licensing.Group) []string { return g.GroupTypes }},
	),
	lambda: func(c *compiler[licensing.Group], n *odata.Lambda) (pred[licensing.Group], error) {
		if len(n.Path.Segments) != 1 || !strings.EqualFold(n.Path.Segments[0], "assignedLicenses") {
			return nil, nil
		}
		sku, ok := lambdaGUID(n, "skuId")
		if !ok || n.Kind != "any" {
			return nil, c.unsupported("assignedLicenses")
		}
		view := c.view
		return func(s *tenant.State, g *licensing.Group) bool {
			for _, l := range s.Engine.GroupLicenses(g.ID) {
				if l.SKUID == sku && view.get().Licenses(l.AllotmentID) {
					return true
				}
			}
			return false
		}, nil
	},
	special: func(c *compiler[licensing.Group], n *odata.Compare, path []string) (pred[licensing.Group], bool, error) {
		if len(path) != 1 || !strings.EqualFold(path[0], "hasMembersWithLicenseErrors") {
			return nil, false, nil
		}
		lit := n.Right.(*odata.Literal)
		if lit.Kind != odata.LitBool {
			return nil, true, incompatible("Edm.Boolean", edmOf(lit), opKinds[n.Op])
		}
		if n.Op != "eq" && n.Op != "ne" {
			return nil, true, c.unsupported(path[0])
		}
		want := (lit.Text == "true") != (n.Op == "ne")
		return func(s *tenant.State, g *licensing.Group) bool {
			return s.Engine.HasMembersWithLicenseErrors(g.ID) == want
		}, true, nil
	},
}
