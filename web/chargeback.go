package web

import (
	"net/http"
	"net/url"
	"strconv"

	"allot"
	"allot/api/server"
	"allot/auth"
	"allot/chargeback"
	"allot/position/snapshotstore"
)

// The chargeback page (/admin/chargeback?by=…): the tenant's monthly
// license cost per department, company, allotment or any user attribute
// the tenant picks (a cost center), from the price list — the report of
// GET /allot/v1/chargeback, computed by the same function
// (chargeback.ReportOf), for the same readers (auth.ReadLicenseUsage),
// with a link to its CSV — and the trend of that grouping over the
// position snapshots that kept it (snapshotstore.ChargebackTrend, as GET
// /allot/v1/chargeback/trend).

func registerChargeback(s *server.Server, h *handler) {
	s.HandlePublic("GET /admin/chargeback", h.page(auth.ReadLicenseUsage, h.chargebackPage))
}

// trendColumns is how many of the latest snapshots the page's trend
// table shows (the API gives them all).
const trendColumns = 6

type chargebackData struct {
	By        string
	Groupings []string // the choices of the grouping menu
	Report    *chargeback.Report
	CSV       string // the CSV's address
	Err       string
	Trend     chargebackTrend
}

type chargebackTrend struct {
	Err    string // why there is no trend (the API's 400)
	Points []chargeback.TrendPoint
	Groups []trendRow
	More   int // older points left out
}

type trendRow struct {
	Key  string
	Cost []string // at each point, formatted
}

// CanChargeback: the navigation shows the chargeback page.
func (v *viewer) CanChargeback() bool { return v.can(auth.ReadLicenseUsage) }

var chargebackGroupings = []string{"department", "companyName", "jobTitle", "country", "city", "usageLocation", "allotment"}

func (h *handler) chargebackPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	by := r.URL.Query().Get("by")
	if by == "" {
		by = "department"
	}
	d := chargebackData{By: by, Groupings: chargebackGroupings, CSV: "/allot/v1/chargeback.csv?" + url.Values{"by": {by}}.Encode()}
	status := http.StatusOK
	rep, err := chargeback.ReportOf(r.Context(), v.T, by)
	switch {
	case allot.ErrorCode(err) == allot.EINVALID:
		d.Err, status = allot.ErrorMessage(err), http.StatusBadRequest
	case err != nil:
		h.failErr(w, r, v, err)
		return
	default:
		d.Report = rep
		d.Trend = trendOf(v, by)
	}
	h.render(w, r, v, status, "chargeback", pageData{Title: "Chargeback", Nav: "chargeback", Data: d})
}

// trendOf is the page's trend table: the latest trendColumns points.
func trendOf(v *viewer, by string) chargebackTrend {
	t, err := snapshotstore.ChargebackTrend(v.T, by)
	if err != nil {
		return chargebackTrend{Err: allot.ErrorMessage(err)}
	}
	from := max(0, len(t.Points)-trendColumns)
	out := chargebackTrend{Points: t.Points[from:], More: from}
	for _, g := range t.Groups {
		row := trendRow{Key: g.Key}
		for _, c := range g.MonthlyCost[from:] {
			row.Cost = append(row.Cost, strconv.FormatFloat(c, 'f', 2, 64))
		}
		out.Groups = append(out.Groups, row)
	}
	return out
}
