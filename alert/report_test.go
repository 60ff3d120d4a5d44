package alert_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"allot/alert"
	"allot/internal/smtptest"
	"allot/reportsched"
	"allot/tenant"
)

// A weekly report is mailed, with its attachment, once when its slot (in
// its time zone) comes, and not again until the next slot; a new schedule
// does not mail slots before it was created.
func TestScheduledReportIsMailedAtItsSlot(t *testing.T) {
	mb := smtptest.New(t, true)
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{SMTP: smtpConfig(mb, "starttls")})
	r := &reportsched.Runner{Alerts: e.svc, Now: e.clk.Now}
	r.Register()
	// The clock starts Tuesday 2026-12-01 09:00 UTC = 10:00 in Berlin.
	e.do(func(tx *tenant.Tx) error {
		return reportsched.Put(tx, reportsched.Schedule{ID: "weekly", DisplayName: "Weekly position", Report: "position", Format: "csv",
			Frequency: "weekly", Weekday: "wednesday", At: "08:30", TimeZone: "Europe/Berlin", To: []string{"cfo@contoso.example"}})
	})
	run := func() int {
		r.RunOnce(context.Background(), e.rt)
		e.settle()
		return len(mb.Got())
	}
	if n := run(); n != 0 {
		t.Fatalf("%d mails before the first slot (the last Wednesday's is before the schedule)", n)
	}
	e.clk.Add(22*time.Hour + 29*time.Minute) // Wednesday 08:29 Berlin
	if n := run(); n != 0 {
		t.Fatalf("%d mails a minute early", n)
	}
	e.clk.Add(time.Minute) // 08:30 Berlin = 07:30 UTC
	if n := run(); n != 1 {
		t.Fatalf("%d mails at the slot", n)
	}
	m := mb.Got()[0]
	for _, want := range []string{"Subject: [allot] Report: Weekly position", "cfo@contoso.example", "position-2026-12-02.csv", "text/csv"} {
		if !strings.Contains(m.Data, want) && !strings.Contains(strings.Join(m.To, ","), want) {
			t.Errorf("mail lacks %q:\n%.2000s", want, m.Data)
		}
	}
	e.clk.Add(6 * 24 * time.Hour)
	if n := run(); n != 1 {
		t.Fatalf("%d mails before the next slot", n)
	}
	// A second runner (a restart) does not mail the slot again.
	r2 := &reportsched.Runner{Alerts: e.svc, Now: e.clk.Now}
	r2.RunOnce(context.Background(), e.rt)
	e.settle()
	if n := len(mb.Got()); n != 1 {
		t.Fatalf("%d mails after a restart", n)
	}
	e.clk.Add(24 * time.Hour)
	if n := run(); n != 2 {
		t.Fatalf("%d mails after the second slot", n)
	}
}

func TestScheduleChecks(t *testing.T) {
	ok := reportsched.Schedule{ID: "s", Report: "position", Format: "html", Frequency: "monthly", Day: 1, At: "07:00", To: []string{"a@contoso.example"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*reportsched.Schedule){
		func(s *reportsched.Schedule) { s.Report = "x" },
		func(s *reportsched.Schedule) { s.Report = "chargeback" }, // html, and no by
		func(s *reportsched.Schedule) { s.Day = 29 },
		func(s *reportsched.Schedule) { s.Frequency = "weekly" },
		func(s *reportsched.Schedule) { s.At = "24:00" },
		func(s *reportsched.Schedule) { s.TimeZone = "Mars/Olympus" },
		func(s *reportsched.Schedule) { s.TimeZone = "../../etc/passwd" },
		func(s *reportsched.Schedule) { s.To = nil },
		func(s *reportsched.Schedule) { s.To = []string{"Ann <a@contoso.example>"} },
	} {
		s := ok
		bad(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("accepted %+v", s)
		}
	}
	// Slots: monthly on the 1st at 07:00 UTC.
	s := ok
	if got := s.Slot(time.Date(2026, 3, 1, 6, 59, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 2, 1, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("slot %v", got)
	}
}
