package graph

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"allot/api/odata"
	"allot/api/scope"
	"allot/licensing"
	"allot/tenant"
	"allot/usage"
	"allot/userprop"
)

// view is what properties are written from: the tenant's state and the
// reader's scope (api/scope; nil for everyone but allotment owners, who
// see only the licenses their allotments give).
type view struct {
	*tenant.State
	sc *scope.Scope
}

// prop is one JSON property of a Graph resource: its name, whether Graph
// returns it without $select, and how to write its value.
type prop[T any] struct {
	name string
	def  bool
	app  func(b []byte, s view, x *T) []byte
}

// resource is a Graph resource type's properties.
type resource[T any] struct {
	typeName string // microsoft.graph.user
	props    []prop[T]
	byName   map[string]int // lower-case name -> index
	defaults []int
}

func newResource[T any](typeName string, props []prop[T]) *resource[T] {
	r := &resource[T]{typeName: typeName, props: props, byName: map[string]int{}}
	for i, p := range props {
		r.byName[strings.ToLower(p.name)] = i
		if p.def {
			r.defaults = append(r.defaults, i)
		}
	}
	return r
}

// selection resolves $select (nil: the default properties). An unknown
// property is Graph's 400.
func (r *resource[T]) selection(sel []string) ([]int, error) {
	if sel == nil {
		return r.defaults, nil
	}
	out := make([]int, 0, len(sel))
	seen := map[int]bool{}
	for _, s := range sel {
		if s == "*" {
			for i := range r.props {
				if !seen[i] {
					seen[i] = true
					out = append(out, i)
				}
			}
			continue
		}
		i, ok := r.byName[strings.ToLower(s)]
		if !ok {
			return nil, &odata.Error{Code: "BadRequest", Msg: fmt.Sprintf("Could not find a property named '%s' on type '%s'.", s, r.typeName)}
		}
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out, nil
}

// appendObject writes x with the selected properties; withType adds
// "@odata.type" (in lists of directory objects).
func (r *resource[T]) appendObject(b []byte, s view, x *T, sel []int, withType bool) []byte {
	b = append(b, '{')
	if withType {
		b = append(b, `"@odata.type":"#`...)
		b = append(b, r.typeName...)
		b = append(b, '"')
		if len(sel) > 0 {
			b = append(b, ',')
		}
	}
	b = r.appendProps(b, s, x, sel)
	return append(b, '}')
}

// appendProps writes the selected properties, comma-separated.
func (r *resource[T]) appendProps(b []byte, s view, x *T, sel []int) []byte {
	for n, i := range sel {
		if n > 0 {
			b = append(b, ',')
		}
		p := &r.props[i]
		b = appendKey(b, p.name)
		b = p.app(b, s, x)
	}
	return b
}

// appendEntity writes a single object with its @odata.context.
func appendEntity[T any](b []byte, req *http.Request, r *resource[T], s view, x *T, sel []int, context string) []byte {
	b = appendContext(b, req, context)
	if len(sel) > 0 {
		b = append(b, ',')
	}
	b = r.appendProps(b, s, x, sel)
	return append(b, '}')
}

// selectSuffix is the "(a,b)" of @odata.context for a $select.
func selectSuffix(sel []string) string {
	if sel == nil {
		return ""
	}
	return "(" + strings.Join(sel, ",") + ")"
}

func str[T any](name string, def bool, get func(x *T) string) prop[T] {
	return prop[T]{name: name, def: def, app: func(b []byte, _ view, x *T) []byte { return appendStrOrNull(b, get(x)) }}
}

// userResource is Graph's user with allot's "kind" extension: the plain
// properties of the user-property registry (package userprop) and the
// computed ones below. Properties are in Graph's order: the default ones
// by name with id last, then the others by name.
var userResource = newResource("microsoft.graph.user", userProps())

func userProps() []prop[licensing.User] {
	props := []prop[licensing.User]{
		{name: "businessPhones", def: true, app: func(b []byte, _ view, u *licensing.User) []byte { return append(b, "[]"...) }},
		{name: "assignedLicenses", app: appendAssignedLicenses},
		{name: "assignedPlans", app: appendAssignedPlans},
		{name: "licenseAssignmentStates", app: appendLicenseAssignmentStates},
		{name: "onPremisesExtensionAttributes", app: appendExtensionAttributes},
		{name: "signInActivity", app: appendSignInActivity},
	}
	for i := range userprop.Users {
		props = append(props, registryProp(&userprop.Users[i]))
	}
	slices.SortStableFunc(props, func(a, b prop[licensing.User]) int {
		if a.def != b.def {
			if a.def {
				return -1
			}
			return 1
		}
		if (a.name == "id") != (b.name == "id") {
			if a.name == "id" {
				return 1
			}
			return -1
		}
		return strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name))
	})
	return props
}

