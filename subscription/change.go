package subscription

import (
	"time"

	"allot"
	"allot/store"
	"allot/tenant"
)

// Order is a purchase of a new subscription (the partner API's POST
// subscriptions, the admin center's form).
type Order struct {
	// OfferID is a skuPartNumber or skuId.
	OfferID           string
	Quantity          *int
	CommitmentEndDate *time.Time
	AutoRenewEnabled  bool
	// The term (see Subscription): when it started (default: now), its
	// length and how it is billed ("" for the defaults).
	EffectiveStartDate *time.Time
	TermDuration       string
	BillingCycle       string
}

// Create checks an order and stores the new subscription with the id
// given (chosen by the caller before the command, as every id is, so that
// the command itself is deterministic), active from tx.Op.Now (a term that already ended applies at
// once); a refused order (EINVALID: a quantity outside 1 to MaxQuantity,
// an unknown product) changes nothing.
func Create(tx *tenant.Tx, id string, in Order) (Subscription, error) {
	if err := CheckTerm(in.TermDuration, in.BillingCycle); err != nil {
		return Subscription{}, err
	}
	if in.Quantity == nil || *in.Quantity < 1 || *in.Quantity > MaxQuantity {
		return Subscription{}, allot.Errorf(allot.EINVALID, "quantity must be a whole number from 1 to %d.", MaxQuantity)
	}
	sku, ok := tx.Engine.Catalog().SKU(in.OfferID)
	if !ok {
		return Subscription{}, allot.Errorf(allot.EINVALID, "offerId %q is not a known product (use a skuPartNumber such as SPE_E3, or a skuId).", in.OfferID)
	}
	now := tx.Op.Now
	sub := Subscription{ID: id, OfferID: in.OfferID, SKUID: sku.ID, SKUPartNumber: sku.PartNumber, FriendlyName: sku.DisplayName,
		Quantity: *in.Quantity, Status: StatusActive, CreationDate: now, LastModifiedDate: now, Attributes: Attributes{ObjectType: "Subscription"},
		CommitmentEndDate: utcPtr(in.CommitmentEndDate), AutoRenewEnabled: in.AutoRenewEnabled,
		EffectiveStartDate: utcPtr(in.EffectiveStartDate), TermDuration: in.TermDuration, BillingCycle: in.BillingCycle}
	Advance(&sub, now)
	return sub, Put(tx, sub)
}

// Patch is a change of a subscription: nil fields stay.
type Patch struct {
	Quantity          *int
	Status            *string
	CommitmentEndDate *time.Time
	AutoRenewEnabled  *bool
	SuspensionReasons []string
	// The term (see Subscription).
	EffectiveStartDate *time.Time
	TermDuration       *string
	BillingCycle       *string
}

// CheckPatch validates a change without a tenant: something to change, a
// quantity from 1 to MaxQuantity, a status a partner may set, and
// suspension reasons only with status suspended.
func CheckPatch(in Patch) error {
	if in.Quantity == nil && in.Status == nil && in.CommitmentEndDate == nil && in.AutoRenewEnabled == nil &&
		in.EffectiveStartDate == nil && in.TermDuration == nil && in.BillingCycle == nil {
		return allot.Errorf(allot.EINVALID, "Nothing to change: send quantity, status, commitmentEndDate, autoRenewEnabled, effectiveStartDate, termDuration and/or billingCycle.")
	}
	if err := CheckTerm(deref(in.TermDuration), deref(in.BillingCycle)); err != nil {
		return err
	}
	if in.Quantity != nil && (*in.Quantity < 1 || *in.Quantity > MaxQuantity) {
		return allot.Errorf(allot.EINVALID, "quantity must be a whole number from 1 to %d; suspend the subscription to stop its units.", MaxQuantity)
	}
	if in.Status != nil && !ValidStatus(*in.Status) {
		return allot.Errorf(allot.EINVALID, "status %q is not supported: use active, expired, suspended, disabled or deleted.", *in.Status)
	}
	if in.SuspensionReasons != nil && (in.Status == nil || *in.Status != StatusSuspended) {
		return allot.Errorf(allot.EINVALID, "suspensionReasons can only be sent with status suspended.")
	}
	return nil
}

// Change applies a patch to the stored subscription id at tx.Op.Now
// (CheckPatch, then the status transition Partner Center allows, then the
// units: lowering them below the seats in use is refused by the engine),
// and records a change of status or quantity in the audit log (before and
// after: AuditChange). A refused change (EINVALID,
// ENOTFOUND, ECONFLICT) changes nothing.
func Change(tx *tenant.Tx, id string, in Patch) (Subscription, error) {
	if err := CheckPatch(in); err != nil {
		return Subscription{}, err
	}
	var sub Subscription
	found, err := tx.Decode(store.KindSubscription, id, &sub)
	if err != nil {
		return Subscription{}, err
	}
	if !found {
		return Subscription{}, allot.Errorf(allot.ENOTFOUND, "Subscription %s does not exist.", id)
	}
	before, beforeQuantity := sub.Status, sub.Quantity
	if in.Status != nil {
		if err := CheckTransition(sub.Status, *in.Status); err != nil {
			return Subscription{}, err
		}
	}
	if in.Quantity != nil {
		sub.Quantity = *in.Quantity
	}
	if in.CommitmentEndDate != nil {
		sub.CommitmentEndDate = utcPtr(in.CommitmentEndDate)
	}
	if in.AutoRenewEnabled != nil {
		sub.AutoRenewEnabled = *in.AutoRenewEnabled
	}
	if in.EffectiveStartDate != nil {
		sub.EffectiveStartDate = utcPtr(in.EffectiveStartDate)
	}
	if in.TermDuration != nil {
		sub.TermDuration = *in.TermDuration
	}
	if in.BillingCycle != nil {
		sub.BillingCycle = *in.BillingCycle
	}
	if in.Status != nil {
		SetStatus(&sub, *in.Status, tx.Op.Now)
		if *in.Status == StatusSuspended && in.SuspensionReasons != nil {
			sub.SuspensionReasons = in.SuspensionReasons
		}
	}
	Advance(&sub, tx.Op.Now)
	sub.LastModifiedDate = tx.Op.Now
	if err := Put(tx, sub); err != nil {
		return Subscription{}, err
	}
	AuditChange(tx, sub, before, beforeQuantity)
	return sub, nil
}

// utcPtr copies a time in UTC, truncated to seconds (nil stays nil).
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Second)
	return &v
}

// Get returns a stored subscription (ENOTFOUND when the tenant has none of
// that id).
func Get(s *tenant.State, id string) (Subscription, error) {
	var sub Subscription
	found, err := s.Decode(store.KindSubscription, id, &sub)
	if err == nil && !found {
		err = allot.Errorf(allot.ENOTFOUND, "Subscription %s does not exist.", id)
	}
	return sub, err
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
