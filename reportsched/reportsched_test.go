package reportsched_test

import (
	"testing"
	"time"

	"allot/reportsched"
)

// TestNext: the next run is the first slot after now in the schedule's
// zone — later today, or the next matching day — and the slot the runner
// sends (Slot) once that time has come.
func TestNext(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data")
	}
	at := func(y int, m time.Month, d, hh, mm int, loc *time.Location) time.Time {
		return time.Date(y, m, d, hh, mm, 0, 0, loc).UTC()
	}
	for _, c := range []struct {
		s    reportsched.Schedule
		now  time.Time
		want time.Time
	}{
		{reportsched.Schedule{Frequency: "daily", At: "07:30"}, at(2026, 3, 2, 7, 0, time.UTC), at(2026, 3, 2, 7, 30, time.UTC)},
		{reportsched.Schedule{Frequency: "daily", At: "07:30"}, at(2026, 3, 2, 7, 30, time.UTC), at(2026, 3, 3, 7, 30, time.UTC)},
		// Monday 2 March 2026: the next Monday 07:30 in Berlin is a week on.
		{reportsched.Schedule{Frequency: "weekly", Weekday: "monday", At: "07:30", TimeZone: "Europe/Berlin"}, at(2026, 3, 2, 8, 0, berlin), at(2026, 3, 9, 7, 30, berlin)},
		{reportsched.Schedule{Frequency: "weekly", Weekday: "monday", At: "07:30", TimeZone: "Europe/Berlin"}, at(2026, 3, 2, 7, 0, berlin), at(2026, 3, 2, 7, 30, berlin)},
		// Across the change to summer time (29 March 2026 in Berlin).
		{reportsched.Schedule{Frequency: "monthly", Day: 1, At: "06:00", TimeZone: "Europe/Berlin"}, at(2026, 3, 15, 0, 0, berlin), at(2026, 4, 1, 6, 0, berlin)},
		{reportsched.Schedule{Frequency: "daily", At: "06:00", TimeZone: "Nowhere/Atlantis"}, at(2026, 3, 15, 0, 0, time.UTC), time.Time{}},
		{reportsched.Schedule{Frequency: "daily", At: "7:30"}, at(2026, 3, 2, 7, 0, time.UTC), time.Time{}},
	} {
		got := c.s.Next(c.now)
		if !got.Equal(c.want) {
			t.Errorf("%+v at %v: next %v, want %v", c.s, c.now, got, c.want)
			continue
		}
		if !got.IsZero() && !c.s.Slot(got).Equal(got) {
			t.Errorf("%+v: Slot at the next run %v = %v", c.s, got, c.s.Slot(got))
		}
	}
}