// registryProp renders one registry property by its type.
func registryProp(p *userprop.Property) prop[licensing.User] {
	var app func(b []byte, _ view, u *licensing.User) []byte
	switch p.Type {
	case userprop.Bool:
		app = func(b []byte, _ view, u *licensing.User) []byte { return appendBool(b, p.GetBool(u)) }
	case userprop.Time:
		app = func(b []byte, _ view, u *licensing.User) []byte { return appendTime(b, p.GetTime(u)) }
	case userprop.Strings:
		app = func(b []byte, _ view, u *licensing.User) []byte { return appendStrings(b, p.GetStrings(u)) }
	default:
		app = func(b []byte, _ view, u *licensing.User) []byte { return appendStrOrNull(b, p.Get(u)) }
	}
	return prop[licensing.User]{name: p.Name, def: p.GraphDefault, app: app}
}

// appendSignInActivity writes Graph's signInActivity from the sign-ins
// allot has received (usage ingestion): lastSignInDateTime is the last
// interactive sign-in, lastNonInteractiveSignInDateTime the last sign-in
// when it was not interactive (allot keeps the last sign-in and the last
// interactive one, so an earlier non-interactive sign-in is not known:
// null), lastSuccessfulSignInDateTime the last sign-in (allot receives
// successful sign-ins only). Request ids are not kept: null. A user
// without sign-ins has every property null.
func appendSignInActivity(b []byte, s view, u *licensing.User) []byte {
	var f usage.SignInFacts
	if v, ok := usage.Of(s.State).View(u.ID); ok {
		f = v.SignIns()
	}
	var nonInteractive time.Time
	if f.Last.After(f.LastInteractive) {
		nonInteractive = f.Last
	}
	b = append(b, `{"lastSignInDateTime":`...)
	b = appendTime(b, f.LastInteractive)
	b = append(b, `,"lastSignInRequestId":null,"lastNonInteractiveSignInDateTime":`...)
	b = appendTime(b, nonInteractive)
	b = append(b, `,"lastNonInteractiveSignInRequestId":null,"lastSuccessfulSignInDateTime":`...)
	b = appendTime(b, f.Last)
	return append(b, `,"lastSuccessfulSignInRequestId":null}`...)
}

func appendExtensionAttributes(b []byte, _ view, u *licensing.User) []byte {
	b = append(b, '{')
	for i := 1; i <= 15; i++ {
		if i > 1 {
			b = append(b, ',')
		}
		name := extensionAttrNames[i-1]
		b = appendKey(b, name)
		b = appendStrOrNull(b, u.Attributes[strings.ToLower(name)])
	}
	return append(b, '}')
}

var extensionAttrNames = func() []string {
	out := make([]string, 15)
	for i := range out {
		out[i] = fmt.Sprintf("extensionAttribute%d", i+1)
	}
	return out
}()

// heldSKU is one product a user holds a seat of: with allotments a user
// may have several license records of a SKU (one outside allotments, one
// per allotment); Graph shows one license per SKU.
type heldSKU struct {
	skuID string
	since time.Time // the earliest seat
	recs  []licensing.License
}

// planEnabled reports whether a plan is enabled by the license: by at
// least one active source of any record that does not disable it (the
// union of the sources' plans, as the engine counts them).
func (h *heldSKU) planEnabled(planID string) bool {
	for i := range h.recs {
		for j := range h.recs[i].Sources {
			src := &h.recs[i].Sources[j]
			if (src.State == licensing.StateActive || src.State == licensing.StateActiveWithError) && !contains(src.DisabledPlans, planID) {
				return true
			}
		}
	}
	return false
}

// heldLicensesIn calls fn for each SKU the user holds a usable seat of (a
// seat and at least one source whose plans are enabled: License.Usable), in
// SKU order, as a principal with scope sc sees them: an allotment owner, only
// the seats of its allotments (api/scope Licenses); nil sees all. A seat
// reserved for a source in error is not an assigned license: Graph's
// assignedLicenses and $filter do not list it.
func heldLicensesIn(s *tenant.State, sc *scope.Scope, userID string, fn func(h *heldSKU)) {
	recs := s.Engine.Licenses(userID)
	if sc != nil {
		recs = slices.DeleteFunc(recs, func(l licensing.License) bool { return !sc.Licenses(l.AllotmentID) })
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].SKUID < recs[j].SKUID })
	for i := 0; i < len(recs); {
		j := i
		h := heldSKU{skuID: recs[i].SKUID}
		held := false
		for ; j < len(recs) && recs[j].SKUID == recs[i].SKUID; j++ {
			if recs[j].Usable() {
				if g := recs[j].GrantDate(); !held || g.Before(h.since) {
					h.since = g
				}
				held = true
			}
		}
		h.recs = recs[i:j]
		if held {
			fn(&h)
		}
		i = j
	}
}

// holds reports whether the user holds a usable seat of the SKU.
func holds(s *tenant.State, userID, skuID string) bool {
	for _, l := range s.Engine.LicensesOf(userID, skuID) {
		if l.Usable() {
			return true
		}
	}
	return false
}

