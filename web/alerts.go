package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"allot/alert"
	"allot/api/server"
	"allot/auth"
	"allot/store"
	"allot/tenant"
)

// The alerts page (/admin/alerts): the tenant's alerts, rules and
// endpoints with each endpoint's recent deliveries, and the dead-letter
// list; for those who may change them (auth.ManageAlerts, as the
// /allot/v1/alerts API) forms to add or delete rules and endpoints, send
// a test and queue a dead notification again.

func registerAlerts(s *server.Server, h *handler) {
	s.HandlePublic("GET /admin/alerts", h.page(auth.ReadAlerts, h.alertsPage))
	s.HandlePublic("POST /admin/alerts/rules", h.page(auth.ManageAlerts, h.addAlertRule))
	s.HandlePublic("POST /admin/alerts/rules/{id}/delete", h.page(auth.ManageAlerts, h.deleteAlertRule))
	s.HandlePublic("POST /admin/alerts/endpoints", h.page(auth.ManageAlerts, h.addAlertEndpoint))
	s.HandlePublic("POST /admin/alerts/endpoints/{id}/delete", h.page(auth.ManageAlerts, h.deleteAlertEndpoint))
	s.HandlePublic("POST /admin/alerts/endpoints/{id}/test", h.page(auth.ManageAlerts, h.testAlertEndpoint))
	s.HandlePublic("POST /admin/alerts/jobs/{id}/retry", h.page(auth.ManageAlerts, h.retryAlertJob))
}

type alertsData struct {
	CanChange  bool
	Alerts     []store.AlertState
	Rules      []alert.Rule
	Endpoints  []alertEndpointRow
	Dead       []store.AlertJob
	Conditions []alert.Condition
	ErrorCodes []string
	// NewSecret is shown once, after a webhook endpoint was created.
	NewSecret   string
	NewSecretOf string
}

type alertEndpointRow struct {
	alert.Endpoint
	Target     string
	Deliveries []store.AlertAttempt
}

func (h *handler) alertsData(r *http.Request, v *viewer) (alertsData, error) {
	d := alertsData{CanChange: v.can(auth.ManageAlerts), Conditions: alert.Conditions, ErrorCodes: alert.ErrorCodes}
	var eps []alert.Endpoint
	var err error
	v.T.Read(func(s *tenant.State) {
		if d.Rules, err = alert.Rules(s); err == nil {
			eps, err = alert.Endpoints(s)
		}
	})
	if err != nil {
		return d, err
	}
	as, ok := store.AlertsOf(h.s.Store)
	for _, e := range eps {
		row := alertEndpointRow{Endpoint: e, Target: e.URL}
		row.Secret = ""
		if e.Type == alert.Email {
			row.Target = strings.Join(e.To, ", ")
		}
		if ok {
			if row.Deliveries, err = as.AlertAttempts(r.Context(), v.T.ID, e.ID, 5); err != nil {
				return d, err
			}
		}
		d.Endpoints = append(d.Endpoints, row)
	}
	if ok {
		if d.Alerts, err = as.AlertStates(r.Context(), v.T.ID); err != nil {
			return d, err
		}
		if d.Dead, err = as.AlertJobs(r.Context(), v.T.ID, store.JobDead, 50); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (h *handler) alertsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, err := h.alertsData(r, v)
	if err != nil {
		h.failErr(w, r, v, err)
		return
	}
	h.render(w, r, v, http.StatusOK, "alerts", pageData{Title: "Alerts", Nav: "alerts", Data: d})
}

// addAlertRule stores a rule from the form: the condition's parameters
// that the form leaves empty are not set.
func (h *handler) addAlertRule(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := r.PostForm
	rule := alert.Rule{ID: strings.TrimSpace(f.Get("id")), DisplayName: strings.TrimSpace(f.Get("displayName")),
		Condition: alert.Condition(f.Get("condition")), GroupID: strings.TrimSpace(f.Get("groupId")), SKUID: strings.TrimSpace(f.Get("skuId")),
		AllotmentID: strings.TrimSpace(f.Get("allotmentId")), Source: f.Get("source"), Endpoints: f["endpoint"]}
	for _, c := range f["error"] {
		if c != "" {
			rule.Errors = append(rule.Errors, c)
		}
	}
	var bad []string
	num := func(name string, into *float64) {
		if s := strings.TrimSpace(f.Get(name)); s != "" {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				bad = append(bad, name)
			}
			*into = x
		}
	}
	whole := func(name string, into *int) {
		if s := strings.TrimSpace(f.Get(name)); s != "" {
			x, err := strconv.Atoi(s)
			if err != nil {
				bad = append(bad, name)
			}
			*into = x
		}
	}
	num("threshold", &rule.Threshold)
	num("thresholdPercent", &rule.ThresholdPercent)
	whole("hours", &rule.Hours)
	whole("days", &rule.Days)
	whole("quietMinutes", &rule.QuietMinutes)
	whole("repeatMinutes", &rule.RepeatMinutes)
	whole("maxRepeats", &rule.MaxRepeats)
	if len(bad) > 0 {
		h.done(w, r, "/admin/alerts", invalidErr("%s must be a number.", strings.Join(bad, ", ")), "")
		return
	}
	if rule.Endpoints == nil {
		rule.Endpoints = []string{}
	}
	err := rule.Validate()
	if err == nil {
		err = v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
			if ok, _ := tx.State.Decode(alert.KindRule, rule.ID, &alert.Rule{}); ok {
				return conflictErr("Alert rule %q exists: delete it first, or choose another id.", rule.ID)
			}
			return alert.PutRule(tx, rule)
		})
	}
	h.done(w, r, "/admin/alerts", err, "Alert rule "+rule.ID+" added.")
}

