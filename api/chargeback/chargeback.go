// Package chargeback is GET /allot/v1/chargeback (JSON) and
// /allot/v1/chargeback.csv: the tenant's monthly license cost per
// department, company, user attribute or allotment (package chargeback),
// for the readers of the license position (auth.ReadLicenseUsage).
package chargeback

import (
	"net/http"

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
	// Browsable: the admin center's chargeback page links to it.
	s.RouteBrowsable("GET /allot/v1/chargeback.csv", openapi.Op{ID: "getChargebackCSV", Tag: "position",
		Summary: "Monthly license cost per department, company, user attribute or allotment (CSV)",
		Params:  params, Response: openapi.Schema{Schema: map[string]any{"type": "string"}}, ResponseType: "text/csv", Errors: errs}, h.get(true))
	s.Route("GET /allot/v1/chargeback/trend", openapi.Op{ID: "getChargebackTrend", Tag: "position",
		Summary: "Monthly license cost per group over the position snapshots",
		Description: "One point per snapshot that kept the grouping (the trend groupings of GET /allot/v1/chargeback/settings, taken with a price list); " +
			"each group's seats and cost at each point. 400 when no snapshot kept the grouping and the settings do not list it.",
		Params: params, Response: chargeback.TrendReport{}, Errors: errs}, h.trend)
	s.Route("GET /allot/v1/chargeback/settings", openapi.Op{ID: "getChargebackSettings", Tag: "position",
		Summary: "The groupings whose cost per group each position snapshot keeps, for the trend",
		Params:  []openapi.Param{server.TenantParam}, Response: chargeback.Settings{}, Errors: errs}, h.getSettings)
	s.Route("PUT /allot/v1/chargeback/settings", openapi.Op{ID: "putChargebackSettings", Tag: "position",
		Summary:     "Set the groupings whose cost per group each position snapshot keeps",
		Description: "trendBy: 0 to 5 groupings (department, companyName, allotment, a user attribute such as extensionAttribute3 for a cost center); empty restores department, companyName and allotment. Snapshots taken from then on keep them.",
		Params:      []openapi.Param{server.TenantParam}, Body: chargeback.Settings{}, Example: `{"trendBy":["department","extensionAttribute3"]}`, Response: chargeback.Settings{}, Errors: []int{http.StatusBadRequest, http.StatusForbidden}}, h.putSettings)
}

type handler struct{ s *server.Server }

func (h *handler) get(csv bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, _, ok := scope.Tenant(h.s, w, r, auth.ReadLicenseUsage)
		if !ok {
			return
		}
		by, err := byParam(r)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		rep, err := chargeback.ReportOf(r.Context(), t, by)
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
