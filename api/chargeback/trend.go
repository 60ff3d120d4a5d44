package chargeback

import (
	"net/http"
	"strings"

	"allot"
	"allot/api/respond"
	"allot/api/scope"
	"allot/audit"
	"allot/auth"
	"allot/chargeback"
	"allot/licensing"
	"allot/position/snapshotstore"
	"allot/tenant"
)

// trend: GET /allot/v1/chargeback/trend?by= — the cost per group at each
// position snapshot that kept the grouping (chargeback.Trend).
func (h *handler) trend(w http.ResponseWriter, r *http.Request) {
	t, _, ok := scope.Tenant(h.s, w, r, auth.ReadLicenseUsage)
	if !ok {
		return
	}
	by, err := byParam(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	rep, err := snapshotstore.ChargebackTrend(t, by)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, rep)
}

// byParam reads the only query parameter, by.
func byParam(r *http.Request) (string, error) {
	q := r.URL.Query()
	for k := range q {
		if k != "by" {
			return "", allot.Errorf(allot.EINVALID, "Unknown query parameter %q: use by=department, companyName, allotment or a user attribute.", k)
		}
	}
	by := q.Get("by")
	return by, chargeback.CheckBy(by)
}

// getSettings: GET /allot/v1/chargeback/settings.
func (h *handler) getSettings(w http.ResponseWriter, r *http.Request) {
	t, _, ok := scope.Tenant(h.s, w, r, auth.ReadLicenseUsage)
	if !ok {
		return
	}
	var st chargeback.Settings
	var err error
	t.Read(func(s *tenant.State) { st, err = chargeback.SettingsOf(s) })
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, st)
}

// putSettings: PUT /allot/v1/chargeback/settings {"trendBy": [...]} — for
// those who manage licensing, as the price list.
func (h *handler) putSettings(w http.ResponseWriter, r *http.Request) {
	t, p, ok := scope.Tenant(h.s, w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	var st chargeback.Settings
	if err := respond.Decode(r, &st, 64<<10, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	if err := chargeback.CheckSettings(st); err != nil {
		respond.Error(w, r, err)
		return
	}
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor(), Now: h.s.RT.Now()}, func(tx *tenant.Tx) error {
		tx.Audit(audit.Entry{Action: "Set chargeback settings", Detail: "trend by " + strings.Join(st.TrendBy, ", ")})
		return chargeback.PutSettings(tx, st)
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	t.Read(func(s *tenant.State) { st, err = chargeback.SettingsOf(s) })
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, st)
}
