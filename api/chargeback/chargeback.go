// Package chargeback is GET /allot/v1/chargeback (JSON) and
// /allot/v1/chargeback.csv: the tenant's monthly license cost per
// department, company, user attribute or allotment (package chargeback),
// for the readers of the license position (auth.ReadLicenseUsage).
package chargeback

import (
	"net/http"

	"allot"
	"allot/api/openapi"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/chargeback"
)

// Register mounts the chargeback API.
func Register(s *server.Server) {
	h := &handler{s}
	params := []openapi.Param{server.TenantParam, {Name: "by", Required: true,
		Description: "What to group the users by: department, companyName, jobTitle, country, city, usageLocation, allotment, or a user attribute such as extensionAttribute1"}}
	errs := []int{http.StatusForbidden}
	s.Route("GET /allot/v1/chargeback", openapi.Op{ID: "getChargeback", Tag: "position",
		Summary:     "Monthly license cost per department, company, user attribute or allotment (JSON)",
		Description: "Priced by the tenant's price list (400 without one); products it does not price are listed in unpricedProducts.",
		Params:      params, Response: chargeback.Report{}, Errors: errs}, h.get(false))
	s.Route("GET /allot/v1/chargeback.csv", openapi.Op{ID: "getChargebackCSV", Tag: "position",
		Summary: "Monthly license cost per department, company, user attribute or allotment (CSV)",
		Params:  params, Response: openapi.Schema{Schema: map[string]any{"type": "string"}}, ResponseType: "text/csv", Errors: errs}, h.get(true))
}

type handler struct{ s *server.Server }

// One report at a time: each walks every user of a snapshot.
var computing = make(chan struct{}, 1)

func (h *handler) get(csv bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, p, err := h.s.Tenant(r)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		if !scope.Require(w, r, p, auth.ReadLicenseUsage, t.ID) {
			return
		}
		q := r.URL.Query()
		for k := range q {
			if k != "by" {
				respond.Error(w, r, allot.Errorf(allot.EINVALID, "Unknown query parameter %q: use by=department, companyName, allotment or a user attribute.", k))
				return
			}
		}
		by := q.Get("by")
		if err := chargeback.CheckBy(by); err != nil {
			respond.Error(w, r, err)
			return
		}
		select {
		case computing <- struct{}{}:
		case <-r.Context().Done():
			respond.Error(w, r, allot.Errorf(allot.EINVALID, "The request was cancelled while it waited for another chargeback report."))
			return
		}
		defer func() { <-computing }()
		// A snapshot, not Tenant.Read: the walk over every user takes long
		// at a million users and would hold commits up.
		snap, err := t.Snapshot(r.Context())
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		rep, err := chargeback.Compute(snap, by)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		if csv {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="chargeback.csv"`)
			_ = chargeback.WriteCSV(w, rep)
			return
		}
		respond.JSON(w, http.StatusOK, rep)
	}
}
