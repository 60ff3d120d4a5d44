// Package prices is a tenant's price list: the monthly unit price of the
// products it buys, in one currency. The license position (package
// position) costs seats and fixes with it; without a price list the
// position still counts seats.
//
// A list is stored as one tenant object (kind Kind, id ObjectID) through
// Tx.Put, so both copies of the tenant hold it; Put replaces the whole list.
package prices

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"allot"
	"allot/catalog"
	"allot/store"
	"allot/tenant"
)

// Kind and ObjectID name the stored price list.
const (
	Kind     store.Kind = "priceList"
	ObjectID string     = "current"
)

// MaxUnitPrice bounds a monthly unit price (it keeps costs exact in the
// position's integer arithmetic).
const MaxUnitPrice = 1_000_000

// Unit is the resolution of prices and costs: 1/10,000 of the currency.
// Prices are rounded to it when a list is checked.
const Unit = 10_000

// Price is the monthly price of one unit (seat) of a product.
type Price struct {
	SKUID            string  `json:"skuId"`
	SKUPartNumber    string  `json:"skuPartNumber"`
	MonthlyUnitPrice float64 `json:"monthlyUnitPrice"`
	// Term is the commitment the price applies to: P1M, P1Y or P3Y (ISO
	// 8601 durations, as Partner Center names them); empty when not given.
	Term string `json:"term,omitempty"`
}

// List is a tenant's price list, with what the tenant may buy: the
// license position's cheapest covers choose among the priced products
// that apply to users, are sold to the tenant's kind (TenantKind) and, when
// MayBuy is given, are in it.
type List struct {
	Currency  string    `json:"currency"` // ISO 4217, upper case
	Prices    []Price   `json:"prices"`   // by part number, then skuId
	UpdatedAt time.Time `json:"updatedDateTime"`
	// TenantKind is who the tenant is to Microsoft's sales: "" (commercial),
	// "education", "government" or "nonprofit". Education and nonprofit
	// tenants may buy commercial products and their own; government
	// tenants (the US Government clouds) only government products; the
	// others only commercial ones (catalog.Audience).
	TenantKind string `json:"tenantKind,omitempty"`
	// MayBuy lists the products (skuIds, resolved from skuIds or part
	// numbers) the tenant may buy; empty: every priced product of its kind.
	MayBuy []string `json:"mayBuy,omitempty"`
}

// TenantKinds are the values of List.TenantKind.
var TenantKinds = []string{"", catalog.AudienceEducation, catalog.AudienceGovernment, catalog.AudienceNonprofit}

// SoldTo reports whether a product of the given audience (catalog.Audience)
// is sold to a tenant of kind kind.
func SoldTo(audience, kind string) bool {
	switch kind {
	case catalog.AudienceGovernment:
		return audience == catalog.AudienceGovernment
	case catalog.AudienceEducation, catalog.AudienceNonprofit:
		return audience == "" || audience == kind
	}
	return audience == ""
}

// MayBuyProduct reports whether the tenant may buy a product: sold to its
// kind and, when the list names what it may buy, named there. A nil list
// allows every commercial product.
func (l *List) MayBuyProduct(cat *catalog.Catalog, s *catalog.SKU) bool {
	kind := ""
	if l != nil {
		kind = l.TenantKind
	}
	if !SoldTo(cat.Audience(s), kind) {
		return false
	}
	if l == nil || len(l.MayBuy) == 0 {
		return true
	}
	for _, id := range l.MayBuy {
		if id == s.ID {
			return true
		}
	}
	return false
}

