// Package alerts is the alerts API under /allot/v1/alerts: a tenant's
// alert rules and endpoints (package alert), its alerts, each endpoint's
// delivery log and test, and the dead-letter list. Reading needs
// auth.ReadAlerts, changing auth.ManageAlerts. Endpoint secrets are shown
// once, in the answer that created them (or set a new one).
package alerts

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"allot"
	"allot/alert"
	"allot/api/openapi"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/licensing"
	"allot/reportsched"
	"allot/store"
	"allot/tenant"
)

// MaxBody bounds a rule's or an endpoint's JSON body.
const MaxBody = 64 << 10

// Register mounts the alerts API.
func Register(s *server.Server) {
	h := &handler{s}
	tp := []openapi.Param{server.TenantParam}
	top := openapi.Param{Name: "$top", Type: "integer", Default: 100, Description: "At most this many, newest first (1 to 1000)"}
	nf := []int{http.StatusForbidden, http.StatusNotFound}
	const ruleExample = `{"displayName":"Seat shortage errors","condition":"licenseErrors","errors":["CountViolation"],"threshold":5,"endpoints":["ops-webhook"],"quietMinutes":30}`
	// Endpoints first: a rule names the endpoints it sends to.
	const endpointExample = `{"displayName":"Operations webhook","type":"webhook","url":"https://ops.contoso.example/hooks/allot"}`
	s.Route("GET /allot/v1/alerts/endpoints", openapi.Op{ID: "listAlertEndpoints", Tag: "alerts", Summary: "List the tenant's alert endpoints (secrets not shown)",
		Params: tp, Response: valueList[EndpointView]{}, Errors: []int{http.StatusForbidden}}, endpoints.listHandler(h))
	s.Route("POST /allot/v1/alerts/endpoints", openapi.Op{ID: "createAlertEndpoint", Tag: "alerts",
		Summary:     "Create an alert endpoint (a webhook's secret is shown once, in this answer)",
		Description: "A webhook created without a secret gets a generated one (`whsec_…`), which only this answer shows. 409 if the id exists.",
		Params:      tp, Body: alert.Endpoint{}, Example: `{"id":"ops-webhook",` + endpointExample[1:],
		Status: http.StatusCreated, Response: EndpointView{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, endpoints.writeHandler(h, false))
	s.Route("GET /allot/v1/alerts/endpoints/{id}", openapi.Op{ID: "getAlertEndpoint", Tag: "alerts", Summary: "Get an alert endpoint (its secret not shown)",
		Params: tp, Response: EndpointView{}, Errors: nf}, endpoints.getHandler(h))
	s.Route("PUT /allot/v1/alerts/endpoints/{id}", openapi.Op{ID: "putAlertEndpoint", Tag: "alerts", Summary: "Create or replace an alert endpoint (201 when created)",
		Description: "The body's id may be left out; when given it must be the path's. A replaced webhook keeps its secret unless the body sets one; a secret set or generated is shown in this answer only.",
		Params:      tp, Body: alert.Endpoint{}, Example: endpointExample, Response: EndpointView{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, endpoints.writeHandler(h, true))
	s.Route("DELETE /allot/v1/alerts/endpoints/{id}", openapi.Op{ID: "deleteAlertEndpoint", Tag: "alerts", Summary: "Delete an alert endpoint",
		Params: tp, Status: http.StatusNoContent, Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict}}, endpoints.deleteHandler(h))
	s.Route("GET /allot/v1/alerts/rules", openapi.Op{ID: "listAlertRules", Tag: "alerts", Summary: "List the tenant's alert rules",
		Params: tp, Response: valueList[alert.Rule]{}, Errors: []int{http.StatusForbidden}}, rules.listHandler(h))
	s.Route("POST /allot/v1/alerts/rules", openapi.Op{ID: "createAlertRule", Tag: "alerts", Summary: "Create an alert rule (409 if its id exists)",
		Description: "The rule's groupId, allotmentId and endpoints must exist and its skuId have units (400 otherwise); a tenant has at most 500 rules (409).",
		Params:      tp, Body: alert.Rule{}, Example: `{"id":"seat-shortage",` + ruleExample[1:],
		Status: http.StatusCreated, Response: alert.Rule{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, rules.writeHandler(h, false))
	s.Route("GET /allot/v1/alerts/rules/{id}", openapi.Op{ID: "getAlertRule", Tag: "alerts", Summary: "Get an alert rule",
		Params: tp, Response: alert.Rule{}, Errors: nf}, rules.getHandler(h))
	s.Route("PUT /allot/v1/alerts/rules/{id}", openapi.Op{ID: "putAlertRule", Tag: "alerts", Summary: "Create or replace an alert rule (201 when created)",
		Description: "The body's id may be left out; when given it must be the path's.",
		Params:      tp, Body: alert.Rule{}, Example: ruleExample, Response: alert.Rule{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, rules.writeHandler(h, true))
	s.Route("DELETE /allot/v1/alerts/rules/{id}", openapi.Op{ID: "deleteAlertRule", Tag: "alerts", Summary: "Delete an alert rule",
		Params: tp, Status: http.StatusNoContent, Errors: nf}, rules.deleteHandler(h))
	// Scheduled reports (package reportsched): mailed through the same
	// queue and SMTP server.
	const schedExample = `{"displayName":"Weekly position","report":"position","format":"html","frequency":"weekly","weekday":"monday","at":"07:30","timeZone":"Europe/Berlin","to":["cfo@contoso.example"]}`
	s.Route("GET /allot/v1/reports/schedules", openapi.Op{ID: "listReportSchedules", Tag: "alerts", Summary: "List the tenant's report schedules",
		Params: tp, Response: valueList[reportsched.Schedule]{}, Errors: []int{http.StatusForbidden}}, schedules.listHandler(h))
	s.Route("POST /allot/v1/reports/schedules", openapi.Op{ID: "createReportSchedule", Tag: "alerts", Summary: "Create a report schedule (409 if its id exists)",
		Description: "The position (html or csv) or the chargeback (csv, grouped by `by`) is emailed daily, weekly (weekday) or monthly (day 1 to 28) at `at` in `timeZone` to `to`, through the alert emails' SMTP server.",
		Params:      tp, Body: reportsched.Schedule{}, Example: `{"id":"weekly-position",` + schedExample[1:],
		Status: http.StatusCreated, Response: reportsched.Schedule{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, schedules.writeHandler(h, false))
	s.Route("GET /allot/v1/reports/schedules/{id}", openapi.Op{ID: "getReportSchedule", Tag: "alerts", Summary: "Get a report schedule",
		Params: tp, Response: reportsched.Schedule{}, Errors: nf}, schedules.getHandler(h))
	s.Route("PUT /allot/v1/reports/schedules/{id}", openapi.Op{ID: "putReportSchedule", Tag: "alerts", Summary: "Create or replace a report schedule (201 when created)",
		Params: tp, Body: reportsched.Schedule{}, Example: schedExample, Response: reportsched.Schedule{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, schedules.writeHandler(h, true))
	s.Route("DELETE /allot/v1/reports/schedules/{id}", openapi.Op{ID: "deleteReportSchedule", Tag: "alerts", Summary: "Delete a report schedule",
		Params: tp, Status: http.StatusNoContent, Errors: nf}, schedules.deleteHandler(h))
	s.Route("POST /allot/v1/alerts/endpoints/{id}/test", openapi.Op{ID: "testAlertEndpoint", Tag: "alerts", Summary: "Queue a test notification to an endpoint",
		Params: tp, Status: http.StatusAccepted, Response: JobView{}, Errors: nf}, h.testEndpoint)
	s.Route("GET /allot/v1/alerts/endpoints/{id}/deliveries", openapi.Op{ID: "listAlertDeliveries", Tag: "alerts", Summary: "An endpoint's delivery attempts (newest first)",
		Params: []openapi.Param{server.TenantParam, top}, Response: valueList[AttemptView]{}, Errors: nf}, h.deliveries)
	s.Route("GET /allot/v1/alerts", openapi.Op{ID: "listAlerts", Tag: "alerts", Summary: "The tenant's alerts, open and resolved",
		Params: tp, Response: valueList[AlertView]{}, Errors: []int{http.StatusForbidden}}, h.listAlerts)
	s.Route("GET /allot/v1/alerts/jobs", openapi.Op{ID: "listAlertJobs", Tag: "alerts", Summary: "The notification queue (state=dead: the dead-letter list)",
		Params: []openapi.Param{server.TenantParam, top,
			{Name: "state", Enum: []string{store.JobPending, store.JobDone, store.JobDead}, Description: "Only the jobs in this state"}},
		Response: valueList[JobView]{}, Errors: []int{http.StatusForbidden}}, h.listJobs)
	s.Route("POST /allot/v1/alerts/jobs/{id}/retry", openapi.Op{ID: "retryAlertJob", Tag: "alerts", Summary: "Deliver a queued or dead notification again now",
		Params: tp, Status: http.StatusAccepted, Errors: nf}, h.retryJob)
}

// valueList is a list answer: {"value": [...]}.
type valueList[T any] struct {
	Value []T `json:"value"`
}

type handler struct{ s *server.Server }

func (h *handler) tenant(w http.ResponseWriter, r *http.Request, a auth.Action) (*tenant.Tenant, *auth.Principal, bool) {
	return scope.Tenant(h.s, w, r, a)
}

// stored is the tenant a reader of alerts names and the alert store.
func (h *handler) stored(w http.ResponseWriter, r *http.Request) (*tenant.Tenant, store.AlertStore, bool) {
	t, _, ok := h.tenant(w, r, auth.ReadAlerts)
	if !ok {
		return nil, nil, false
	}
	as, ok := h.alertStore(w, r)
	return t, as, ok
}

func (h *handler) alertStore(w http.ResponseWriter, r *http.Request) (store.AlertStore, bool) {
	as, ok := store.AlertsOf(h.s.Store)
	if !ok {
		respond.Error(w, r, allot.Errorf(allot.EUNAVAILABLE, "This store keeps no alerts."))
	}
	return as, ok
}

// objects is what the handlers of one kind of alert object (rules,
// endpoints) need: reading, decoding, writing and showing it. Both kinds
// share list, get, create (POST: a new id), replace (PUT) and delete.
type objects[T any] struct {
	name   string // "Alert rule"
	path   string // its collection's path, for the 409 message
	list   func(*tenant.State) ([]T, error)
	get    func(*tenant.State, string) (T, bool)
	decode func(r *http.Request, pathID string) (T, error)
	id     func(T) string
	del    func(*tenant.Tx, string) error
	// put writes v (a command); old is the stored object if exists. It
	// returns what the answer shows.
	put func(tx *tenant.Tx, v T, old T, exists bool) (any, error)
	// view is what list and get show of an object.
	view func(T) any
}

func (o *objects[T]) listHandler(h *handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, _, ok := h.tenant(w, r, auth.ReadAlerts)
		if !ok {
			return
		}
		var vs []T
		var err error
		t.Read(func(s *tenant.State) { vs, err = o.list(s) })
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = o.view(v)
		}
		respond.JSON(w, http.StatusOK, valueList[any]{out})
	}
}

func (o *objects[T]) getHandler(h *handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, _, ok := h.tenant(w, r, auth.ReadAlerts)
		if !ok {
			return
		}
		var v T
		var found bool
		t.Read(func(s *tenant.State) { v, found = o.get(s, r.PathValue("id")) })
		if !found {
			respond.Error(w, r, allot.Errorf(allot.ENOTFOUND, "%s %q does not exist.", o.name, r.PathValue("id")))
			return
		}
		respond.JSON(w, http.StatusOK, o.view(v))
	}
}

// writeHandler creates (put false: POST, the id must be new) or replaces
// (put true: PUT, the path's id) an object.
func (o *objects[T]) writeHandler(h *handler, put bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, p, ok := h.tenant(w, r, auth.ManageAlerts)
		if !ok {
			return
		}
		id := ""
		if put {
			id = r.PathValue("id")
		}
		v, err := o.decode(r, id)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		status := http.StatusOK
		var answer any
		err = t.Do(r.Context(), h.op(p), func(tx *tenant.Tx) error {
			old, exists := o.get(tx.State, o.id(v))
			if !put && exists {
				return allot.Errorf(allot.ECONFLICT, "%s %q exists: PUT %s%s replaces it.", o.name, o.id(v), o.path, o.id(v))
			}
			if !exists {
				status = http.StatusCreated
			}
			var err error
			answer, err = o.put(tx, v, old, exists)
			return err
		})
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		respond.JSON(w, status, answer)
	}
}

func (o *objects[T]) deleteHandler(h *handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, p, ok := h.tenant(w, r, auth.ManageAlerts)
		if !ok {
			return
		}
		if err := t.Do(r.Context(), h.op(p), func(tx *tenant.Tx) error { return o.del(tx, r.PathValue("id")) }); err != nil {
			respond.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// rules are the alert rules' handlers.
var rules = &objects[alert.Rule]{
	name: "Alert rule", path: "/allot/v1/alerts/rules/",
	list: alert.Rules,
	get: func(s *tenant.State, id string) (alert.Rule, bool) {
		var r alert.Rule
		ok, err := s.Decode(alert.KindRule, id, &r)
		return r, ok && err == nil
	},
	decode: DecodeRule,
	id:     func(r alert.Rule) string { return r.ID },
	del:    alert.DeleteRule,
	put: func(tx *tenant.Tx, r alert.Rule, _ alert.Rule, _ bool) (any, error) {
		return r, alert.PutRule(tx, r)
	},
	view: func(r alert.Rule) any { return r },
}

// schedules are the report schedules' handlers.
var schedules = &objects[reportsched.Schedule]{
	name: "Report schedule", path: "/allot/v1/reports/schedules/",
	list: reportsched.Schedules,
	get:  reportsched.Get,
	decode: func(r *http.Request, id string) (reportsched.Schedule, error) {
		var s reportsched.Schedule
		if err := respond.Decode(r, &s, MaxBody, true); err != nil {
			return s, err
		}
		if err := pathID(&s.ID, id); err != nil {
			return s, err
		}
		s.CreatedAt = time.Time{} // set by Put
		return s, s.Validate()
	},
	id:  func(s reportsched.Schedule) string { return s.ID },
	del: reportsched.Delete,
	put: func(tx *tenant.Tx, s reportsched.Schedule, _ reportsched.Schedule, _ bool) (any, error) {
		if err := reportsched.Put(tx, s); err != nil {
			return nil, err
		}
		s, _ = reportsched.Get(tx.State, s.ID)
		return s, nil
	},
	view: func(s reportsched.Schedule) any { return s },
}

// endpoints are the alert endpoints' handlers. A new webhook without a
// secret gets a generated one; a replaced one keeps its secret unless the
// body sets one; a secret set or generated is shown in that answer only.
var endpoints = &objects[alert.Endpoint]{
	name: "Alert endpoint", path: "/allot/v1/alerts/endpoints/",
	list:   alert.Endpoints,
	get:    alert.EndpointOf,
	decode: DecodeEndpoint,
	id:     func(e alert.Endpoint) string { return e.ID },
	del:    alert.DeleteEndpoint,
	put: func(tx *tenant.Tx, e alert.Endpoint, old alert.Endpoint, exists bool) (any, error) {
		showSecret := e.Secret != ""
		if e.Type == alert.Webhook && e.Secret == "" && (!exists || old.Secret == "") {
			e.Secret = newSecret()
			showSecret = true
		}
		return viewOf(e, showSecret), alert.PutEndpoint(tx, e)
	},
	view: func(e alert.Endpoint) any { return viewOf(e, false) },
}

// DecodeRule reads a rule's body and checks it alone: EINVALID for
// anything wrong. id is the path's id ("" for POST): the body's id may be
// left out, and must not differ.
func DecodeRule(r *http.Request, id string) (alert.Rule, error) {
	var rule alert.Rule
	if err := respond.Decode(r, &rule, MaxBody, true); err != nil {
		return alert.Rule{}, err
	}
	if rule.Endpoints == nil {
		rule.Endpoints = []string{}
	}
	if err := pathID(&rule.ID, id); err != nil {
		return alert.Rule{}, err
	}
	return rule, rule.Validate()
}

func pathID(body *string, path string) error {
	if path == "" || *body == path {
		return nil
	}
	if *body != "" {
		return allot.Errorf(allot.EINVALID, "The body's id %q is not the path's %q.", *body, path)
	}
	*body = path
	return nil
}

// op is a command of p at the runtime's clock (a test's fake clock too).
func (h *handler) op(p *auth.Principal) licensing.Op {
	return licensing.Op{Actor: p.Actor(), Now: h.s.RT.Now()}
}

// EndpointView is an endpoint as answers show it: the secret only when it
// was just set.
type EndpointView struct {
	alert.Endpoint
	HasSecret bool `json:"hasSecret"`
}

func viewOf(e alert.Endpoint, showSecret bool) EndpointView {
	v := EndpointView{Endpoint: e, HasSecret: e.Secret != ""}
	if !showSecret {
		v.Secret = ""
	}
	return v
}

// DecodeEndpoint reads an endpoint's body and checks it alone (id as
// DecodeRule's).
func DecodeEndpoint(r *http.Request, id string) (alert.Endpoint, error) {
	var e alert.Endpoint
	if err := respond.Decode(r, &e, MaxBody, true); err != nil {
		return alert.Endpoint{}, err
	}
	if err := pathID(&e.ID, id); err != nil {
		return alert.Endpoint{}, err
	}
	return e, e.Validate()
}

// newSecret is a webhook secret: 32 random bytes, base64url.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
}

func (h *handler) service(w http.ResponseWriter, r *http.Request) (*alert.Service, bool) {
	if h.s.Alerts == nil {
		respond.Error(w, r, allot.Errorf(allot.EUNAVAILABLE, "Alerts are not running in this server."))
		return nil, false
	}
	return h.s.Alerts, true
}

// JobView is a queued notification as answers show it.
type JobView struct {
	ID         string          `json:"id"`
	EndpointID string          `json:"endpointId"`
	State      string          `json:"state"`
	Attempts   int             `json:"attempts"`
	NextTry    *time.Time      `json:"nextAttemptDateTime,omitempty"`
	Created    time.Time       `json:"createdDateTime"`
	LastError  string          `json:"lastError,omitempty"`
	Event      json.RawMessage `json:"event"`
}

func jobView(j store.AlertJob) JobView {
	v := JobView{ID: j.ID, EndpointID: j.EndpointID, State: j.State, Attempts: j.Attempts, Created: j.CreatedAt, LastError: j.LastError, Event: j.Payload}
	if j.State == store.JobPending {
		at := j.RunAt
		v.NextTry = &at
	}
	return v
}

func (h *handler) testEndpoint(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenant(w, r, auth.ManageAlerts)
	if !ok {
		return
	}
	svc, ok := h.service(w, r)
	if !ok {
		return
	}
	j, err := svc.Test(r.Context(), t, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, jobView(j))
}

// limitParam reads $top (default 100, at most 1000).
func limitParam(r *http.Request) (int, error) {
	q := r.URL.Query()
	for k := range q {
		if k != "$top" && k != "state" {
			return 0, allot.Errorf(allot.EINVALID, "Query parameter %q is not supported.", k)
		}
	}
	v := q.Get("$top")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, allot.Errorf(allot.EINVALID, "$top must be a number from 1 to 1000.")
	}
	return n, nil
}

// AttemptView is one delivery attempt.
type AttemptView struct {
	JobID   string    `json:"jobId"`
	At      time.Time `json:"dateTime"`
	Attempt int       `json:"attempt"`
	OK      bool      `json:"succeeded"`
	Status  int       `json:"httpStatus,omitempty"`
	Error   string    `json:"error,omitempty"`
	Millis  int64     `json:"durationMs"`
}

func (h *handler) deliveries(w http.ResponseWriter, r *http.Request) {
	t, as, ok := h.stored(w, r)
	if !ok {
		return
	}
	n, err := limitParam(r)
	if err == nil && r.URL.Query().Has("state") {
		err = allot.Errorf(allot.EINVALID, "Query parameter \"state\" is not supported here.")
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var found bool
	t.Read(func(s *tenant.State) { _, found = alert.EndpointOf(s, r.PathValue("id")) })
	if !found {
		respond.Error(w, r, allot.Errorf(allot.ENOTFOUND, "Alert endpoint %q does not exist.", r.PathValue("id")))
		return
	}
	list, err := as.AlertAttempts(r.Context(), t.ID, r.PathValue("id"), n)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := make([]AttemptView, len(list))
	for i, a := range list {
		out[i] = AttemptView{JobID: a.JobID, At: a.At, Attempt: a.Attempt, OK: a.OK, Status: a.Status, Error: a.Error, Millis: a.Millis}
	}
	respond.JSON(w, http.StatusOK, valueList[AttemptView]{out})
}

// AlertView is one alert.
type AlertView struct {
	RuleID     string     `json:"ruleId"`
	Subject    string     `json:"subject"`
	Status     string     `json:"status"` // open | resolved
	Summary    string     `json:"summary"`
	OpenedAt   time.Time  `json:"openedDateTime"`
	ResolvedAt *time.Time `json:"resolvedDateTime,omitempty"`
	Notices    int        `json:"notifications"`
}

func (h *handler) listAlerts(w http.ResponseWriter, r *http.Request) {
	t, as, ok := h.stored(w, r)
	if !ok {
		return
	}
	if len(r.URL.Query()) > 0 {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "This resource takes no query parameters."))
		return
	}
	list, err := as.AlertStates(r.Context(), t.ID)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := make([]AlertView, 0, len(list))
	for _, a := range list {
		v := AlertView{RuleID: a.RuleID, Subject: a.Subject, Status: "open", Summary: a.Summary, OpenedAt: a.OpenedAt, Notices: a.Notices}
		if !a.Open {
			v.Status = "resolved"
			at := a.ResolvedAt
			v.ResolvedAt = &at
		}
		out = append(out, v)
	}
	respond.JSON(w, http.StatusOK, valueList[AlertView]{out})
}

func (h *handler) listJobs(w http.ResponseWriter, r *http.Request) {
	t, as, ok := h.stored(w, r)
	if !ok {
		return
	}
	n, err := limitParam(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	state := r.URL.Query().Get("state")
	if state != "" && state != store.JobPending && state != store.JobDone && state != store.JobDead {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "state must be pending, done or dead."))
		return
	}
	list, err := as.AlertJobs(r.Context(), t.ID, state, n)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := make([]JobView, len(list))
	for i, j := range list {
		out[i] = jobView(j)
	}
	respond.JSON(w, http.StatusOK, valueList[JobView]{out})
}

func (h *handler) retryJob(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenant(w, r, auth.ManageAlerts)
	if !ok {
		return
	}
	svc, ok := h.service(w, r)
	if !ok {
		return
	}
	if err := svc.Retry(r.Context(), t.ID, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
