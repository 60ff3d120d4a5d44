package subscription

import (
	"fmt"
	"strings"
	"time"

	"allot"
	"allot/audit"
	"allot/licensing"
	"allot/tenant"
)

// The subscription lifecycle follows Microsoft 365's ("What if my
// subscription expires?"): Active > Expired > Disabled > Deleted, plus a
// partner's suspension (Partner Center "Suspend a subscription": fraud or
// non-payment). Partner Center's status values drive the SKU's prepaid units
// (Graph licenseUnitsDetail) and so its capabilityStatus and the users'
// assignedPlans:
//
//	status     units      capabilityStatus  users' service   new assignments
//	active     enabled    Enabled           yes              yes
//	expired    warning    Warning           yes (grace)      yes
//	suspended  suspended  Suspended         no               no
//	disabled   lockedOut  LockedOut         no               no
//	deleted    (none)     Deleted           seats released   no
//
// Assignments are kept in every state but deleted. Dates drive the
// transitions, applied by the runtime's maintenance pass (MaintainAt, with
// the time passed in): at commitmentEndDate an active subscription renews
// for a term when autoRenewEnabled, else it expires; graceEndDate (30 days
// later) disables it; deletionDate (90 days after that) deletes it. A
// suspended subscription stays suspended until the partner reactivates it
// (status active) or it is disabled (status disabled).

const (
	StatusActive    = "active"
	StatusExpired   = "expired"
	StatusSuspended = "suspended"
	StatusDisabled  = "disabled"
	StatusDeleted   = "deleted"
)

// GracePeriod is how long an expired subscription keeps its users' service
// before it is disabled; DisabledPeriod how long a disabled one keeps its
// data before it is deleted (Microsoft 365 for business: 30 and 90 days).
const (
	GracePeriod    = 30 * 24 * time.Hour
	DisabledPeriod = 90 * 24 * time.Hour
)

// ValidStatus reports whether a partner may set the status.
func ValidStatus(s string) bool {
	switch s {
	case StatusActive, StatusExpired, StatusSuspended, StatusDisabled, StatusDeleted:
		return true
	}
	return false
}

// AddUnits adds a subscription's quantity to the units of its state.
func AddUnits(u *licensing.Units, s Subscription) {
	switch s.Status {
	case StatusActive:
		u.Enabled += s.Quantity
	case StatusExpired:
		u.Warning += s.Quantity
	case StatusSuspended:
		u.Suspended += s.Quantity
	case StatusDisabled:
		u.LockedOut += s.Quantity
	}
}

// SetStatus moves a subscription to a status at now and sets the dates of
// its next transition.
func SetStatus(s *Subscription, status string, now time.Time) {
	if s.Status == status {
		return
	}
	s.Status = status
	s.GraceEndDate, s.DeletionDate = nil, nil
	switch status {
	case StatusActive:
		s.SuspensionReasons = nil
		if s.CommitmentEndDate != nil && !s.CommitmentEndDate.After(now) {
			// Reactivating renews the term from now.
			end := now.AddDate(1, 0, 0)
			s.CommitmentEndDate = &end
		}
	case StatusExpired:
		end := now.Add(GracePeriod)
		s.GraceEndDate = &end
	case StatusDisabled:
		end := now.Add(DisabledPeriod)
		s.DeletionDate = &end
	}
}

// Advance applies every transition due at now, each at the date it was
// due, and reports whether the subscription changed.
func Advance(s *Subscription, now time.Time) bool {
	changed := false
	for {
		switch {
		case s.Status == StatusActive && s.CommitmentEndDate != nil && !s.CommitmentEndDate.After(now):
			at := *s.CommitmentEndDate
			if s.AutoRenewEnabled {
				start, end := at, s.renew(at)
				for !end.After(now) {
					start, end = end, s.renew(end)
				}
				s.EffectiveStartDate, s.CommitmentEndDate = &start, &end
			} else {
				SetStatus(s, StatusExpired, at)
			}
		case s.Status == StatusExpired && s.GraceEndDate != nil && !s.GraceEndDate.After(now):
			SetStatus(s, StatusDisabled, *s.GraceEndDate)
		case s.Status == StatusDisabled && s.DeletionDate != nil && !s.DeletionDate.After(now):
			SetStatus(s, StatusDeleted, *s.DeletionDate)
		default:
			return changed
		}
		s.LastModifiedDate = now
		changed = true
	}
}

// AdvanceAll applies the lifecycle transitions due at tx.Op.Now to
// every subscription of the tenant (the maintenance task).
func AdvanceAll(tx *tenant.Tx) error {
	subs, err := List(tx.State)
	if err != nil {
		return err
	}
	for _, s := range subs {
		before := s.Status
		if !Advance(&s, tx.Op.Now) {
			continue
		}
		if err := Put(tx, s); err != nil {
			return fmt.Errorf("subscription %s: %w", s.ID, err)
		}
		AuditStatus(tx, s, before)
	}
	return nil
}

// AuditStatus records a subscription's status change (the lifecycle:
// the quantity stays).
func AuditStatus(tx *tenant.Tx, s Subscription, before string) {
	AuditChange(tx, s, before, s.Quantity)
}

// AuditChange records what a change did to a subscription: its status and
// its quantity, each with the value before and after (Detail: JSON with
// subscriptionId and oldStatus/newStatus, oldQuantity/newQuantity for what
// changed); nothing when neither changed. The SKU's units that follow are
// recorded by the engine ("Update subscription units").
func AuditChange(tx *tenant.Tx, s Subscription, beforeStatus string, beforeQuantity int) {
	statusChanged, quantityChanged := s.Status != beforeStatus, s.Quantity != beforeQuantity
	if !statusChanged && !quantityChanged {
		return
	}
	var why []string
	detail := fmt.Sprintf(`{"subscriptionId":%q`, s.ID)
	if statusChanged {
		why = append(why, fmt.Sprintf("%s → %s", beforeStatus, s.Status))
		detail += fmt.Sprintf(`,"oldStatus":%q,"newStatus":%q`, beforeStatus, s.Status)
	}
	if quantityChanged {
		why = append(why, fmt.Sprintf("quantity %d → %d", beforeQuantity, s.Quantity))
		detail += fmt.Sprintf(`,"oldQuantity":%d,"newQuantity":%d`, beforeQuantity, s.Quantity)
	}
	tx.Audit(audit.Entry{Action: "Update subscription", SKUID: s.SKUID,
		Why:    fmt.Sprintf("subscription %s (%s, %d units) %s", s.ID, s.SKUPartNumber, s.Quantity, strings.Join(why, ", ")),
		Detail: detail + "}"})
}

// CheckTransition refuses what Partner Center refuses: nothing comes back
// from deleted.
func CheckTransition(from, to string) error {
	if from == StatusDeleted && to != StatusDeleted {
		return allot.Errorf(allot.ECONFLICT, "The subscription is deleted and cannot change status.")
	}
	return nil
}

// Maintenance advances every subscription's lifecycle (AdvanceAll); a
// runtime lists it in tenant.Options.Maintenance.
var Maintenance = tenant.MaintenanceTask{Name: "subscription lifecycle", Actor: "subscription lifecycle",
	Why: "scheduled subscription lifecycle", Run: AdvanceAll}

// WithStatus fills a subscription's capabilityStatus from its status.
func WithStatus(s Subscription) Subscription {
	var u licensing.Units
	q := s
	q.Quantity = 1
	AddUnits(&u, q)
	s.CapabilityStatus = licensing.StatusOf(u)
	return s
}
