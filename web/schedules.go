package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/api/respond"
	"allot/api/server"
	"allot/auth"
	"allot/reportsched"
	"allot/tenant"
)

// The scheduled reports page (/admin/schedules): the tenant's report
// schedules with each one's next run (shown in the viewer's zone like
// every time of the admin center) and, for those who may change them
// (auth.ManageAlerts, as /allot/v1/reports/schedules), a form to add one
// and a button to delete each. The form's schedule goes through
// reportsched's Validate and Put, the API's rules.

func registerSchedules(s *server.Server, h *handler) {
	s.HandlePublic("GET /admin/schedules", h.page(auth.ReadAlerts, h.schedulesPage))
	s.HandlePublic("POST /admin/schedules", h.page(auth.ManageAlerts, h.createSchedule))
	s.HandlePublic("POST /admin/schedules/{id}/delete", h.page(auth.ManageAlerts, h.deleteSchedule))
}

type schedulesData struct {
	CanChange bool
	Schedules []scheduleRow
	Form      formValues
	Err       string
	Weekdays  []string
	Zones     []string
}

type scheduleRow struct {
	reportsched.Schedule
	// When says when it runs in its own zone ("Mondays at 07:30,
	// Europe/Berlin"); Next is its next run.
	When string
	Next time.Time
}

// reportChoices are the form's reports: report/format.
var reportChoices = map[string][2]string{
	"position-html":  {"position", "html"},
	"position-csv":   {"position", "csv"},
	"chargeback-csv": {"chargeback", "csv"},
}

// commonZones are suggestions of the form's time zone (any IANA name is
// accepted).
var commonZones = []string{"UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago",
	"America/Los_Angeles", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney"}

func (h *handler) schedulesData(v *viewer, form url.Values) (schedulesData, error) {
	d := schedulesData{CanChange: v.can(auth.ManageAlerts), Weekdays: []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"},
		Zones: commonZones, Form: formValues{Values: form, defaults: map[string][]string{"report": {"position-html"}, "frequency": {"weekly"}}}}
	var list []reportsched.Schedule
	var err error
	v.T.Read(func(s *tenant.State) { list, err = reportsched.Schedules(s) })
	now := h.now()
	for _, s := range list {
		d.Schedules = append(d.Schedules, scheduleRow{Schedule: s, When: scheduleWhen(s), Next: s.Next(now)})
	}
	return d, err
}

// scheduleWhen says when a schedule runs, in its zone.
func scheduleWhen(s reportsched.Schedule) string {
	zone := s.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	var on string
	switch s.Frequency {
	case "daily":
		on = "Daily"
	case "weekly":
		on = "Every " + strings.ToUpper(s.Weekday[:1]) + s.Weekday[1:]
	default:
		on = "Monthly on day " + strconv.Itoa(s.Day)
	}
	return on + " at " + s.At + " (" + zone + ")"
}

func (h *handler) schedulesPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, err := h.schedulesData(v, nil)
	if err != nil {
		h.failErr(w, r, v, err)
		return
	}
	h.render(w, r, v, http.StatusOK, "schedules", pageData{Title: "Scheduled reports", Nav: "schedules", Data: d})
}

// scheduleOf reads a schedule from the form; the fields of other
// frequencies and reports than the chosen ones are ignored.
func scheduleOf(f url.Values) (reportsched.Schedule, error) {
	s := reportsched.Schedule{ID: strings.TrimSpace(f.Get("id")), DisplayName: strings.TrimSpace(f.Get("displayName")),
		Frequency: f.Get("frequency"), At: strings.TrimSpace(f.Get("at")), TimeZone: strings.TrimSpace(f.Get("timeZone"))}
	rep, ok := reportChoices[f.Get("report")]
	if !ok {
		return s, invalidErr("Choose a report: the position (HTML or CSV) or the chargeback (CSV).")
	}
	s.Report, s.Format = rep[0], rep[1]
	if s.Report == "chargeback" {
		s.By = strings.TrimSpace(f.Get("by"))
	}
	switch s.Frequency {
	case "weekly":
		s.Weekday = f.Get("weekday")
	case "monthly":
		d, err := strconv.Atoi(strings.TrimSpace(f.Get("day")))
		if err != nil {
			return s, invalidErr("The day of the month must be a number from 1 to 28.")
		}
		s.Day = d
	}
	if s.TimeZone == "UTC" {
		s.TimeZone = ""
	}
	s.To = strings.FieldsFunc(f.Get("to"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' })
	return s, s.Validate()
}

// createSchedule adds a schedule from the form (409 if its id exists, as
// POST /allot/v1/reports/schedules); a refused form comes back with its
// values and the reason, with the refusal's status.
func (h *handler) createSchedule(w http.ResponseWriter, r *http.Request, v *viewer) {
	s, err := scheduleOf(r.PostForm)
	if err == nil {
		err = v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
			if _, exists := reportsched.Get(tx.State, s.ID); exists {
				return conflictErr("Report schedule %q exists: delete it first, or choose another id.", s.ID)
			}
			return reportsched.Put(tx, s)
		})
	}
	if err == nil {
		h.done(w, r, "/admin/schedules", nil, "Report schedule "+s.ID+" added.")
		return
	}
	status := respond.StatusOf(err)
	if status >= 500 {
		h.failErr(w, r, v, err)
		return
	}
	d, derr := h.schedulesData(v, r.PostForm)
	if derr != nil {
		h.failErr(w, r, v, derr)
		return
	}
	d.Err = allot.ErrorMessage(err)
	h.render(w, r, v, status, "schedules", pageData{Title: "Scheduled reports", Nav: "schedules", Data: d})
}

func (h *handler) deleteSchedule(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error { return reportsched.Delete(tx, id) })
	h.done(w, r, "/admin/schedules", err, "Report schedule "+id+" deleted.")
}

// CanSchedules: the navigation shows the scheduled reports page.
func (v *viewer) CanSchedules() bool { return v.can(auth.ReadAlerts) }
