package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"

	"allot/audit"
	"allot/auth"
	"allot/directory"
	"allot/licensing"
	"allot/position"
	"allot/tenant"
)

// skuRow is one product's seats as the tenant sees them: owned (prepaid
// enabled units), allotted to allotments, assigned (seats held, in the
// general pool and in allotments), available (enabled units outside
// allotments no one holds), allotted and unused, waiting (users in the
// waiting rooms) and users in error. The figures are the license position's
// (position.AccountsOf): Owned + Beyond = Assigned + Available +
// AllottedUnused.
type skuRow struct {
	ID, PartNumber, DisplayName, Status                           string
	Owned, Allotted, Assigned, Waiting, Available, AllottedUnused int
	Warning, Suspended, LockedOut, Errors                         int
	// BeyondSeats: seats held in units of a lapsing subscription (in grace,
	// suspended or locked out).
	BeyondSeats int
}

// Beyond is the number of seats held beyond the enabled units.
func (r skuRow) Beyond() int { return r.BeyondSeats }

// allotmentSums are the consumption and waiting users of a SKU's
// allotments.
type allotmentSums struct{ consumed, waiting int }

func sumAllotments(e *licensing.Engine) map[string]allotmentSums {
	out := map[string]allotmentSums{}
	for _, a := range e.Allotments() {
		x := out[a.SKUID]
		x.consumed += a.ConsumedUnits
		x.waiting += a.Waiting
		out[a.SKUID] = x
	}
	return out
}

// generalFree is the number of free seats of a SKU outside allotments:
// assignable units (enabled, and warning units in their grace period), less
// allotted units, less seats held outside allotments.
func generalFree(p licensing.PoolInfo, al allotmentSums) int {
	return max(0, p.Units.Assignable()-p.Allotted-(p.Consumed-al.consumed))
}

// accountsOf is the position's accounts of a pool (the same numbers on
// every page and report).
func accountsOf(p licensing.PoolInfo, al allotmentSums) position.Accounts {
	return position.AccountsOf(p, al.consumed)
}

// skuRows returns every product the tenant has units of, by part number.
func skuRows(e *licensing.Engine, x *directory.Index) []skuRow {
	al := sumAllotments(e)
	pools := e.Pools()
	out := make([]skuRow, 0, len(pools))
	for _, p := range pools {
		a := al[p.SKU.ID]
		acc := accountsOf(p, a)
		out = append(out, skuRow{ID: p.SKU.ID, PartNumber: p.SKU.PartNumber, DisplayName: p.SKU.DisplayName, Status: p.Units.Status,
			Owned: acc.Owned, Allotted: p.Allotted, Assigned: acc.Assigned, Waiting: p.Waiting + a.waiting,
			Available: acc.Free, AllottedUnused: acc.AllottedUnused, BeyondSeats: acc.InGrace + acc.Suspended,
			Warning: p.Units.Warning, Suspended: p.Units.Suspended, LockedOut: p.Units.LockedOut,
			Errors: x.UsersInError(p.SKU.ID).Len()})
	}
	return out
}

// dashboardData is the dashboard: the tenant's seats as the engine knows
// them now, with the required and used seats of the latest license
// position snapshot.
type dashboardData struct {
	Users, Licensed, Groups  int
	ErrorUsers, WaitingUsers int
	ErrorLicenses            int
	Codes                    []codeCount
	SKUs                     []skuRow
	Short                    []skuRow // products with users waiting
	// Lapsing: products with seats held beyond their enabled units (an
	// expired, suspended or disabled subscription).
	Lapsing            []skuRow
	Chart, ChartNarrow chart
	Allotments         []licensing.AllotmentInfo
	AllotmentSKU       map[string]string // skuId → part number
	Recent             []auditRow
	RecentErr          string
	// Position: required and used seats from the latest license position
	// snapshot; nil without one.
	Position *positionFigures
}

type codeCount struct {
	Code  string
	Count int
}

// buildDashboard gathers the dashboard from a tenant state (call inside
// Tenant.Read). Its cost does not grow with the number of users: counts
// come from the index, seats from the engine's pools.
func buildDashboard(s *tenant.State) dashboardData {
	e := s.Engine
	x := directoryOf(s)
	d := dashboardData{Users: e.UserCount(), Licensed: x.Licensed(), Groups: x.GroupCount(),
		ErrorUsers: x.UsersInError("").Len(), WaitingUsers: x.UsersWaiting().Len(), AllotmentSKU: map[string]string{}}
	for c, n := range x.ErrorCodes() {
		d.Codes = append(d.Codes, codeCount{c, n})
		d.ErrorLicenses += n
	}
	slices.SortFunc(d.Codes, func(a, b codeCount) int { return cmp.Or(b.Count-a.Count, cmp.Compare(a.Code, b.Code)) })
	d.SKUs = skuRows(e, x)
	d.Position = latestPosition(s)
	for _, r := range d.SKUs {
		if r.Waiting > 0 {
			d.Short = append(d.Short, r)
		}
		if r.BeyondSeats > 0 {
			d.Lapsing = append(d.Lapsing, r)
		}
	}
	d.Chart = barChart(d.SKUs, 16, wideLayout)
	d.ChartNarrow = barChart(d.SKUs, 16, narrowLayout)
	d.Allotments = e.Allotments()
	for _, a := range d.Allotments {
		if sku, ok := e.Catalog().SKU(a.SKUID); ok {
			d.AllotmentSKU[a.SKUID] = sku.PartNumber
		}
	}
	return d
}

func (h *handler) dashboard(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.can(auth.ReadReports) {
		if v.Limited {
			http.Redirect(w, r, "/admin/allotments", http.StatusSeeOther)
			return
		}
		h.deny(w, r, v)
		return
	}
	entries, err := h.recentAudit(r.Context(), v.T.ID, 8)
	var d dashboardData
	v.T.Read(func(s *tenant.State) {
		d = buildDashboard(s)
		d.Recent = auditRows(s, entries)
	})
	if err != nil {
		d.RecentErr = "The audit log could not be read."
	}
	h.render(w, r, v, http.StatusOK, "dashboard", pageData{Title: "Dashboard", Nav: "dashboard", Data: d})
}

// recentAudit returns the tenant's latest n audit entries, newest first.
func (h *handler) recentAudit(ctx context.Context, tenantID string, n int) ([]audit.Entry, error) {
	es, _, err := newestAudit(ctx, h.s.Store, audit.Query{TenantID: tenantID}, 0, n)
	return es, err
}
