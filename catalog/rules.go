package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

//go:embed data/plan-rules.json
var planRulesJSON []byte

// Dependency: a plan requires at least one of RequiresAnyOf enabled for the
// same user.
type Dependency struct {
	Plan          string   `json:"plan"`          // servicePlanId
	RequiresAnyOf []string `json:"requiresAnyOf"` // servicePlanIds
	Source        string   `json:"source"`        // where the rule is documented
}

// Exclusion: the two plans may not both be enabled for one user.
type Exclusion struct {
	Plans  [2]string `json:"plans"` // servicePlanIds
	Source string    `json:"source"`
}

// LocationRestriction: the SKU may not be assigned to users whose usage
// location is one of Countries (ISO 3166 alpha-2, upper case).
type LocationRestriction struct {
	SKU       string   `json:"sku"` // skuId
	Countries []string `json:"countries"`
	Source    string   `json:"source"`
}

// Ineligible: the SKU cannot be used in allotments.
type Ineligible struct {
	SKU    string `json:"sku"` // skuId
	Reason string `json:"reason"`
	Source string `json:"source"`
}

// Rules are the plan rules of a catalog. All ids are lower-case GUIDs.
// A Rules value attached to a catalog must not be modified.
type Rules struct {
	Dependencies         []Dependency          `json:"dependencies"`
	Exclusions           []Exclusion           `json:"exclusions"`
	LocationRestrictions []LocationRestriction `json:"locationRestrictions"`
	AllotmentIneligible  []Ineligible          `json:"allotmentIneligible"`
}

// ruleIndex is Rules precomputed for O(1) lookups on the licensing engine's
// hot path. It is immutable once built and shared by catalogs derived with
// WithCustom.
type ruleIndex struct {
	deps       map[string][]Dependency // dependent plan id
	excl       map[planPair]struct{}   // both orders
	prohibited map[skuCountry]struct{}
	ineligible map[string]*Ineligible // skuId
}

type planPair struct{ a, b string }

type skuCountry struct{ sku, country string }

func indexRules(r *Rules) *ruleIndex {
	ix := &ruleIndex{
		deps:       make(map[string][]Dependency, len(r.Dependencies)),
		excl:       make(map[planPair]struct{}, 2*len(r.Exclusions)),
		prohibited: make(map[skuCountry]struct{}),
		ineligible: make(map[string]*Ineligible, len(r.AllotmentIneligible)),
	}
	for _, d := range r.Dependencies {
		ix.deps[d.Plan] = append(ix.deps[d.Plan], d)
	}
	for _, x := range r.Exclusions {
		ix.excl[planPair{x.Plans[0], x.Plans[1]}] = struct{}{}
		ix.excl[planPair{x.Plans[1], x.Plans[0]}] = struct{}{}
	}
	for _, lr := range r.LocationRestrictions {
		for _, c := range lr.Countries {
			ix.prohibited[skuCountry{lr.SKU, c}] = struct{}{}
		}
	}
	for i := range r.AllotmentIneligible {
		in := &r.AllotmentIneligible[i]
		ix.ineligible[in.SKU] = in
	}
	return ix
}

// lowerASCII returns s in lower case; it does not allocate when s already is
// (ids in the catalog and from the engine are lower case).
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

// DependenciesOf returns the dependency rules whose dependent plan is
// planID (a servicePlanId, any case): each says the plan needs at least one
// of RequiresAnyOf enabled for the same user. Nil when the plan has none.
// The slice is shared: do not modify it. O(1).
func (c *Catalog) DependenciesOf(planID string) []Dependency {
	return c.idx.deps[lowerASCII(planID)]
}

// Excludes reports whether plans a and b (servicePlanIds, any case, in any
// order) may not both be enabled for one user. O(1).
func (c *Catalog) Excludes(planA, planB string) bool {
	_, ok := c.idx.excl[planPair{lowerASCII(planA), lowerASCII(planB)}]
	return ok
}

// ProhibitedIn reports whether the product skuID (any case) may not be
// assigned to a user whose usage location is country (ISO 3166 alpha-2, any
// case). An unknown product or an empty country is never prohibited: the
// caller checks those. O(1).
func (c *Catalog) ProhibitedIn(skuID, country string) bool {
	_, ok := c.idx.prohibited[skuCountry{lowerASCII(skuID), upperASCII(country)}]
	return ok
}

