package m365

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"allot"
	"allot/subscription"
)

// companySubscription is what a sync reads of Graph's
// /directory/subscriptions (the companySubscription resource). Graph
// gives no term length, billing cycle or renewal setting: those fields of
// allot's subscriptions stay as they were (or empty).
type companySubscription struct {
	ID                     string     `json:"id"`
	CommerceSubscriptionID string     `json:"commerceSubscriptionId"`
	SKUID                  string     `json:"skuId"`
	SKUPartNumber          string     `json:"skuPartNumber"`
	Status                 string     `json:"status"` // Enabled, Warning, Suspended, LockedOut, Deleted
	TotalLicenses          *int       `json:"totalLicenses"`
	CreatedDateTime        *time.Time `json:"createdDateTime"`
	NextLifecycleDateTime  *time.Time `json:"nextLifecycleDateTime"`
	IsTrial                bool       `json:"isTrial"`
}

// companyStatuses maps companySubscription's status to allot's (the
// inverse of subscription.CompanyStatus).
var companyStatuses = map[string]string{
	"enabled": subscription.StatusActive, "warning": subscription.StatusExpired, "suspended": subscription.StatusSuspended,
	"lockedout": subscription.StatusDisabled, "deleted": subscription.StatusDeleted,
}

// subscriptionOf maps a companySubscription to allot's subscription: the
// id is the commerce id (Partner Center's, which allot's own subscriptions
// use), else the Graph id; nextLifecycleDateTime is the end of the term of
// an enabled subscription, the end of the grace period of one in warning,
// and the deletion date of a locked-out one (subscription.NextLifecycle is
// the inverse).
func subscriptionOf(cs companySubscription) (subscription.Subscription, error) {
	id := cs.CommerceSubscriptionID
	if id == "" {
		id = cs.ID
	}
	status, ok := companyStatuses[strings.ToLower(cs.Status)]
	switch {
	case id == "" || len(id) > 128:
		return subscription.Subscription{}, allot.Errorf(allot.EINVALID, "Microsoft Graph returned a subscription without a usable id.")
	case cs.SKUID == "":
		return subscription.Subscription{}, allot.Errorf(allot.EINVALID, "Microsoft Graph returned subscription %s without a skuId.", id)
	case !ok:
		return subscription.Subscription{}, allot.Errorf(allot.EINVALID, "Microsoft Graph returned subscription %s with status %q (not Enabled, Warning, Suspended, LockedOut or Deleted).", id, cs.Status)
	case cs.TotalLicenses != nil && (*cs.TotalLicenses < 0 || *cs.TotalLicenses > subscription.MaxQuantity):
		return subscription.Subscription{}, allot.Errorf(allot.EINVALID, "Microsoft Graph returned subscription %s with %d licenses.", id, *cs.TotalLicenses)
	}
	s := subscription.Subscription{ID: id, SKUID: cs.SKUID, SKUPartNumber: cs.SKUPartNumber, Status: status}
	if cs.TotalLicenses != nil {
		s.Quantity = *cs.TotalLicenses
	}
	if cs.CreatedDateTime != nil {
		s.CreationDate = cs.CreatedDateTime.UTC()
	}
	if next := cs.NextLifecycleDateTime; next != nil && !next.IsZero() && next.Year() > 1 {
		n := next.UTC()
		switch status {
		case subscription.StatusActive:
			s.CommitmentEndDate = &n
		case subscription.StatusExpired:
			s.GraceEndDate = &n
		case subscription.StatusDisabled:
			s.DeletionDate = &n
		}
	}
	return s, nil
}

// subscriptions reads /directory/subscriptions. ok is false when the
// service does not serve them (403 without Directory.Read.All, 404 or 400
// where the endpoint is missing): the sync then takes the units of
// subscribedSkus alone.
func (f *fetcher) subscriptions(ctx context.Context) (subs []subscription.Subscription, ok bool, err error) {
	var raw []json.RawMessage
	err = f.c.Pages(ctx, "/directory/subscriptions", func(items []json.RawMessage, _, _ string) error {
		raw = append(raw, items...)
		return nil
	})
	var ge *Error
	if errors.As(err, &ge) && (ge.Status == http.StatusForbidden || ge.Status == http.StatusNotFound || ge.Status == http.StatusBadRequest) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	seen := map[string]bool{}
	for _, r := range raw {
		var cs companySubscription
		if err := json.Unmarshal(r, &cs); err != nil {
			return nil, false, allot.Errorf(allot.EINVALID, "Microsoft Graph returned a subscription that does not read: %v", err)
		}
		s, err := subscriptionOf(cs)
		if err != nil {
			return nil, false, err
		}
		if seen[s.ID] {
			return nil, false, allot.Errorf(allot.EINVALID, "Microsoft Graph returned subscription %s twice.", s.ID)
		}
		seen[s.ID] = true
		subs = append(subs, s)
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].ID < subs[j].ID })
	return subs, true, nil
}

// withTerms keeps, in each subscription read, the term fields that Graph
// does not give (effectiveStartDate, termDuration, billingCycle,
// autoRenewEnabled, offer, friendly name, suspension reasons) from the
// tenant's stored subscription of the same id, so that a sync does not
// erase what the partner API or a subscriptions.csv import set.
func withTerms(read []subscription.Subscription, stored map[string]subscription.Subscription) []subscription.Subscription {
	out := make([]subscription.Subscription, len(read))
	for i, s := range read {
		if cur, ok := stored[s.ID]; ok && strings.EqualFold(cur.SKUID, s.SKUID) {
			s.EffectiveStartDate, s.TermDuration, s.BillingCycle = cur.EffectiveStartDate, cur.TermDuration, cur.BillingCycle
			s.AutoRenewEnabled, s.OfferID, s.FriendlyName, s.SuspensionReasons = cur.AutoRenewEnabled, cur.OfferID, cur.FriendlyName, cur.SuspensionReasons
			if s.Status == cur.Status {
				if s.CommitmentEndDate == nil {
					s.CommitmentEndDate = cur.CommitmentEndDate
				}
				if s.GraceEndDate == nil {
					s.GraceEndDate = cur.GraceEndDate
				}
				if s.DeletionDate == nil {
					s.DeletionDate = cur.DeletionDate
				}
			}
		}
		out[i] = s
	}
	return out
}