func appendAssignedLicenses(b []byte, s view, u *licensing.User) []byte {
	b = append(b, '[')
	n := 0
	heldLicensesIn(s.State, s.sc, u.ID, func(l *heldSKU) {
		sku, ok := s.Engine.Catalog().SKU(l.skuID)
		if !ok {
			return
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"disabledPlans":[`...)
		k := 0
		for _, p := range sku.Plans {
			if !l.planEnabled(p.ID) {
				if k > 0 {
					b = append(b, ',')
				}
				k++
				b = appendStr(b, p.ID)
			}
		}
		b = append(b, `],"skuId":`...)
		b = appendStr(b, l.skuID)
		b = append(b, '}')
	})
	return append(b, ']')
}

func appendAssignedPlans(b []byte, s view, u *licensing.User) []byte {
	b = append(b, '[')
	n := 0
	heldLicensesIn(s.State, s.sc, u.ID, func(l *heldSKU) {
		sku, ok := s.Engine.Catalog().SKU(l.skuID)
		if !ok {
			return
		}
		status := s.Engine.CapabilityStatus(l.skuID)
		for _, p := range sku.Plans {
			if !l.planEnabled(p.ID) {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			id, name := p.ID, s.Engine.Catalog().PlanService(p.ID) // the workload, as Graph reports it
			b = append(b, `{"assignedDateTime":`...)
			b = appendTime(b, l.since)
			b = append(b, `,"capabilityStatus":`...)
			b = appendStr(b, status)
			b = append(b, `,"service":`...)
			b = appendStr(b, name)
			b = append(b, `,"servicePlanId":`...)
			b = appendStr(b, id)
			b = append(b, '}')
		}
	})
	return append(b, ']')
}

func appendLicenseAssignmentStates(b []byte, s view, u *licensing.User) []byte {
	b = append(b, '[')
	n := 0
	for _, l := range s.Engine.Licenses(u.ID) {
		if !s.sc.Licenses(l.AllotmentID) {
			continue // an allotment owner sees its allotments' states only
		}
		for _, src := range l.Sources {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, `{"assignedByGroup":`...)
			b = appendStrOrNull(b, src.AssignedByGroup)
			b = append(b, `,"disabledPlans":`...)
			b = appendStrings(b, src.DisabledPlans)
			b = append(b, `,"error":`...)
			b = appendStr(b, src.Error.String())
			b = append(b, `,"lastUpdatedDateTime":`...)
			b = appendTime(b, src.LastUpdated.Time())
			b = append(b, `,"skuId":`...)
			b = appendStr(b, l.SKUID)
			b = append(b, `,"state":`...)
			b = appendStr(b, src.State.String())
			b = append(b, '}')
		}
	}
	return append(b, ']')
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// groupResource is Graph's group with allot's "assignmentMode" extension.
var groupResource = newResource("microsoft.graph.group", []prop[licensing.Group]{
	str("id", true, func(g *licensing.Group) string { return g.ID }),
	str("assignmentMode", true, func(g *licensing.Group) string { return g.AssignmentMode }),
	{name: "createdDateTime", def: true, app: func(b []byte, _ view, g *licensing.Group) []byte { return appendTime(b, g.CreatedAt) }},
	str("description", true, func(g *licensing.Group) string { return g.Description }),
	str("displayName", true, func(g *licensing.Group) string { return g.DisplayName }),
	{name: "groupTypes", def: true, app: func(b []byte, _ view, g *licensing.Group) []byte { return appendStrings(b, g.GroupTypes) }},
	{name: "mail", def: true, app: func(b []byte, _ view, g *licensing.Group) []byte { return append(b, "null"...) }},
	{name: "mailEnabled", def: true, app: func(b []byte, _ view, g *licensing.Group) []byte { return appendBool(b, g.MailEnabled) }},
	str("mailNickname", true, func(g *licensing.Group) string { return g.MailNickname }),
	str("membershipRule", true, func(g *licensing.Group) string { return g.MembershipRule }),
	str("membershipRuleProcessingState", true, func(g *licensing.Group) string { return g.MembershipRuleProcessingState }),
	{name: "securityEnabled", def: true, app: func(b []byte, _ view, g *licensing.Group) []byte { return appendBool(b, g.SecurityEnabled) }},
	{name: "assignedLicenses", app: func(b []byte, s view, g *licensing.Group) []byte {
		b = append(b, '[')
		n := 0
		for _, l := range s.Engine.GroupLicenses(g.ID) {
			if !s.sc.Licenses(l.AllotmentID) {
				continue
			}
			n++
			if n > 1 {
				b = append(b, ',')
			}
			b = append(b, `{"disabledPlans":`...)
			b = appendStrings(b, l.DisabledPlans)
			b = append(b, `,"skuId":`...)
			b = appendStr(b, l.SKUID)
			b = append(b, '}')
		}
		return append(b, ']')
	}},
	{name: "licenseProcessingState", app: func(b []byte, _ view, g *licensing.Group) []byte {
		// allot applies group licenses synchronously: when the group can be
		// read, processing is complete.
		return append(b, `{"state":"ProcessingComplete"}`...)
	}},
})
