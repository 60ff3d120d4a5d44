package subscription

import (
	"encoding/json"
	"testing"
	"time"
)

// A renewal adds the term's length and starts a new term; a record
// written before the term fields existed reads its term start from its
// creation date and renews yearly.
func TestRenewalFollowsTheTerm(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	for _, c := range []struct {
		term, start, end string
	}{{"P1M", "2026-03-01", "2026-04-01"}, {"P1Y", "2026-03-01", "2027-03-01"}, {"P3Y", "2026-03-01", "2029-03-01"}, {"", "2026-03-01", "2027-03-01"}} {
		end := day("2026-03-01")
		s := Subscription{Status: StatusActive, AutoRenewEnabled: true, CommitmentEndDate: &end, TermDuration: c.term, CreationDate: day("2025-03-01")}
		if !Advance(&s, day("2026-03-02")) {
			t.Fatalf("%s: no renewal", c.term)
		}
		if !s.TermStart().Equal(day(c.start)) || !s.CommitmentEndDate.Equal(day(c.end)) {
			t.Errorf("%s: term %s to %s", c.term, s.TermStart(), s.CommitmentEndDate)
		}
	}
	var old Subscription
	if err := json.Unmarshal([]byte(`{"id":"s","status":"active","creationDate":"2025-01-02T00:00:00Z","commitmentEndDate":null,"autoRenewEnabled":false}`), &old); err != nil {
		t.Fatal(err)
	}
	if !old.TermStart().Equal(day("2025-01-02")) || old.TermDuration != "" || old.BillingCycle != "" {
		t.Errorf("old record: %+v", old)
	}
	if CheckTerm("P2Y", "") == nil || CheckTerm("", "weekly") == nil || CheckTerm("P1M", "monthly") != nil {
		t.Error("CheckTerm")
	}
}
