// Package reportsched emails a tenant's license position (HTML or CSV)
// or its chargeback (CSV) on a schedule: report schedules are tenant
// objects (daily, weekly or monthly at a time of day in a time zone, to
// 1 to 50 addresses); the Runner renders each report when its slot comes
// and queues it as an email job in the alert queue (alert.Service.Enqueue:
// durable, retried, through the SMTP server of the alert emails). The job
// id names the schedule and the slot, so a slot is mailed once even across
// restarts; after downtime only the latest missed slot is sent. With
// several processes on one database (allot serve --ha) only the one that
// acts for the tenant (Runner.Acts, its lease holder) renders and queues.
package reportsched

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"allot"
	"allot/alert"
	"allot/chargeback"
	"allot/objcheck"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/store"
	"allot/tenant"
	"allot/usage"
)

// Kind is the store kind of a schedule.
const Kind store.Kind = "reportSchedule"

// MaxSchedules bounds a tenant's schedules.
const MaxSchedules = 100

// Schedule is one report schedule.
type Schedule struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	// Report: "position" or "chargeback"; Format: "html" or "csv"
	// (chargeback: csv); By: the chargeback's grouping (chargeback.CheckBy).
	Report string `json:"report"`
	Format string `json:"format"`
	By     string `json:"by,omitempty"`
	// Frequency: "daily", "weekly" (on Weekday: "monday" … "sunday") or
	// "monthly" (on Day, 1 to 28), at At ("HH:MM") in TimeZone (an IANA
	// name; default UTC).
	Frequency string   `json:"frequency"`
	Weekday   string   `json:"weekday,omitempty"`
	Day       int      `json:"day,omitempty"`
	At        string   `json:"at"`
	TimeZone  string   `json:"timeZone,omitempty"`
	To        []string `json:"to"`
	// CreatedAt: slots before it are never sent.
	CreatedAt time.Time `json:"createdDateTime"`
}

var (
	atPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	weekdays  = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
)

var invalid = objcheck.Invalid

// Validate checks a schedule alone.
func (s *Schedule) Validate() error {
	if err := objcheck.ID(s.ID); err != nil {
		return err
	}
	if err := objcheck.DisplayName(s.DisplayName); err != nil {
		return err
	}
	switch {
	case s.Report == "position" && (s.Format == "html" || s.Format == "csv"):
		if s.By != "" {
			return invalid("by is for chargeback reports.")
		}
	case s.Report == "chargeback" && s.Format == "csv":
		if err := chargeback.CheckBy(s.By); err != nil {
			return err
		}
	case s.Report == "position" || s.Report == "chargeback":
		return invalid("format %q is not available for %s: position is html or csv, chargeback csv.", s.Format, s.Report)
	default:
		return invalid("report %q is not supported: use position or chargeback.", s.Report)
	}
	switch s.Frequency {
	case "daily":
		if s.Weekday != "" || s.Day != 0 {
			return invalid("a daily schedule takes no weekday or day.")
		}
	case "weekly":
		if !slices.Contains(weekdays, s.Weekday) || s.Day != 0 {
			return invalid("a weekly schedule needs weekday (monday to sunday) and no day.")
		}
	case "monthly":
		if s.Day < 1 || s.Day > 28 || s.Weekday != "" {
			return invalid("a monthly schedule needs day (1 to 28) and no weekday.")
		}
	default:
		return invalid("frequency %q is not supported: use daily, weekly or monthly.", s.Frequency)
	}
	if !atPattern.MatchString(s.At) {
		return invalid("at must be a time of day HH:MM (00:00 to 23:59).")
	}
	if _, err := s.location(); err != nil {
		return invalid("timeZone %q is not a known time zone (an IANA name such as Europe/Berlin).", s.TimeZone)
	}
	return objcheck.Addresses(s.To)
}