// AllotmentEligible reports whether product skuID (any case) may be used in
// an allotment; when not, reason says why in words an administrator can act
// on. Microsoft's products are eligible unless the curated rules list them
// (Store apps, tenant-level capacity); a custom product is eligible unless
// it applies to the company rather than to users; an unknown product is not
// eligible. O(1).
func (c *Catalog) AllotmentEligible(skuID string) (ok bool, reason string) {
	id := lowerASCII(skuID)
	s := c.byID[id]
	switch {
	case s == nil:
		return false, "unknown product"
	case c.idx.ineligible[id] != nil:
		return false, c.idx.ineligible[id].Reason
	case s.AppliesTo == "Company":
		return false, "applies to the company, not a product available to users"
	}
	return true, ""
}

// WithRules returns a copy of c whose plan rules are r, after checking that
// every plan and product r names is in c. The copy shares c's products. r
// must not be modified afterwards.
func (c *Catalog) WithRules(r *Rules) (*Catalog, error) {
	if r == nil {
		r = &Rules{}
	}
	if err := c.validateRules(r); err != nil {
		return nil, err
	}
	out := *c
	out.rules, out.idx = r, indexRules(r)
	return &out, nil
}

// validateRules checks that the ids r uses are lower-case GUIDs known to c.
func (c *Catalog) validateRules(r *Rules) error {
	var errs []error
	plan := func(where, id string) {
		if _, ok := c.plans[id]; !ok || id != lowerASCII(id) {
			errs = append(errs, fmt.Errorf("%s: service plan %q is not in the catalog", where, id))
		}
	}
	sku := func(where, id string) {
		if _, ok := c.byID[id]; !ok || id != lowerASCII(id) {
			errs = append(errs, fmt.Errorf("%s: product %q is not in the catalog", where, id))
		}
	}
	for i, d := range r.Dependencies {
		where := fmt.Sprintf("dependencies[%d]", i)
		plan(where+".plan", d.Plan)
		if len(d.RequiresAnyOf) == 0 {
			errs = append(errs, fmt.Errorf("%s.requiresAnyOf: empty", where))
		}
		for k, p := range d.RequiresAnyOf {
			plan(fmt.Sprintf("%s.requiresAnyOf[%d]", where, k), p)
		}
	}
	for i, x := range r.Exclusions {
		where := fmt.Sprintf("exclusions[%d]", i)
		plan(where+".plans[0]", x.Plans[0])
		plan(where+".plans[1]", x.Plans[1])
		if x.Plans[0] == x.Plans[1] {
			errs = append(errs, fmt.Errorf("%s: a plan cannot exclude itself", where))
		}
	}
	for i, lr := range r.LocationRestrictions {
		where := fmt.Sprintf("locationRestrictions[%d]", i)
		sku(where+".sku", lr.SKU)
		for k, cc := range lr.Countries {
			if !isCountryCode(cc) {
				errs = append(errs, fmt.Errorf("%s.countries[%d]: %q is not an upper-case ISO 3166 alpha-2 code", where, k, cc))
			}
		}
	}
	for i, in := range r.AllotmentIneligible {
		where := fmt.Sprintf("allotmentIneligible[%d]", i)
		sku(where+".sku", in.SKU)
		if in.Reason == "" {
			errs = append(errs, fmt.Errorf("%s.reason: empty", where))
		}
	}
	return errors.Join(errs...)
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// The curated data file (data/plan-rules.json) names plans and products as
// "NAME (GUID)", the way Microsoft's reference page writes them, so that a
// reviewer can read it; the loader checks both parts against the catalog.
type ruleFile struct {
	About        string `json:"about"`
	Dependencies []struct {
		Plans         []string `json:"plans"`
		RequiresAnyOf []string `json:"requiresAnyOf"`
		Source        string   `json:"source"`
	} `json:"dependencies"`
	Exclusions []struct {
		Service       string   `json:"service"`
		Plans         []string `json:"plans"`
		AllowTogether []struct {
			Plans  []string `json:"plans"`
			Source string   `json:"source"`
		} `json:"allowTogether"`
		Source string `json:"source"`
	} `json:"exclusions"`
	LocationRestrictions []struct {
		SKUs      []string `json:"skus"`
		Countries []string `json:"countries"`
		Source    string   `json:"source"`
	} `json:"locationRestrictions"`
	AllotmentIneligible struct {
		Heuristic string `json:"heuristic"`
		SKUs      []struct {
			SKU    string `json:"sku"`
			Reason string `json:"reason"`
		} `json:"skus"`
	} `json:"allotmentIneligible"`
	ReviewedNotEnforced []struct {
		Rule   string `json:"rule"`
		Reason string `json:"reason"`
		Source string `json:"source"`
	} `json:"reviewedNotEnforced"`
}

// defaultRules loads the curated plan rules for catalog c.
func defaultRules(c *Catalog) (*Rules, error) { return loadRules(planRulesJSON, c) }

// loadRules decodes a plan-rules file and resolves it against c. Any plan or
// product the file names that c does not have, a name that does not match
// the catalog's name for the id, a rule without a source, or an unknown
// field is an error: the data file is curated by hand and must fail loudly.
//
// An exclusion group makes every pair of its plans exclusive, except the
// pairs listed under allowTogether (each with its own source).
func loadRules(data []byte, c *Catalog) (*Rules, error) {
	l := ruleLoader{c: c, r: &Rules{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l.f); err != nil {
		return nil, fmt.Errorf("plan rules: %w", err)
	}
	l.dependencies()
	l.exclusions()
	l.locationRestrictions()
	l.allotmentIneligible()
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return l.r, nil
}

// ruleLoader reads a rule file's sections into r, collecting every error.
type ruleLoader struct {
	f    ruleFile
	c    *Catalog
	r    *Rules
	errs []error
}

func (l *ruleLoader) fail(where, format string, a ...any) {
	l.errs = append(l.errs, fmt.Errorf("plan rules: %s: %s", where, fmt.Sprintf(format, a...)))
}

// planRef resolves "NAME (GUID)" to a service plan of the catalog with
// that name ("" and an error otherwise).
func (l *ruleLoader) planRef(where, ref string) string {
	return l.ref(where, ref, "NAME", "service plan", func(id string) (string, bool) {
		p, ok := l.c.plans[id]
		if !ok {
			return "", false
		}
		return p.Name, true
	})
}

// skuRef resolves "PARTNUMBER (GUID)" to a product of the catalog with
// that part number ("" and an error otherwise).
func (l *ruleLoader) skuRef(where, ref string) string {
	return l.ref(where, ref, "PARTNUMBER", "product", func(id string) (string, bool) {
		s, ok := l.c.byID[id]
		if !ok {
			return "", false
		}
		return s.PartNumber, true
	})
}

func (l *ruleLoader) ref(where, ref, form, what string, nameOf func(id string) (string, bool)) string {
	name, id, ok := parseRef(ref)
	if !ok {
		l.fail(where, "%q is not of the form \"%s (GUID)\"", ref, form)
		return ""
	}
	known, found := nameOf(id)
	if !found {
		l.fail(where, "%s %s (%s) is not in the catalog", what, name, id)
		return ""
	}
	if !strings.EqualFold(known, name) {
		l.fail(where, "%s %s is %s in the catalog, not %s", what, id, known, name)
		return ""
	}
	return id
}

func (l *ruleLoader) needSource(where, src string) {
	if strings.TrimSpace(src) == "" {
		l.fail(where, "rule has no source")
	}
}

// dependencies: each plan requires any of the listed plans.
func (l *ruleLoader) dependencies() {
	for i, d := range l.f.Dependencies {
		where := fmt.Sprintf("dependencies[%d]", i)
		l.needSource(where, d.Source)
		if len(d.Plans) == 0 || len(d.RequiresAnyOf) == 0 {
			l.fail(where, "needs plans and requiresAnyOf")
		}
		var req []string
		for k, ref := range d.RequiresAnyOf {
			if id := l.planRef(fmt.Sprintf("%s.requiresAnyOf[%d]", where, k), ref); id != "" {
				req = append(req, id)
			}
		}
		for k, ref := range d.Plans {
			if id := l.planRef(fmt.Sprintf("%s.plans[%d]", where, k), ref); id != "" {
				l.r.Dependencies = append(l.r.Dependencies, Dependency{Plan: id, RequiresAnyOf: req, Source: d.Source})
			}
		}
	}

}

// exclusions: every pair of a group's plans is exclusive, except the
// pairs allowed together; a pair is listed once.
func (l *ruleLoader) exclusions() {
	seenPair := map[planPair]bool{}
	for i, g := range l.f.Exclusions {
		where := fmt.Sprintf("exclusions[%d] (%s)", i, g.Service)
		l.needSource(where, g.Source)
		var ids []string
		member := map[string]bool{}
		for k, ref := range g.Plans {
			if id := l.planRef(fmt.Sprintf("%s.plans[%d]", where, k), ref); id != "" {
				ids = append(ids, id)
				member[id] = true
			}
		}
		allowed := map[planPair]bool{}
		for k, a := range g.AllowTogether {
			aw := fmt.Sprintf("%s.allowTogether[%d]", where, k)
			l.needSource(aw, a.Source)
			if len(a.Plans) != 2 {
				l.fail(aw, "needs exactly two plans")
				continue
			}
			x, y := l.planRef(aw+".plans[0]", a.Plans[0]), l.planRef(aw+".plans[1]", a.Plans[1])
			if x == "" || y == "" {
				continue
			}
			if !member[x] || !member[y] {
				l.fail(aw, "both plans must be in the group")
				continue
			}
			allowed[planPair{x, y}], allowed[planPair{y, x}] = true, true
		}
		for a := 0; a < len(ids); a++ {
			for b := a + 1; b < len(ids); b++ {
				p := planPair{ids[a], ids[b]}
				if allowed[p] || seenPair[p] {
					continue
				}
				seenPair[p], seenPair[planPair{p.b, p.a}] = true, true
				l.r.Exclusions = append(l.r.Exclusions, Exclusion{Plans: [2]string{p.a, p.b}, Source: g.Source})
			}
		}
	}

}

// locationRestrictions: the countries where each product may be used.
func (l *ruleLoader) locationRestrictions() {
	for i, lr := range l.f.LocationRestrictions {
		where := fmt.Sprintf("locationRestrictions[%d]", i)
		l.needSource(where, lr.Source)
		countries := make([]string, 0, len(lr.Countries))
		for k, cc := range lr.Countries {
			if !isCountryCode(cc) {
				l.fail(fmt.Sprintf("%s.countries[%d]", where, k), "%q is not an upper-case ISO 3166 alpha-2 code", cc)
				continue
			}
			countries = append(countries, cc)
		}
		for k, ref := range lr.SKUs {
			if id := l.skuRef(fmt.Sprintf("%s.skus[%d]", where, k), ref); id != "" {
				l.r.LocationRestrictions = append(l.r.LocationRestrictions, LocationRestriction{SKU: id, Countries: countries, Source: lr.Source})
			}
		}
	}

}

// allotmentIneligible: products allotments may not hold, each once with a
// reason, sorted by id.
func (l *ruleLoader) allotmentIneligible() {
	l.needSource("allotmentIneligible.heuristic", l.f.AllotmentIneligible.Heuristic)
	seenSKU := map[string]bool{}
	for i, in := range l.f.AllotmentIneligible.SKUs {
		where := fmt.Sprintf("allotmentIneligible.skus[%d]", i)
		if strings.TrimSpace(in.Reason) == "" {
			l.fail(where, "no reason")
		}
		id := l.skuRef(where, in.SKU)
		if id == "" {
			continue
		}
		if seenSKU[id] {
			l.fail(where, "product %s listed twice", id)
			continue
		}
		seenSKU[id] = true
		l.r.AllotmentIneligible = append(l.r.AllotmentIneligible, Ineligible{SKU: id, Reason: in.Reason, Source: l.f.AllotmentIneligible.Heuristic})
	}
	sort.Slice(l.r.AllotmentIneligible, func(i, j int) bool { return l.r.AllotmentIneligible[i].SKU < l.r.AllotmentIneligible[j].SKU })

}

// parseRef splits "NAME (GUID)" into its parts; the GUID is the text in the
// last pair of parentheses, returned in lower case.
func parseRef(ref string) (name, id string, ok bool) {
	ref = strings.TrimSpace(ref)
	open := strings.LastIndexByte(ref, '(')
	if open < 0 || !strings.HasSuffix(ref, ")") {
		return "", "", false
	}
	name = strings.TrimSpace(ref[:open])
	id = strings.ToLower(strings.TrimSpace(ref[open+1 : len(ref)-1]))
	if name == "" || !isGUID(id) {
		return "", "", false
	}
	return name, id, true
}
