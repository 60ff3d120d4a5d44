package subscription

import "time"

// Graph's view of a subscription (companySubscription, GET
// /directory/subscriptions): its status and the date it moves on.

// CompanyStatus is the companySubscription status of a subscription:
// Enabled, Warning, Suspended, LockedOut or Deleted — the capabilityStatus
// its units have (the table in lifecycle.go).
func CompanyStatus(s Subscription) string {
	switch s.Status {
	case StatusExpired:
		return "Warning"
	case StatusSuspended:
		return "Suspended"
	case StatusDisabled:
		return "LockedOut"
	case StatusDeleted:
		return "Deleted"
	default:
		return "Enabled"
	}
}

// NextLifecycle is when the subscription moves to its next state if
// nothing is done (companySubscription nextLifecycleDateTime): the end of
// the term for an active one (it then renews or expires), the end of the
// grace period for an expired one, the deletion date for a disabled one;
// nil when no date moves it (no term end, suspended, deleted).
func NextLifecycle(s Subscription) *time.Time {
	switch s.Status {
	case StatusActive:
		return s.CommitmentEndDate
	case StatusExpired:
		return s.GraceEndDate
	case StatusDisabled:
		return s.DeletionDate
	}
	return nil
}