func (s *Schedule) location() (*time.Location, error) {
	if s.TimeZone == "" {
		return time.UTC, nil
	}
	if len(s.TimeZone) > 64 || strings.ContainsAny(s.TimeZone, `\`) || strings.Contains(s.TimeZone, "..") {
		return nil, errors.New("bad time zone")
	}
	return time.LoadLocation(s.TimeZone)
}

// matches reports whether a date (in the schedule's zone) is one of its days.
func (s *Schedule) matches(d time.Time) bool {
	switch s.Frequency {
	case "weekly":
		return weekdays[d.Weekday()] == s.Weekday
	case "monthly":
		return d.Day() == s.Day
	}
	return true
}

// Slot returns the latest time at or before now the schedule runs at (the
// zero time if none in the last 400 days or the schedule is invalid). A
// time of day that a clock change skips runs at the time Go's time.Date
// normalises it to.
func (s *Schedule) Slot(now time.Time) time.Time {
	return s.scan(now, -1, func(t time.Time) bool { return !t.After(now) })
}

// Next returns the first time after now the schedule runs at (the zero
// time if none in the next 400 days or the schedule is invalid), in UTC;
// pages show it as the next run. A time of day that a clock change skips
// is normalised as in Slot.
func (s *Schedule) Next(now time.Time) time.Time {
	return s.scan(now, 1, func(t time.Time) bool { return t.After(now) })
}

// scan walks the days from now's (in the schedule's zone) step days at a
// time, 400 of them, and returns in UTC the first run time of a matching
// day that ok accepts; the zero time if none or the schedule is invalid.
func (s *Schedule) scan(now time.Time, step int, ok func(time.Time) bool) time.Time {
	loc, err := s.location()
	if err != nil || !atPattern.MatchString(s.At) {
		return time.Time{}
	}
	hh, _ := strconv.Atoi(s.At[:2])
	mm, _ := strconv.Atoi(s.At[3:])
	local := now.In(loc)
	for i := 0; i < 400; i++ {
		d := time.Date(local.Year(), local.Month(), local.Day()+step*i, 0, 0, 0, 0, loc)
		if !s.matches(d) {
			continue
		}
		if t := time.Date(d.Year(), d.Month(), d.Day(), hh, mm, 0, 0, loc); ok(t) {
			return t.UTC()
		}
	}
	return time.Time{}
}

// Schedules returns a tenant's schedules by id.
func Schedules(st *tenant.State) ([]Schedule, error) {
	ids := st.IDs(Kind)
	sort.Strings(ids)
	out := make([]Schedule, 0, len(ids))
	for _, id := range ids {
		var s Schedule
		if _, err := st.Decode(Kind, id, &s); err != nil {
			return nil, fmt.Errorf("report schedule %q: %w", id, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Get returns one schedule.
func Get(st *tenant.State, id string) (Schedule, bool) {
	var s Schedule
	ok, err := st.Decode(Kind, id, &s)
	return s, ok && err == nil
}

// Put stores a schedule (a command); a new one is created at tx.Op.Now,
// a replaced one keeps its creation time.
func Put(tx *tenant.Tx, s Schedule) error {
	if err := s.Validate(); err != nil {
		return err
	}
	old, exists := Get(tx.State, s.ID)
	if exists {
		s.CreatedAt = old.CreatedAt
	} else {
		if len(tx.State.IDs(Kind)) >= MaxSchedules {
			return allot.Errorf(allot.ECONFLICT, "a tenant has at most %d report schedules.", MaxSchedules)
		}
		s.CreatedAt = tx.Op.Now.UTC()
	}
	return tx.Put(Kind, s.ID, s)
}

// Delete deletes a schedule (ENOTFOUND if missing).
func Delete(tx *tenant.Tx, id string) error {
	if _, ok := Get(tx.State, id); !ok {
		return allot.Errorf(allot.ENOTFOUND, "Report schedule %q does not exist.", id)
	}
	tx.Delete(Kind, id)
	return nil
}

const target = "report:"

// Runner mails the reports of a runtime's tenants when their slots come.
type Runner struct {
	Alerts *alert.Service
	Now    func() time.Time // default time.Now
	Log    *slog.Logger
	// Acts, if set, reports whether this process acts for a tenant
	// (lease.Keeper.Acts under allot serve --ha): a tenant's due reports
	// are rendered and queued only where it is true, so several processes
	// on one database mail a slot once, from the lease holder's state. It
	// is asked only for a tenant with a report due and not yet queued by
	// this process, so a process takes no tenant's lease for nothing.
	Acts func(ctx context.Context, tenantID string) bool

	mu   sync.Mutex
	sent map[string]bool // job ids queued by this process
}

// Register makes the alert queue deliver report jobs (to the schedule's
// addresses, read when the job is delivered). Call it before the alert
// service starts.
func (r *Runner) Register() {
	r.Alerts.RegisterTarget(target, func(st *tenant.State, id string) (alert.Endpoint, bool) {
		s, ok := Get(st, strings.TrimPrefix(id, target))
		if !ok {
			return alert.Endpoint{}, false
		}
		return alert.Endpoint{ID: id, Type: alert.Email, To: s.To}, true
	})
}

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now().UTC()
	}
	return r.Now().UTC()
}

// Run checks every loaded tenant's schedules every minute until ctx ends.
func (r *Runner) Run(ctx context.Context, rt *tenant.Runtime, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		r.RunOnce(ctx, rt)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunOnce queues the reports whose latest slot has come and is not sent.
func (r *Runner) RunOnce(ctx context.Context, rt *tenant.Runtime) {
	now := r.now()
	for _, info := range rt.List() {
		t, ok := rt.Get(info.ID)
		if !ok {
			continue
		}
		var due []Schedule
		t.Read(func(st *tenant.State) {
			if len(st.IDs(Kind)) == 0 {
				return
			}
			list, _ := Schedules(st)
			for _, s := range list {
				slot := s.Slot(now)
				if s.Disabled || slot.IsZero() || slot.Before(s.CreatedAt) {
					continue
				}
				r.mu.Lock()
				done := r.sent[jobID(s, slot)]
				r.mu.Unlock()
				if !done {
					due = append(due, s)
				}
			}
		})
		if len(due) > 0 && r.Acts != nil && !r.Acts(ctx, t.ID) {
			continue // the process that acts for the tenant mails them
		}
		for _, s := range due {
			if err := r.send(ctx, t, s, s.Slot(now), now); err != nil && r.Log != nil {
				r.Log.Error("scheduled report failed; tried again at the next check", "tenant", t.ID, "schedule", s.ID, "err", err)
			}
		}
	}
}

func jobID(s Schedule, slot time.Time) string {
	return "report." + s.ID + "." + strconv.FormatInt(slot.Unix(), 10)
}

// Render renders a schedule's report of a tenant state at now: its file
// name, content type and bytes.
func Render(st *tenant.State, s Schedule, tenantName string, now time.Time) (name, contentType string, data []byte, err error) {
	var b bytes.Buffer
	day := now.Format("2006-01-02")
	switch s.Report {
	case "chargeback":
		rep, err := chargeback.Compute(st, s.By)
		if err != nil {
			return "", "", nil, err
		}
		if err := chargeback.WriteCSV(&b, rep); err != nil {
			return "", "", nil, err
		}
		return "chargeback-" + day + ".csv", "text/csv", b.Bytes(), nil
	default:
		pos, err := snapshotstore.Position(st, position.Options{AsOf: usage.DayOf(now), Now: now})
		if err != nil {
			return "", "", nil, err
		}
		if s.Format == "csv" {
			err = position.WriteCSV(&b, pos)
			return "position-" + day + ".csv", "text/csv", b.Bytes(), err
		}
		err = position.WriteHTML(&b, pos, position.HTMLOptions{Tenant: tenantName})
		return "position-" + day + ".html", "text/html", b.Bytes(), err
	}
}

func (r *Runner) send(ctx context.Context, t *tenant.Tenant, s Schedule, slot, now time.Time) error {
	var name, ct string
	var data []byte
	var err error
	t.Read(func(st *tenant.State) { name, ct, data, err = Render(st, s, t.Info().CompanyName, now) })
	if err != nil {
		return err
	}
	title := s.DisplayName
	if title == "" {
		title = s.Report + " (" + s.ID + ")"
	}
	ev := alert.Event{ID: jobID(s, slot), Type: alert.ReportType, TenantID: t.ID, RuleID: s.ID, RuleName: title,
		Summary: "The " + s.Report + " report of " + slot.Format("2006-01-02 15:04 MST") + " is attached (" + name + ").", At: now,
		Attachments: []alert.Attachment{{Name: name, ContentType: ct, Data: data}}}
	body, err := jsonMarshal(ev)
	if err != nil {
		return err
	}
	j := store.AlertJob{TenantID: t.ID, ID: jobID(s, slot), EndpointID: target + s.ID, Payload: body, State: store.JobPending,
		RunAt: now, CreatedAt: now, UpdatedAt: now}
	if err := r.Alerts.Enqueue(ctx, []store.AlertJob{j}); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	r.mu.Lock()
	if r.sent == nil {
		r.sent = map[string]bool{}
	}
	r.sent[j.ID] = true
	r.mu.Unlock()
	return nil
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
