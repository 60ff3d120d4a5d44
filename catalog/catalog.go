// Package catalog is the product catalog of allot: SKUs (products) and the
// service plans they contain, parsed from Microsoft's published
// "Product names and service plan identifiers for licensing" CSV (embedded),
// plus the curated plan rules (dependencies, mutual exclusions, usage-location
// restrictions, allotment eligibility) and a tenant's custom products.
//
// The plan rules live in data/plan-rules.json, one documented source per
// rule; they are checked against the catalog when loaded, and the lookups the
// licensing engine makes (DependenciesOf, Excludes, ProhibitedIn,
// AllotmentEligible) are precomputed maps. WithCustom adds a tenant's own
// products to a copy of a catalog.
//
// A Catalog is immutable once built and safe for concurrent use; derived
// catalogs (WithRules, WithCustom) share the parent's products.
package catalog

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"
)

//go:embed data/product-names-and-service-plan-identifiers.csv
var microsoftCSV []byte

// Plan is a service plan (servicePlanId, servicePlanName).
type Plan struct {
	ID           string `json:"servicePlanId"`   // lower-case GUID
	Name         string `json:"servicePlanName"` // e.g. EXCHANGE_S_ENTERPRISE
	FriendlyName string `json:"friendlyName"`
}

// SKU is a product (subscribedSku's skuId / skuPartNumber).
type SKU struct {
	ID          string `json:"skuId"`         // lower-case GUID
	PartNumber  string `json:"skuPartNumber"` // e.g. SPE_E3
	DisplayName string `json:"displayName"`
	AppliesTo   string `json:"appliesTo"` // "User" or "Company"
	Plans       []Plan `json:"servicePlans"`
	Custom      bool   `json:"custom,omitempty"` // added by a tenant, not Microsoft's
}

// HasPlan reports whether the SKU contains the plan id.
func (s *SKU) HasPlan(planID string) bool {
	for i := range s.Plans {
		if s.Plans[i].ID == planID {
			return true
		}
	}
	return false
}

