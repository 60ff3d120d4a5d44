package catalog

import (
	"fmt"
	"strings"
)

// New builds a catalog from explicit products and rules — for tests and
// for tenants that do not use Microsoft's catalog. Ids are lower-cased;
// duplicate skuIds are an error, and so is a rule naming a plan or product
// the catalog does not have (see WithRules).
func New(skus []SKU, rules Rules) (*Catalog, error) {
	out := make([]*SKU, 0, len(skus))
	seen := map[string]bool{}
	for i := range skus {
		s := skus[i]
		s.ID = strings.ToLower(s.ID)
		if !isGUID(s.ID) {
			return nil, fmt.Errorf("catalog: skuId %q is not a GUID", s.ID)
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("catalog: skuId %s listed twice", s.ID)
		}
		seen[s.ID] = true
		if s.AppliesTo == "" {
			s.AppliesTo = "User"
		}
		plans := make([]Plan, len(s.Plans))
		for j, p := range s.Plans {
			p.ID = strings.ToLower(p.ID)
			if !isGUID(p.ID) {
				return nil, fmt.Errorf("catalog: plan id %q of %s is not a GUID", p.ID, s.PartNumber)
			}
			plans[j] = p
		}
		s.Plans = plans
		out = append(out, &s)
	}
	r := rules
	return build(out, nil, nil).WithRules(&r)
}