// Check validates the list against a catalog and normalises it: each entry
// names a product by skuId or skuPartNumber (both given must agree), which
// is resolved to both; a price is ≥ 0 and ≤ MaxUnitPrice and is rounded to
// Unit; a product appears once; the currency is three letters. On failure
// it returns one EINVALID error whose message names every offending entry
// ("prices[2].skuPartNumber: …"), at most 20 of them.
func (l *List) Check(cat *catalog.Catalog) error {
	var probs []string
	fail := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	l.Currency = strings.ToUpper(strings.TrimSpace(l.Currency))
	if !isCurrency(l.Currency) {
		fail("currency: %q is not a three-letter ISO 4217 code", l.Currency)
	}
	seen := map[string]int{}
	for i := range l.Prices {
		p := &l.Prices[i]
		f := fmt.Sprintf("prices[%d]", i)
		if err := p.resolve(cat); err != "" {
			fail("%s.%s", f, err)
		} else if j, dup := seen[p.SKUID]; dup {
			fail("%s: %s is already priced by prices[%d]", f, p.SKUPartNumber, j)
		} else {
			seen[p.SKUID] = i
		}
		switch {
		case math.IsNaN(p.MonthlyUnitPrice) || p.MonthlyUnitPrice < 0:
			fail("%s.monthlyUnitPrice: must be zero or more", f)
		case p.MonthlyUnitPrice > MaxUnitPrice:
			fail("%s.monthlyUnitPrice: must be at most %d", f, MaxUnitPrice)
		default:
			p.MonthlyUnitPrice = float64(ToUnits(p.MonthlyUnitPrice)) / Unit
		}
		if t, ok := normTerm(p.Term); ok {
			p.Term = t
		} else {
			fail("%s.term: %q is not a term (use monthly, annual, triennial, P1M, P1Y or P3Y)", f, p.Term)
		}
	}
	l.TenantKind = strings.ToLower(strings.TrimSpace(l.TenantKind))
	if l.TenantKind == "commercial" {
		l.TenantKind = ""
	}
	okKind := false
	for _, k := range TenantKinds {
		okKind = okKind || k == l.TenantKind
	}
	if !okKind {
		fail("tenantKind: %q is not commercial, education, government or nonprofit", l.TenantKind)
	}
	may := map[string]bool{}
	for i, ref := range l.MayBuy {
		s, ok := cat.SKU(strings.TrimSpace(ref))
		switch {
		case !ok:
			fail("mayBuy[%d]: no product has skuId or part number %q", i, ref)
		case may[s.ID]:
			fail("mayBuy[%d]: %s is named twice", i, s.PartNumber)
		default:
			may[s.ID] = true
			l.MayBuy[i] = s.ID
		}
	}
	if len(probs) > 0 {
		if len(probs) > 20 {
			probs = append(probs[:20], fmt.Sprintf("and %d more", len(probs)-20))
		}
		return allot.Errorf(allot.EINVALID, "The price list is invalid: %s.", strings.Join(probs, "; "))
	}
	sort.Slice(l.Prices, func(i, j int) bool {
		a, b := l.Prices[i], l.Prices[j]
		if a.SKUPartNumber != b.SKUPartNumber {
			return a.SKUPartNumber < b.SKUPartNumber
		}
		return a.SKUID < b.SKUID
	})
	return nil
}

// resolve fills SKUID and SKUPartNumber from whichever is given; it returns
// the field and problem, or "".
func (p *Price) resolve(cat *catalog.Catalog) string {
	id, part := strings.TrimSpace(p.SKUID), strings.TrimSpace(p.SKUPartNumber)
	switch {
	case id == "" && part == "":
		return "skuId: a skuId or skuPartNumber is required"
	case id != "":
		s, ok := cat.SKU(id)
		if !ok || !strings.EqualFold(s.ID, id) {
			return fmt.Sprintf("skuId: no product has skuId %q", id)
		}
		if part != "" && !strings.EqualFold(part, s.PartNumber) {
			return fmt.Sprintf("skuPartNumber: %q is not the part number of %s (%s)", part, s.ID, s.PartNumber)
		}
		p.SKUID, p.SKUPartNumber = s.ID, s.PartNumber
	default:
		s, ok := cat.SKU(part)
		if !ok {
			return fmt.Sprintf("skuPartNumber: no product is called %q", part)
		}
		p.SKUID, p.SKUPartNumber = s.ID, s.PartNumber
	}
	return ""
}

func isCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// normTerm maps the spellings of a commitment term to P1M, P1Y or P3Y.
func normTerm(t string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case "":
		return "", true
	case "p1m", "monthly", "month", "1 month":
		return "P1M", true
	case "p1y", "annual", "yearly", "year", "1 year", "12 months":
		return "P1Y", true
	case "p3y", "triennial", "3 years", "36 months":
		return "P3Y", true
	}
	return "", false
}

// ToUnits converts an amount of the currency to Units, rounded.
func ToUnits(amount float64) int64 { return int64(math.Round(amount * Unit)) }

// FromUnits converts Units to an amount of the currency.
func FromUnits(u int64) float64 { return float64(u) / Unit }

// Units returns the monthly unit price of a product in Units; false if the
// list does not price it. A nil list prices nothing.
func (l *List) Units(skuID string) (int64, bool) {
	if l == nil {
		return 0, false
	}
	for i := range l.Prices {
		if l.Prices[i].SKUID == skuID {
			return ToUnits(l.Prices[i].MonthlyUnitPrice), true
		}
	}
	return 0, false
}

// Of returns the tenant's price list; false when it has none. Call inside
// Tenant.Read or a command; the list returned is the caller's copy.
func Of(s *tenant.State) (*List, bool, error) {
	var l List
	ok, err := s.Decode(Kind, ObjectID, &l)
	if err != nil || !ok {
		return nil, false, err
	}
	return &l, true, nil
}

// Put replaces the tenant's price list with l, which Check has accepted.
// Run it inside Tenant.Do; l.UpdatedAt should be set before (commands are
// deterministic).
func Put(tx *tenant.Tx, l List) error {
	if l.Prices == nil {
		l.Prices = []Price{}
	}
	return tx.Put(Kind, ObjectID, l)
}