// Catalog is a set of SKUs and plans with the plan rules that apply to them.
type Catalog struct {
	skus      []*SKU            // sorted by PartNumber, then ID
	byID      map[string]*SKU   // lower-case skuId
	byPart    map[string][]*SKU // lower-case part number; several when Microsoft reuses one
	plans     map[string]*Plan  // lower-case servicePlanId
	planNames map[string]*Plan  // lower-case plan name
	withPlan  map[string][]*SKU
	rules     *Rules
	idx       *ruleIndex // rules, precomputed; never nil in a built catalog

	purchaseSt *purchaseState // the purchase rules, parsed on first use (shared by copies with the same products)
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Default returns Microsoft's catalog embedded in the binary, with the
// curated plan rules. It is parsed once; a parse error is a build defect and
// panics.
func Default() *Catalog {
	defaultOnce.Do(func() {
		c, err := Parse(microsoftCSV)
		if err != nil {
			panic(fmt.Sprintf("catalog: embedded CSV: %v", err))
		}
		r, err := defaultRules(c)
		if err != nil {
			panic(fmt.Sprintf("catalog: embedded plan rules: %v", err))
		}
		c.rules, c.idx = r, indexRules(r)
		defaultCat = c
	})
	return defaultCat
}

// SKU finds a product by skuId or skuPartNumber, case-insensitively. When
// Microsoft uses one part number for several products (MCOPSTN5), the part
// number finds the one with the lowest skuId; see SKUsByPartNumber.
func (c *Catalog) SKU(idOrPartNumber string) (*SKU, bool) {
	k := strings.ToLower(strings.TrimSpace(idOrPartNumber))
	if s, ok := c.byID[k]; ok {
		return s, true
	}
	if ss := c.byPart[k]; len(ss) > 0 {
		return ss[0], true
	}
	return nil, false
}

// SKUsByPartNumber returns every product with the part number
// (case-insensitive), ordered by skuId; nil when there is none. The slice is
// shared: do not modify it.
func (c *Catalog) SKUsByPartNumber(partNumber string) []*SKU {
	return c.byPart[strings.ToLower(strings.TrimSpace(partNumber))]
}

// Plan finds a service plan by servicePlanId or servicePlanName,
// case-insensitively. A name used by several plan ids (PROJECT_ESSENTIALS)
// finds the one met first in part-number order; look such plans up by id.
func (c *Catalog) Plan(idOrName string) (*Plan, bool) {
	k := strings.ToLower(strings.TrimSpace(idOrName))
	if p, ok := c.plans[k]; ok {
		return p, true
	}
	p, ok := c.planNames[k]
	return p, ok
}

// SKUs returns every product ordered by part number. The slice is shared:
// do not modify it.
func (c *Catalog) SKUs() []*SKU { return c.skus }

// SKUsWithPlan returns the products that contain the plan (servicePlanId,
// any case), by part number. The slice is shared: do not modify it.
func (c *Catalog) SKUsWithPlan(planID string) []*SKU {
	return c.withPlan[strings.ToLower(strings.TrimSpace(planID))]
}

// Plans returns every service plan, ordered by name then id.
func (c *Catalog) Plans() []*Plan {
	out := make([]*Plan, 0, len(c.plans))
	for _, p := range c.plans {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Search returns the products whose part number or display name contains
// text, case-insensitively; all products when text is empty.
func (c *Catalog) Search(text string) []*SKU {
	t := strings.ToLower(strings.TrimSpace(text))
	if t == "" {
		return c.skus
	}
	var out []*SKU
	for _, s := range c.skus {
		if strings.Contains(strings.ToLower(s.PartNumber), t) || strings.Contains(strings.ToLower(s.DisplayName), t) {
			out = append(out, s)
		}
	}
	return out
}

// Rules returns the plan rules in force for this catalog (never nil). The
// value is shared: do not modify it.
func (c *Catalog) Rules() *Rules {
	if c.rules == nil {
		return &Rules{}
	}
	return c.rules
}

// build indexes skus (already deduplicated, unique ids) into a Catalog with
// the given rules (nil: none) and their index (nil: computed).
func build(skus []*SKU, rules *Rules, idx *ruleIndex) *Catalog {
	if rules == nil {
		rules = &Rules{}
	}
	if idx == nil {
		idx = indexRules(rules)
	}
	c := &Catalog{
		byID:       make(map[string]*SKU, len(skus)),
		byPart:     make(map[string][]*SKU, len(skus)),
		plans:      make(map[string]*Plan),
		planNames:  make(map[string]*Plan),
		withPlan:   make(map[string][]*SKU),
		rules:      rules,
		idx:        idx,
		purchaseSt: &purchaseState{},
	}
	sort.Slice(skus, func(i, j int) bool {
		if skus[i].PartNumber != skus[j].PartNumber {
			return skus[i].PartNumber < skus[j].PartNumber
		}
		return skus[i].ID < skus[j].ID
	})
	c.skus = skus
	// Microsoft's products come first so that a plan's canonical record and
	// a part number's first product are never a tenant's custom one.
	for pass := 0; pass < 2; pass++ {
		for _, s := range skus {
			if s.Custom != (pass == 1) {
				continue
			}
			c.byID[s.ID] = s
			pk := strings.ToLower(s.PartNumber)
			c.byPart[pk] = append(c.byPart[pk], s) // ordered by ID: skus are sorted
			for i := range s.Plans {
				p := &s.Plans[i]
				if _, ok := c.plans[p.ID]; !ok {
					c.plans[p.ID] = p
				}
				if n := strings.ToLower(p.Name); c.planNames[n] == nil {
					c.planNames[n] = p
				}
			}
		}
	}
	for _, s := range skus {
		for i := range s.Plans {
			id := s.Plans[i].ID
			c.withPlan[id] = append(c.withPlan[id], s)
		}
	}
	return c
}