func (h *handler) deleteAlertRule(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error { return alert.DeleteRule(tx, id) })
	h.done(w, r, "/admin/alerts", err, "Alert rule "+id+" deleted.")
}

// addAlertEndpoint stores an endpoint from the form; a webhook gets a new
// secret, shown on the page this once.
func (h *handler) addAlertEndpoint(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := r.PostForm
	e := alert.Endpoint{ID: strings.TrimSpace(f.Get("id")), DisplayName: strings.TrimSpace(f.Get("displayName")), Type: f.Get("type"),
		URL: strings.TrimSpace(f.Get("url"))}
	e.To = strings.FieldsFunc(f.Get("to"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' })
	if e.Type == alert.Email {
		e.URL = ""
	} else {
		e.To = nil
	}
	if e.Type == alert.Webhook {
		var b [32]byte
		_, _ = rand.Read(b[:])
		e.Secret = "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
	}
	err := e.Validate()
	if err == nil {
		err = v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
			if _, ok := alert.EndpointOf(tx.State, e.ID); ok {
				return conflictErr("Alert endpoint %q exists: delete it first, or choose another id.", e.ID)
			}
			return alert.PutEndpoint(tx, e)
		})
	}
	if err != nil || e.Secret == "" {
		h.done(w, r, "/admin/alerts", err, "Alert endpoint "+e.ID+" added.")
		return
	}
	d, derr := h.alertsData(r, v)
	if derr != nil {
		h.failErr(w, r, v, derr)
		return
	}
	d.NewSecret, d.NewSecretOf = e.Secret, e.ID
	h.render(w, r, v, http.StatusOK, "alerts", pageData{Title: "Alerts", Nav: "alerts", Data: d,
		Flash: &flash{OK: true, Text: "Alert endpoint " + e.ID + " added. Copy its signing secret now: it is not shown again."}})
}

func (h *handler) deleteAlertEndpoint(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error { return alert.DeleteEndpoint(tx, id) })
	h.done(w, r, "/admin/alerts", err, "Alert endpoint "+id+" deleted.")
}

func (h *handler) testAlertEndpoint(w http.ResponseWriter, r *http.Request, v *viewer) {
	if h.s.Alerts == nil {
		h.fail(w, r, v, http.StatusServiceUnavailable, "Alerts are not running in this server.")
		return
	}
	_, err := h.s.Alerts.Test(r.Context(), v.T, r.PathValue("id"))
	h.done(w, r, "/admin/alerts", err, "A test notification is queued; its delivery shows below in a moment.")
}

func (h *handler) retryAlertJob(w http.ResponseWriter, r *http.Request, v *viewer) {
	if h.s.Alerts == nil {
		h.fail(w, r, v, http.StatusServiceUnavailable, "Alerts are not running in this server.")
		return
	}
	err := h.s.Alerts.Retry(r.Context(), v.T.ID, r.PathValue("id"))
	h.done(w, r, "/admin/alerts", err, "The notification is queued again.")
}

// CanAlerts: the navigation shows the alerts page.
func (v *viewer) CanAlerts() bool { return v.can(auth.ReadAlerts) }
