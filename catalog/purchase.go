package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

//go:embed data/purchase-rules.json
var purchaseJSON []byte

// Audiences a product may be sold to only (Audience); "" is every
// commercial customer.
const (
	AudienceCommercial = ""
	AudienceEducation  = "education"
	AudienceGovernment = "government"
	AudienceNonprofit  = "nonprofit"
)

// SeatLimit is a cap on the seats a tenant may buy of a set of products
// together (Microsoft's 300 seats is one cap across its Business plans).
type SeatLimit struct {
	SKUs     []string `json:"skus"` // skuIds
	MaxSeats int      `json:"maxSeats"`
	Source   string   `json:"source"`
}

// audienceRule recognises the products of an audience by whole words of
// their part number or display name.
type audienceRule struct {
	Audience string   `json:"audience"`
	Words    []string `json:"words"`
	Source   string   `json:"source"`
}

type purchaseRules struct {
	limits    []SeatLimit
	limitOf   map[string]int // skuId → index in limits
	audiences []audienceRule
}

// purchase parses the embedded purchase rules against c (a build defect
// panics: the file is checked by the tests).
func (c *Catalog) purchase() *purchaseRules {
	st := c.purchaseSt
	st.once.Do(func() {
		p, err := parsePurchase(c, purchaseJSON)
		if err != nil {
			panic("catalog: embedded purchase rules: " + err.Error())
		}
		st.rules = p
	})
	return st.rules
}

// purchaseState is a catalog's purchase rules, parsed once.
type purchaseState struct {
	once  sync.Once
	rules *purchaseRules
}

func parsePurchase(c *Catalog, data []byte) (*purchaseRules, error) {
	var raw struct {
		SeatLimits []SeatLimit    `json:"seatLimits"`
		Audiences  []audienceRule `json:"audiences"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	p := &purchaseRules{limitOf: map[string]int{}, audiences: raw.Audiences}
	for i, l := range raw.SeatLimits {
		if l.MaxSeats <= 0 || l.Source == "" {
			return nil, fmt.Errorf("seatLimits[%d]: a positive maxSeats and a source are required", i)
		}
		ids := make([]string, 0, len(l.SKUs))
		for _, ref := range l.SKUs {
			part, id, ok := strings.Cut(strings.TrimSuffix(ref, ")"), " (")
			s, found := c.SKU(id)
			if ok && !found {
				continue // a catalog without the product (a test's)
			}
			if !ok || !strings.EqualFold(s.PartNumber, part) {
				return nil, fmt.Errorf("seatLimits[%d]: %q is not \"PART_NUMBER (skuId)\" of a catalog product", i, ref)
			}
			if _, dup := p.limitOf[s.ID]; dup {
				return nil, fmt.Errorf("seatLimits[%d]: %s has two limits", i, ref)
			}
			p.limitOf[s.ID] = len(p.limits)
			ids = append(ids, s.ID)
		}
		if len(ids) > 0 {
			p.limits = append(p.limits, SeatLimit{SKUs: ids, MaxSeats: l.MaxSeats, Source: l.Source})
		}
	}
	for i, a := range raw.Audiences {
		if a.Audience == "" || len(a.Words) == 0 || a.Source == "" {
			return nil, fmt.Errorf("audiences[%d]: audience, words and source are required", i)
		}
	}
	return p, nil
}

// SeatLimits returns the seat limits of the catalog's products (read only).
func (c *Catalog) SeatLimits() []SeatLimit { return c.purchase().limits }

// SeatLimitOf returns the seat limit a product falls under; false when
// none.
func (c *Catalog) SeatLimitOf(skuID string) (SeatLimit, bool) {
	p := c.purchase()
	i, ok := p.limitOf[strings.ToLower(skuID)]
	if !ok {
		return SeatLimit{}, false
	}
	return p.limits[i], true
}

// Audience returns who a product is sold to: AudienceEducation,
// AudienceGovernment, AudienceNonprofit, or AudienceCommercial (everyone),
// recognised by whole words of its part number and display name
// (data/purchase-rules.json). A custom product is commercial.
func (c *Catalog) Audience(s *SKU) string {
	if s.Custom {
		return AudienceCommercial
	}
	name := " " + wordsOf(s.PartNumber) + " " + wordsOf(s.DisplayName) + " "
	for _, a := range c.purchase().audiences {
		for _, w := range a.Words {
			if strings.Contains(name, " "+w+" ") {
				return a.Audience
			}
		}
	}
	return AudienceCommercial
}

// PlanAudience is Audience for a service plan's name (its cloud: a _GOV or
// _DOD plan is the government clouds'): AudienceGovernment or "".
func (c *Catalog) PlanAudience(planName string) string {
	name := " " + wordsOf(planName) + " "
	for _, a := range c.purchase().audiences {
		if a.Audience != AudienceGovernment {
			continue
		}
		for _, w := range a.Words {
			if strings.Contains(name, " "+w+" ") {
				return a.Audience
			}
		}
	}
	return AudienceCommercial
}

// NeedsBase reports whether a product is an add-on: a plan of it
// requires (a dependency rule) a plan the product does not have, so it is
// of use only with a base product that has one. The license position's
// covers add the base as a requirement of its own (a prerequisite).
func (c *Catalog) NeedsBase(s *SKU) bool {
	for _, p := range s.Plans {
		for _, d := range c.DependenciesOf(p.ID) {
			inside := false
			for _, r := range d.RequiresAnyOf {
				if s.HasPlan(r) {
					inside = true
				}
			}
			if !inside {
				return true
			}
		}
	}
	return false
}

// wordsOf upper-cases s and turns every character that is not a letter or
// a digit into a space.
func wordsOf(s string) string {
	b := []byte(strings.ToUpper(s))
	for i, ch := range b {
		if !(ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			b[i] = ' '
		}
	}
	return string(b)
}
