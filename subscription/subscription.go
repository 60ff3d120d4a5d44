// Package subscription is a tenant's purchases of product units: the
// Subscription record (stored as kind store.KindSubscription), its lifecycle
// (lifecycle.go) and the rule that turns a SKU's subscriptions into the
// engine's units (Put). The partner API, bundles, the admin center and the
// demo tenant all use it.
package subscription

import (
	"slices"
	"sort"
	"time"

	"allot"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// Attributes carries Partner Center's objectType (stored with the record).
type Attributes struct {
	ObjectType string `json:"objectType"`
}

// Subscription is a purchase of units of one product.
type Subscription struct {
	ID               string     `json:"id"`
	OfferID          string     `json:"offerId"`
	SKUID            string     `json:"skuId"`
	SKUPartNumber    string     `json:"skuPartNumber"`
	FriendlyName     string     `json:"friendlyName"`
	Quantity         int        `json:"quantity"`
	Status           string     `json:"status" enum:"active,expired,suspended,disabled,deleted"` // active | expired | suspended | disabled | deleted (lifecycle.go)
	CreationDate     time.Time  `json:"creationDate"`
	LastModifiedDate time.Time  `json:"lastModifiedDate"`
	Attributes       Attributes `json:"attributes"`

	// CommitmentEndDate ends the term: the subscription then renews
	// (AutoRenewEnabled) or expires. Nil: no end.
	CommitmentEndDate *time.Time `json:"commitmentEndDate"`
	AutoRenewEnabled  bool       `json:"autoRenewEnabled"`
	// The term, as Partner Center's subscription resource has it:
	// EffectiveStartDate starts the current term (nil in records written
	// before it existed: TermStart reads CreationDate), TermDuration is its
	// length (ISO 8601: P1M, P1Y or P3Y; "" reads as P1Y) and the renewal
	// adds it, BillingCycle how it is billed (monthly, annual, triennial,
	// oneTime, none; "" unknown).
	EffectiveStartDate *time.Time `json:"effectiveStartDate,omitempty"`
	TermDuration       string     `json:"termDuration,omitempty"`
	BillingCycle       string     `json:"billingCycle,omitempty"`
	// SuspensionReasons says why a partner suspended it (e.g. "Nonpayment").
	SuspensionReasons []string `json:"suspensionReasons,omitempty"`
	// GraceEndDate (expired) and DeletionDate (disabled) are when the next
	// lifecycle stage begins (allot's; Partner Center does not show them).
	GraceEndDate *time.Time `json:"graceEndDate,omitempty"`
	DeletionDate *time.Time `json:"deletionDate,omitempty"`
	// CapabilityStatus is the Graph status of the subscription's units
	// (filled in answers, not stored).
	CapabilityStatus string `json:"capabilityStatus,omitempty" enum:"Enabled,Warning,Suspended,LockedOut,Deleted"`
}

// MaxQuantity bounds one subscription's quantity. Partner Center bounds
// each offer by its maximumQuantity (offer resource); allot, which also
// serves SaaS vendors with a million users, allows up to 1,000,000 units
// per subscription, far below what could overflow a count.
const MaxQuantity = 1_000_000

// Put stores a subscription and sets its SKU's units from all the tenant's
// subscriptions of that SKU, by lifecycle state (lifecycle.go). Lowering
// units below the seats in use is refused by the engine (ECONFLICT) before
// anything changes; only a deletion releases seats in use.
func Put(tx *tenant.Tx, sub Subscription) error {
	if sub.Status == "" {
		sub.Status = StatusActive
	}
	if !ValidStatus(sub.Status) {
		return allot.Errorf(allot.EINVALID, "status %q is not supported: use active, expired, suspended, disabled or deleted.", sub.Status)
	}
	if err := CheckTerm(sub.TermDuration, sub.BillingCycle); err != nil {
		return err
	}
	subs, err := List(tx.State)
	if err != nil {
		return err
	}
	units := licensing.Units{}
	others := subs[:0]
	for _, s := range subs {
		if s.ID != sub.ID {
			others = append(others, s)
		}
	}
	for _, s := range append(others, sub) {
		if s.SKUID != sub.SKUID {
			continue
		}
		AddUnits(&units, s)
	}
	units.Status = licensing.StatusOf(units)
	set := tx.Engine.SetUnits
	if sub.Status == StatusDeleted {
		set = tx.Engine.SetUnitsReleasing
	}
	if err := set(tx.Op, sub.SKUID, units); err != nil {
		return err
	}
	sub.CapabilityStatus = ""
	return tx.Put(store.KindSubscription, sub.ID, sub)
}

// List returns the tenant's subscriptions ordered by creation.
func List(s *tenant.State) ([]Subscription, error) {
	var out []Subscription
	for _, id := range s.IDs(store.KindSubscription) {
		var sub Subscription
		if _, err := s.Decode(store.KindSubscription, id, &sub); err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreationDate.Before(out[j].CreationDate) })
	return out, nil
}

// Term lengths and billing cycles Partner Center uses.
var (
	TermDurations = []string{"P1M", "P1Y", "P3Y"}
	BillingCycles = []string{"monthly", "annual", "triennial", "oneTime", "none"}
)

// CheckTerm checks a term duration and a billing cycle ("" for either is
// allowed: unknown).
func CheckTerm(termDuration, billingCycle string) error {
	if termDuration != "" && !slices.Contains(TermDurations, termDuration) {
		return allot.Errorf(allot.EINVALID, "termDuration %q is not supported: use P1M, P1Y or P3Y.", termDuration)
	}
	if billingCycle != "" && !slices.Contains(BillingCycles, billingCycle) {
		return allot.Errorf(allot.EINVALID, "billingCycle %q is not supported: use monthly, annual, triennial, oneTime or none.", billingCycle)
	}
	return nil
}

// TermStart is when the current term began: EffectiveStartDate, or the
// creation date for records written before it existed.
func (s Subscription) TermStart() time.Time {
	if s.EffectiveStartDate != nil {
		return *s.EffectiveStartDate
	}
	return s.CreationDate
}

// renew returns the end of the term after one that ends at end.
func (s Subscription) renew(end time.Time) time.Time {
	switch s.TermDuration {
	case "P1M":
		return end.AddDate(0, 1, 0)
	case "P3Y":
		return end.AddDate(3, 0, 0)
	}
	return end.AddDate(1, 0, 0)
}
