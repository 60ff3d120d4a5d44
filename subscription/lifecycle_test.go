package subscription

import (
	"testing"
	"time"
)

func TestLifecycleAdvancesEachStageAtItsDate(t *testing.T) {
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := Subscription{Status: StatusActive, Quantity: 3, CommitmentEndDate: &end}
	if Advance(&s, end.Add(-time.Second)) || s.Status != StatusActive {
		t.Fatalf("changed before the end date: %+v", s)
	}
	// One pass long after the end applies every stage at its own date.
	if !Advance(&s, end.Add(200*24*time.Hour)) || s.Status != StatusDeleted {
		t.Fatalf("after 200 days: %+v", s)
	}
	s = Subscription{Status: StatusActive, Quantity: 3, CommitmentEndDate: &end}
	Advance(&s, end)
	if s.Status != StatusExpired || !s.GraceEndDate.Equal(end.Add(GracePeriod)) {
		t.Fatalf("expired: %+v", s)
	}
	Advance(&s, *s.GraceEndDate)
	if s.Status != StatusDisabled || !s.DeletionDate.Equal(end.Add(GracePeriod+DisabledPeriod)) {
		t.Fatalf("disabled: %+v", s)
	}
}

func TestReactivatingAnEndedTermRenewsItFromNow(t *testing.T) {
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := Subscription{Status: StatusActive, CommitmentEndDate: &end}
	Advance(&s, end.Add(40*24*time.Hour))
	now := end.Add(41 * 24 * time.Hour)
	SetStatus(&s, StatusActive, now)
	if Advance(&s, now) || s.Status != StatusActive || !s.CommitmentEndDate.Equal(now.AddDate(1, 0, 0)) || s.GraceEndDate != nil || s.DeletionDate != nil {
		t.Fatalf("reactivated: %+v", s)
	}
}

func TestSuspendedSubscriptionHasNoTimer(t *testing.T) {
	s := Subscription{Status: StatusActive}
	SetStatus(&s, StatusSuspended, time.Now())
	if Advance(&s, time.Now().AddDate(5, 0, 0)) || s.Status != StatusSuspended {
		t.Fatalf("suspended subscription moved on its own: %+v", s)
	}
}
