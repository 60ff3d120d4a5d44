package catalog

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

// Rules are the plan rules of a catalog.
type Rules struct {
	Dependencies         []Dependency          `json:"dependencies"`
	Exclusions           []Exclusion           `json:"exclusions"`
	LocationRestrictions []LocationRestriction `json:"locationRestrictions"`
	AllotmentIneligible  []Ineligible          `json:"allotmentIneligible"`
}

// defaultRules loads the curated plan rules for catalog c.
func defaultRules(c *Catalog) (*Rules, error) {
	return &Rules{}, nil
}
