package graph

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot/licensing"
	"allot/reports"
	"allot/tenant"
)

// The reports API: GET /v1.0/reports/{function}(period='D7'|date=YYYY-MM-DD)
// for the usage reports of package reports, and the tenant's report
// settings (GET/PATCH /v1.0/admin/reportSettings, displayConcealedNames).
//
// Graph answers a report request with 302 Found and a short-lived
// download URL; allot serves the CSV itself (200, application/octet-stream,
// UTF-8 with a byte-order mark), which is what a client that follows the
// redirect receives. Names are concealed as reportSettings says.

// parseReportCall reads "name(period='D7')" or "name(date=2026-01-31)".
func parseReportCall(seg string) (name, param, value string, ok bool) {
	name, rest, ok := strings.Cut(seg, "(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return "", "", "", false
	}
	param, value, ok = strings.Cut(strings.TrimSuffix(rest, ")"), "=")
	if !ok {
		return "", "", "", false
	}
	if len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'' {
		value = value[1 : len(value)-1]
	}
	return name, strings.TrimSpace(param), value, true
}

func (h *handler) getReport(w http.ResponseWriter, r *http.Request, c *call) {
	seg := r.PathValue("call")
	name, param, value, ok := parseReportCall(seg)
	var canonical string
	for _, n := range reports.Names {
		if strings.EqualFold(n, name) {
			canonical = n
		}
	}
	if !ok || canonical == "" {
		fail(w, r, badRequest("Resource not found for the segment '%s'.", seg))
		return
	}
	now := h.s.RT.Now().UTC()
	req := reports.Request{Report: canonical, TenantID: c.t.ID, Today: now}
	switch param {
	case "period":
		p, err := reports.ParsePeriod(value)
		if err != nil {
			fail(w, r, err)
			return
		}
		req.Period = p
	case "date":
		d, err := time.Parse(time.DateOnly, value)
		today := now.Truncate(24 * time.Hour)
		if err != nil || d.After(today) || d.Before(today.AddDate(0, 0, -30)) {
			fail(w, r, badRequest("Invalid date '%s': use a date (YYYY-MM-DD) within the last 30 days.", value))
			return
		}
		req.Date = d
	default:
		fail(w, r, badRequest("The function %s takes period='D7|D30|D90|D180' or date=YYYY-MM-DD, not '%s'.", canonical, param))
		return
	}
	var out []byte
	var err error
	c.t.Read(func(s *tenant.State) { out, err = reports.Build(s, req) })
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func (h *handler) getReportSettings(w http.ResponseWriter, r *http.Request, c *call) {
	var v reports.Settings
	var err error
	c.t.Read(func(s *tenant.State) { v, err = reports.SettingsOf(s) })
	if err != nil {
		fail(w, r, err)
		return
	}
	b := appendContext(nil, r, "admin/reportSettings/$entity")
	b = append(b, `,"id":`...)
	b = appendStr(b, c.t.ID)
	b = append(b, `,"displayConcealedNames":`...)
	b = appendBool(b, v.DisplayConcealedNames)
	writeJSON(w, http.StatusOK, append(b, '}'))
}

func (h *handler) updateReportSettings(w http.ResponseWriter, r *http.Request, c *call) {
	body, names, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	v, err := reportSettingsBody(body, names)
	if err != nil {
		fail(w, r, err)
		return
	}
	err = c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		return reports.SetSettings(tx, reports.Settings{DisplayConcealedNames: v})
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// reportSettingsBody reads the body of PATCH /admin/reportSettings: its one
// property, displayConcealedNames.
func reportSettingsBody(body map[string]json.RawMessage, names map[string]string) (bool, error) {
	var v *bool
	for k, raw := range body {
		if k != "displayconcealednames" {
			return false, badRequest("Property '%s' does not exist on type 'microsoft.graph.adminReportSettings'.", names[k])
		}
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return false, badRequest("displayConcealedNames must be true or false.")
		}
		v = &b
	}
	if v == nil {
		return false, badRequest("Send displayConcealedNames (true or false).")
	}
	return *v, nil
}
